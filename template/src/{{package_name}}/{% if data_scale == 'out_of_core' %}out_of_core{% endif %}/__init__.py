"""The out-of-core tier: Polars streaming over partitioned Parquet, LightGBM from row groups.

The same steps as in memory, with the same functions as entry points, so
`data`, `train` and `evaluate` hand over here when `data.engine` is `polars`.
"""

from __future__ import annotations

from ..partitioned import write_partitioned_sample as write_sample
from .scoring import score_test_split, write_test_split
from .train import train_out_of_core as train_model

__all__ = ["score_test_split", "train_model", "write_sample", "write_test_split"]
