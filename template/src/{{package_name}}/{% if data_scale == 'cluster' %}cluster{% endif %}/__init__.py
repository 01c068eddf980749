"""The cluster tier: Ray Data for data and scoring, Ray Train's LightGBMTrainer for training.

The same steps as in memory, with the same functions as entry points, so
`data`, `train`, `evaluate` and `batch` hand over here when `data.engine` is `ray`.
The model is the same LightGBM text model, registered the same way.
"""

from __future__ import annotations

from ..partitioned import write_partitioned_sample as write_sample
from .scoring import score_file, score_test_split, write_test_split
from .train import train_on_ray as train_model

__all__ = [
    "score_file",
    "score_test_split",
    "train_model",
    "write_sample",
    "write_test_split",
]
