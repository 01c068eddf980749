"""A sample whose world changes after a date: the loop's demo of decay and retraining.

`data sample --drift-after DATE` keeps the rows up to DATE as they are and,
after it, changes two things. The relationship between features and label
(concept drift): the label of each later row is redrawn from a new signal of
the numeric features, pointing against the old one, through the problem
type's own `labels_from_signal`, so a model trained before DATE loses clearly
on later rows and one retrained on them recovers. And the first numeric
feature moves (covariate shift), so `monitor drift` has something to see.
It works on the problem types' sample worlds and on rows drawn from a team's
schema alike, since it reads only the schema.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .config import ProjectConfig
from .problems import ProblemType
from .tables import DataError

# The new relationship is fixed; the sample seed only changes the rows.
DRIFT_SEED = 20250601
# Weight of the old relationship, reversed, in the new one (the rest is new).
REVERSAL = 0.6
# The first numeric feature moves up by this many standard deviations.
SHIFT_STDS = 0.5


def check_drift_date(value: str, *, start: pd.Timestamp, days: int) -> pd.Timestamp:
    """`value` as a UTC timestamp strictly inside the sample's period, else `DataError`."""
    try:
        moment = pd.Timestamp(value)
    except ValueError:
        raise DataError(f"--drift-after '{value}' is not a date (use YYYY-MM-DD)") from None
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    end = start + pd.Timedelta(days=days)
    if not start < moment < end:
        raise DataError(
            f"--drift-after {value} is outside the sample's period {start.date()} to "
            f"{end.date()}; pick a date between them (later rows drift)"
        )
    return moment


def apply_drift(
    frame: pd.DataFrame, config: ProjectConfig, *, after: pd.Timestamp, rng: np.random.Generator
) -> pd.DataFrame:
    """`frame` with a new label relationship and a shifted feature on rows after `after`."""
    schema, problem = config.feature_schema, config.problem_type
    if not schema.time_column:
        raise DataError("--drift-after needs a time column (configs/schema.yaml: time_column)")
    numeric = [spec for spec in schema.numeric_features if spec.name in frame.columns]
    if not numeric:
        raise DataError("--drift-after needs at least one numeric feature in configs/schema.yaml")
    late = (frame[schema.time_column] > after).to_numpy()
    if late.sum() < 2 or late.all():
        return frame
    frame = frame.copy()
    first = numeric[0]
    values = frame[first.name].to_numpy(dtype=float)
    frame[first.name] = np.where(late, _shifted(values, first.max), values)

    standard = np.column_stack([_standardised(frame[s.name].to_numpy(float)) for s in numeric])
    label = schema.label
    codes = label.encode(frame[label.name])
    old = _old_direction(standard[~late], codes[~late], problem)
    new = np.random.default_rng(DRIFT_SEED).normal(0.0, 1.0, old.shape)
    new -= old * (old * new).sum(axis=0) / np.maximum((old * old).sum(axis=0), 1e-12)
    weights = -REVERSAL * _unit(old) + np.sqrt(1 - REVERSAL**2) * _unit(new)
    signal = standard[late] @ weights
    signal /= np.maximum(signal.std(axis=0), 1e-12)
    groups = None
    if schema.group_column:
        groups = pd.factorize(frame[schema.group_column].to_numpy()[late])[0]
    drawn = np.asarray(problem.labels_from_signal(rng, signal, label, groups))
    if label.kind == "numeric":  # keep the label's distribution; only the relationship moves
        ranks = np.argsort(np.argsort(drawn, kind="stable"), kind="stable")
        drawn = np.sort(codes[late])[ranks]
    column = frame[label.name].to_numpy(copy=True)
    column[late] = label.decode(drawn) if label.classes else drawn
    frame[label.name] = column
    return frame


def _shifted(values: np.ndarray, maximum: float | None) -> np.ndarray:
    """Half a std up, capped at the maximum: visible to drift checks, overlapping the old range.

    A larger shift would set the later rows apart, and a model could learn both
    worlds from a few later rows instead of needing recent data.
    """
    moved = values + SHIFT_STDS * (float(np.nanstd(values)) or 1.0)
    return moved if maximum is None else np.minimum(moved, maximum)


def _standardised(values: np.ndarray) -> np.ndarray:
    """Ranks scaled to mean 0 and std 1 (robust to heavy tails); missing values are 0."""
    known = ~np.isnan(values)
    out = np.zeros(len(values))
    if known.sum() > 1:
        ranks = pd.Series(values[known]).rank().to_numpy()
        out[known] = (ranks - ranks.mean()) / max(float(ranks.std()), 1e-12)
    return out


def _old_direction(standard: np.ndarray, codes: np.ndarray, problem: ProblemType) -> np.ndarray:
    """Least-squares weights of the label (one-hot classes for multiclass) on the features."""
    width = problem.output_width
    known = ~np.isnan(codes)  # unlabelled rows (anomaly detection) say nothing
    standard, codes = standard[known], codes[known]
    target = np.eye(width)[codes.astype(int)] if width > 1 else codes[:, None]
    design = np.column_stack([standard, np.ones(len(standard))])
    solution, *_ = np.linalg.lstsq(design, target - target.mean(axis=0), rcond=None)
    return np.asarray(solution[:-1])


def _unit(weights: np.ndarray) -> np.ndarray:
    return weights / np.maximum(np.linalg.norm(weights, axis=0), 1e-12)
