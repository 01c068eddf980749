"""Bringing a team's own table in: `data infer` decides the schema, then adopts it.

`infer.infer_schema` reads the table and decides, per column, what it is and
why (columns.py, label.py, dates.py, leakage.py) and proposes a release
threshold when the metric is in the label's unit (threshold.py). Nothing is
written until `adopt.adopt_inference` has proved that the project loads,
reads, splits and can train on the table with the new configs.
"""

from .adopt import AdoptError, adopt_inference
from .infer import Inference, InferenceError, infer_schema

__all__ = ["AdoptError", "Inference", "InferenceError", "adopt_inference", "infer_schema"]
