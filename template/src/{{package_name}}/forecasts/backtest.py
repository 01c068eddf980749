"""Rolling-origin backtest: refit on an expanding window, forecast the next block, repeat.

A single test split says how one model did on one stretch of time; the
backtest asks whether the *way the model is trained* keeps beating seasonal
naive as the window grows. The newest `test_fraction` of the forecast origins
is cut into `problem.backtest_folds` consecutive blocks. For each block, a
model is trained on the examples whose label was known before the block
began (the last `validation_fraction` of them for early stopping and the
interval), and forecasts the block. Never a random split: no fold sees a
label from after its own start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..config import ProjectConfig
from ..data import load_dataset
from ..features import categorical_indices, encode_frame
from ..metrics import compute
from ..metrics.forecasting import interval_coverage, pinball_loss
from ..problems.forecasting import INTERVAL, Forecasting
from ..recipe import boost, labels_of
from ..series.examples import ORIGIN, SERIES, STEP, TARGET_TIME
from ..tables import DataError

BACKTEST_FILE, PLOT_FILE = "backtest.json", "backtest.png"
METRICS = ("mase", "smape", "rmsse")
SEGMENTS = ("small", "medium", "large")  # series by their scale, in thirds
PLOTTED_SERIES = 3


@dataclass(frozen=True)
class Backtest:
    """Per fold and overall: the model against both baselines, the interval, by step and size.

    `baseline_*` is seasonal naive; `naive_mase` repeats the last value.
    """

    folds: list[dict[str, Any]]
    overall: dict[str, Any]
    by_step: dict[str, dict[str, float]]
    by_segment: dict[str, dict[str, float]]
    plot: Path | None = None
    rows: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "overall": self.overall,
            "by_step": self.by_step,
            "by_segment": self.by_segment,
            "rows": self.rows,
        }

    def summary(self) -> str:
        o = self.overall
        return (
            f"Backtest, {len(self.folds)} folds (expanding window, {self.rows} test rows): "
            f"MASE {o['mase']:.3f} vs seasonal naive {o['baseline_mase']:.3f}; "
            f"P{INTERVAL[0] * 100:.0f}-P{INTERVAL[1] * 100:.0f} coverage {o['coverage']:.1%}; "
            f"WAPE {o['wape']:.3f} vs {o['baseline_wape']:.3f}"
        )


def run_backtest(config: ProjectConfig, *, write: bool = True) -> Backtest:
    """Backtest the project's recipe on its examples; write reports/backtest.{json,png}."""
    problem = config.problem_type
    if not isinstance(problem, Forecasting):
        raise ValueError(f"{config.problem.type} projects have no series to backtest")
    frame = load_dataset(config)
    blocks = _fold_blocks(frame[ORIGIN], config)
    scored = pd.concat(
        [_fold(config, problem, frame, block, index) for index, block in enumerate(blocks)],
        ignore_index=True,
    )
    result = Backtest(
        folds=[
            _scores(part) | {"fold": int(k), "origins": _span(part)}
            for k, part in scored.groupby("fold")
        ],
        overall=_scores(scored),
        by_step={str(int(s)): _scores(part, brief=True) for s, part in scored.groupby(STEP)},
        by_segment=_by_segment(scored),
        rows=len(scored),
    )
    if write:
        config.reports_dir.mkdir(parents=True, exist_ok=True)
        path = config.reports_dir / BACKTEST_FILE
        path.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
        result = Backtest(**{**result.__dict__, "plot": _plot(scored, config.reports_dir)})
    return result


def _fold_blocks(origins: pd.Series, config: ProjectConfig) -> list[np.ndarray]:
    """The newest test_fraction of the origins, in `backtest_folds` consecutive blocks."""
    unique = np.sort(origins.unique())
    folds = config.problem.backtest_folds
    tested = max(round(len(unique) * config.data.test_fraction), folds)
    if len(unique) - tested < 4:
        raise DataError(
            f"{len(unique)} forecast origins are too few for a {folds}-fold backtest; "
            "more history is needed (or fewer problem.backtest_folds)"
        )
    return [block for block in np.array_split(unique[-tested:], folds) if len(block)]


def _fold(
    config: ProjectConfig,
    problem: Forecasting,
    frame: pd.DataFrame,
    block: np.ndarray,
    index: int,
) -> pd.DataFrame:
    """Train on what was known at the block's first origin; forecast the block."""
    start = pd.Timestamp(block[0])
    known = problem.known_by(frame[frame[ORIGIN] < start], start)
    origins = np.sort(known[ORIGIN].unique())
    cut = pd.Timestamp(origins[-max(round(len(origins) * config.data.validation_fraction), 1)])
    fit = problem.known_by(known[known[ORIGIN] < cut], cut)
    calibration = known[known[ORIGIN] >= cut]
    if len(fit) < 10 or len(calibration) < 10:
        raise DataError(f"backtest fold {index + 1} has too little history before {start}")
    schema = config.feature_schema

    def dataset(part: pd.DataFrame, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            encode_frame(part, schema),
            label=labels_of(part, config),
            feature_name=schema.feature_names,
            categorical_feature=categorical_indices(schema),
            reference=reference,
        )

    train_set = dataset(fit)
    booster = boost(config, train_set, dataset(calibration, train_set), show_progress=False)
    decision = problem.decision(
        np.asarray(booster.predict(encode_frame(calibration, schema))),
        labels_of(calibration, config),
        calibration[list(problem.decision_features)],
    )
    fold_problem = problem.with_decision(decision)
    test = frame[frame[ORIGIN].isin(block)]
    matrix = encode_frame(test, schema)
    p50 = np.asarray(booster.predict(matrix))
    low, high = fold_problem.interval(p50, test[STEP].to_numpy())
    return pd.DataFrame(
        {
            "fold": index + 1,
            SERIES: test[SERIES].to_numpy(),
            ORIGIN: test[ORIGIN].to_numpy(),
            TARGET_TIME: test[TARGET_TIME].to_numpy(),
            STEP: test[STEP].to_numpy(dtype=int),
            "scale": np.exp(test["log_scale"].to_numpy(dtype=float)),
            "actual": labels_of(test, config),
            "p10": low,
            "p50": p50,
            "p90": high,
            "naive": problem.predict_baseline({}, matrix),  # seasonal naive
            "last": test["last_value"].fillna(test["seasonal_lag"]).fillna(0.0).to_numpy(),
        }
    )


def _scores(part: pd.DataFrame, *, brief: bool = False) -> dict[str, Any]:
    """Scaled metrics for model and seasonal naive; units-based WAPE and RMSE; the interval."""
    y, p, naive = part["actual"].to_numpy(), part["p50"].to_numpy(), part["naive"].to_numpy()
    scores: dict[str, Any] = {
        "mase": compute("mase", "forecasting", y, p),
        "baseline_mase": compute("mase", "forecasting", y, naive),
        "naive_mase": compute("mase", "forecasting", y, part["last"].to_numpy()),
        "coverage": interval_coverage(y, part["p10"].to_numpy(), part["p90"].to_numpy()),
    }
    if brief:
        return scores
    units = part["scale"].to_numpy()
    actual, forecast, naive_units = y * units, p * units, naive * units
    for name in METRICS[1:]:
        scores[name] = compute(name, "forecasting", y, p)
        scores[f"baseline_{name}"] = compute(name, "forecasting", y, naive)
    scores["wape"] = _wape(actual, forecast)
    scores["baseline_wape"] = _wape(actual, naive_units)
    scores["rmse"] = float(np.sqrt(np.mean((actual - forecast) ** 2)))
    scores["baseline_rmse"] = float(np.sqrt(np.mean((actual - naive_units) ** 2)))
    for alpha, column in zip((INTERVAL[0], 0.5, INTERVAL[1]), ("p10", "p50", "p90"), strict=True):
        scores[f"pinball_{alpha}"] = pinball_loss(y, part[column].to_numpy(), alpha)
    scores["rows"] = len(part)
    return scores


def _wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """sum |actual - forecast| / sum |actual|: volume-weighted, so big series count most."""
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum() / total) if total > 0 else float("nan")


def _span(part: pd.DataFrame) -> str:
    return f"{part[ORIGIN].min():%Y-%m-%d %H:%M} to {part[ORIGIN].max():%Y-%m-%d %H:%M}"


def _by_segment(scored: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Series in thirds by their typical scale: small series are often the hard ones."""
    level = scored.groupby(SERIES)["scale"].median()
    thirds = pd.qcut(level.rank(method="first"), len(SEGMENTS), labels=list(SEGMENTS))
    segment = scored[SERIES].map(thirds.astype(str))
    return {
        name: _scores(scored[segment == name], brief=True) | {"series": int((thirds == name).sum())}
        for name in SEGMENTS
        if (segment == name).any()
    }


def _plot(scored: pd.DataFrame, folder: Path) -> Path:
    """Actuals against P50 with the P10-P90 band, from the last fold's first origin."""
    last = scored[scored["fold"] == scored["fold"].max()]
    first = last[last[ORIGIN] == last[ORIGIN].min()]
    level = first.groupby(SERIES)["scale"].median().sort_values()
    chosen = level.index[
        np.linspace(0, len(level) - 1, min(PLOTTED_SERIES, len(level))).astype(int)
    ]
    figure = Figure(figsize=(5.0 * len(chosen), 3.6), dpi=100)
    for axes, series in zip(figure.subplots(1, len(chosen), squeeze=False)[0], chosen, strict=True):
        rows = first[first[SERIES] == series].sort_values(STEP)
        units = rows["scale"].to_numpy()
        steps = rows[STEP].to_numpy()
        axes.fill_between(
            steps, rows["p10"] * units, rows["p90"] * units, alpha=0.25, label="P10-P90"
        )
        axes.plot(steps, rows["p50"] * units, color="#1f5f8b", label="P50")
        axes.plot(steps, rows["actual"] * units, color="black", marker="o", ms=3, label="actual")
        axes.plot(steps, rows["naive"] * units, color="#b0b0b0", ls="--", label="seasonal naive")
        axes.set_title(f"{series} from {rows[ORIGIN].iloc[0]:%Y-%m-%d}")
        axes.set_xlabel("steps ahead")
        axes.grid(alpha=0.3)
    figure.axes[0].legend(fontsize=8)
    figure.tight_layout()
    path = folder / PLOT_FILE
    figure.savefig(path, format="png")
    return path
