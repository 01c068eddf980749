"""What each feature is worth and what it costs (ML Test Score D2 and D3).

Worth: permutation importance on the validation split. Shuffling one
feature's column breaks its link to the label and leaves everything else as
it was; how much the primary metric then worsens is what the model gets from
that feature. Repeated with different shuffles, the mean and its spread say
whether the gain is real. Cost, measured on the same rows: the bytes per row
the feature adds to the prediction log (Parquet, zstd), the microseconds per
row its checks and encoding take on the serving path, and how many of the
model's splits use it. A feature whose gain is not clearly above
`feature_review.min_gain` does not pay its way: `explain features` lists it,
and the pipeline warns or fails as `feature_review.on_useless` says.
"""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .config import ProjectConfig
from .engines import engine_for
from .evaluation.results import finite_or_none
from .features import encode_frame
from .metrics import gain, get_metric
from .recipe import labels_of
from .registry import LoadedModel, ModelRegistry
from .schema import FeatureSchema
from .validation import validate_frame

REPORT_FILE = "feature_value.json"
TIMING_ROUNDS = 3


@dataclass(frozen=True)
class FeatureValue:
    """One feature's gain and costs."""

    name: str
    gain: float  # mean worsening of the primary metric when shuffled (positive: it helps)
    gain_spread: float  # standard deviation over the shuffles
    splits: int  # how many of the model's splits use it
    log_bytes_per_row: float
    check_us_per_row: float
    pays: bool | None  # None: the metric is undefined on these rows (no labels)


@dataclass(frozen=True)
class FeatureReport:
    """Every feature, best first, with the settings that produced it."""

    version: str
    metric: str
    direction: str
    value: float
    rows: int
    repeats: int
    min_gain: float
    features: list[FeatureValue]

    @property
    def not_paying(self) -> list[str]:
        return [f.name for f in self.features if f.pays is False]

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["value"] = finite_or_none(self.value)
        for entry in body["features"]:
            entry["gain"] = finite_or_none(entry["gain"])
            entry["gain_spread"] = finite_or_none(entry["gain_spread"])
        body["not_paying"] = self.not_paying
        return body

    def summary(self) -> str:
        lines = [
            f"Feature value of {self.version} on {self.rows:,} validation rows, {self.repeats} "
            f"shuffles each ({self.metric} = {self.value:.4f}):"
        ]
        for f in self.features:
            verdict = {True: "pays", False: "DOES NOT PAY", None: "not measured"}[f.pays]
            lines.append(
                f"  {f.name:<28} gain {f.gain:+.4f} (+/- {f.gain_spread:.4f})  {f.splits:>5} "
                f"splits  {f.log_bytes_per_row:6.2f} log B/row  {f.check_us_per_row:6.2f} us/row"
                f"  {verdict}"
            )
        if self.not_paying:
            lines.append(
                f"  {len(self.not_paying)} feature(s) do not pay their way: drop them from "
                "configs/schema.yaml, or raise their signal"
            )
        return "\n".join(lines)


def measure_feature_value(config: ProjectConfig, *, version: str | None = None) -> FeatureReport:
    """The champion's (or `version`'s) feature report on the validation split."""
    registry = ModelRegistry(config)
    model = registry.load(version or registry.promoted_version() or registry.newest_version())
    review = config.feature_review
    frame = engine_for(config).validation_rows(review.rows)
    return feature_report(config, model, frame)


def feature_report(config: ProjectConfig, model: LoadedModel, frame: pd.DataFrame) -> FeatureReport:
    """Permutation gain and costs of every feature of `model` on the rows of `frame`."""
    schema, review = model.schema, config.feature_review
    metric = get_metric(config.metric.primary, config.problem.type)
    labels = labels_of(frame, config)
    groups = frame[schema.group_column].to_numpy() if schema.group_column else None
    matrix = encode_frame(frame, schema)

    def score(columns: np.ndarray) -> float:
        outputs = model.predict(columns)
        return config.problem_type.score(metric.name, labels, outputs, groups)

    base = score(matrix)
    rng = np.random.default_rng(config.model.seed)
    splits = model.booster.feature_importance(importance_type="split")
    values = []
    for index, spec in enumerate(schema.features):
        gains = []
        for _ in range(review.repeats):
            shuffled = matrix.copy()
            shuffled[:, index] = matrix[rng.permutation(len(matrix)), index]
            gains.append(gain(base, score(shuffled), direction=metric.direction))
        mean = float(np.mean(gains))
        spread = float(np.std(gains, ddof=1)) if len(gains) > 1 else 0.0
        values.append(
            FeatureValue(
                name=spec.name,
                gain=mean,
                gain_spread=spread,
                splits=int(splits[index]),
                log_bytes_per_row=log_bytes_per_row(frame[spec.name]),
                check_us_per_row=check_us_per_row(frame, schema, spec.name),
                pays=_pays(mean, spread, review.repeats, review.min_gain),
            )
        )
    values.sort(key=lambda v: -v.gain if math.isfinite(v.gain) else math.inf)
    return FeatureReport(
        version=model.version,
        metric=metric.name,
        direction=metric.direction,
        value=base,
        rows=len(frame),
        repeats=review.repeats,
        min_gain=review.min_gain,
        features=values,
    )


def log_bytes_per_row(column: pd.Series) -> float:
    """What the column adds to a log segment: its compressed Parquet size per row."""
    if len(column) == 0:
        return 0.0
    array = pa.array(column.astype("object").where(column.notna(), None).tolist())
    full, empty = io.BytesIO(), io.BytesIO()  # the empty file is the fixed overhead
    pq.write_table(pa.table({"column": array}), full, compression="zstd")
    pq.write_table(pa.table({"column": array.slice(0, 0)}), empty, compression="zstd")
    return max(full.tell() - empty.tell(), 0) / len(column)


def check_us_per_row(frame: pd.DataFrame, schema: FeatureSchema, name: str) -> float:
    """Microseconds per row to check and encode one feature (the best of a few rounds)."""
    only = schema.model_copy(
        update={"features": (schema.feature(name),), "time_column": None, "group_column": None}
    )
    part = frame[[name]]
    best = math.inf
    for _ in range(TIMING_ROUNDS):
        started = time.perf_counter()
        validate_frame(part, only, require_label=False)
        encode_frame(part, only)
        best = min(best, time.perf_counter() - started)
    return best * 1e6 / max(len(frame), 1)


def write_feature_report(config: ProjectConfig, report: FeatureReport) -> Path:
    """reports/feature_value.json."""
    config.reports_dir.mkdir(parents=True, exist_ok=True)
    path = config.reports_dir / REPORT_FILE
    path.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    return path


def _pays(mean: float, spread: float, repeats: int, min_gain: float) -> bool | None:
    """Whether the gain is clearly above `min_gain`: its mean less two standard errors."""
    if not math.isfinite(mean):
        return None
    return mean - 2 * spread / math.sqrt(repeats) > min_gain
