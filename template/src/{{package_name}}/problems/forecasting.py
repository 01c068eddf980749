"""Forecasting: the next `forecast_horizon` periods of many related series.

The rows are examples (series/examples.py): one per series, forecast origin
and step, with features known at the origin and values divided by the
series' scale. One global LightGBM model learns the median of the scaled
value directly for every step (direct multi-horizon: no forecast is fed back
as an input, so errors do not compound along the horizon and each step's
error is measured on its own). The mean absolute error of the scaled label
is MASE; the baseline is the seasonal naive forecast, read from the
`seasonal_lag` feature. Intervals are split-conformal: training stores, per
step, the 10% and 90% quantiles of the validation errors (`decision`), and a
forecast adds them to its median, so their coverage is measured, not assumed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from ..schema import FeatureSchema, LabelSpec
from ..series.calendar import SEASONS, pandas_frequency
from ..series.examples import ORIGIN, SERIES, STEP, TARGET_TIME, Layout, as_stored, build_examples
from ..series.world import demand_world
from ..tables import SAMPLE_DAYS, SAMPLE_START
from .base import Baseline, Figure, ProblemBase, ProblemError, ValueKind

if TYPE_CHECKING:
    from ..evaluation.results import TestSet

# The interval a forecast carries: its lower and upper quantile.
INTERVAL = (0.1, 0.9)
# The sample world has at most this many series (the answer `n_series` may be far more).
SAMPLE_SERIES = 20
MIN_SAMPLE_SERIES = 4
SAMPLE_ORIGINS = 60  # origins the sample aims for, at the default rows and horizon
SAMPLE_COVARIATES = ("promo", "holiday")
BASELINE_FEATURE = "seasonal_lag"
FALLBACK_FEATURE = "last_value"


@dataclass(frozen=True)
class Forecasting(ProblemBase):
    name: ClassVar[str] = "forecasting"
    label: ClassVar[str] = "forecasting"
    label_kind: ClassVar[str] = "numeric"
    prediction_kind: ClassVar[ValueKind] = "numeric"
    prediction_meaning: ClassVar[str] = "The median forecast, in units of the series' scale"
    # An example's label is the value at its target time, known only then.
    label_time_column: ClassVar[str | None] = TARGET_TIME
    decision_features: ClassVar[tuple[str, ...]] = (STEP,)
    # Examples share their series' history: the sample is built whole, then split.
    sample_drawn_whole: ClassVar[bool] = True
    # A series' examples share its history: intervals over groups resample series.
    resampling_unit: ClassVar[str | None] = SERIES

    forecast_horizon: int = 14
    forecast_frequency: str = "day"
    seasonal_period: int = 7
    n_series: int = 500
    series_column: str = "series_id"
    timestamp_column: str = "timestamp"
    target_column: str = "units_sold"
    timestamp_format: str | None = None
    covariates: tuple[str, ...] = SAMPLE_COVARIATES
    # Set from the model's metadata (`with_decision`): per step, the scaled
    # errors at the interval's two quantiles. Empty before training.
    interval_low: tuple[float, ...] = ()
    interval_high: tuple[float, ...] = ()
    feature_names: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: dict[str, Any], schema: FeatureSchema) -> Self:
        asked = {
            "forecast_horizon",
            "forecast_frequency",
            "seasonal_period",
            "n_series",
            "series_column",
            "timestamp_column",
            "target_column",
            "timestamp_format",
        }
        chosen: dict[str, Any] = {key: settings[key] for key in asked if settings.get(key)}
        if settings.get("covariates") is not None:
            chosen["covariates"] = tuple(settings["covariates"])
        problem = cls(**chosen, feature_names=tuple(schema.feature_names))
        if problem.forecast_frequency not in SEASONS:
            raise ProblemError(
                f"problem.forecast_frequency '{problem.forecast_frequency}' is not one of "
                f"{', '.join(SEASONS)}"
            )
        for needed in (STEP, BASELINE_FEATURE):
            if needed not in problem.feature_names:
                raise ProblemError(
                    f"forecasting needs the feature '{needed}' in configs/schema.yaml: the "
                    "examples table (series/examples.py) always has it"
                )
        return problem

    @property
    def layout(self) -> Layout:
        """How the project's long table is laid out, with its horizon and seasons."""
        return Layout(
            horizon=self.forecast_horizon,
            frequency=self.forecast_frequency,
            seasonal_period=self.seasonal_period,
            series_column=self.series_column,
            time_column=self.timestamp_column,
            target_column=self.target_column,
            covariates=self.covariates,
            time_format=self.timestamp_format,
        )

    @property
    def sample_layout(self) -> Layout:
        """The sample world's layout: its own column names and covariates."""
        return Layout(
            horizon=self.forecast_horizon,
            frequency=self.forecast_frequency,
            seasonal_period=self.seasonal_period,
            target_column="units_sold",
            covariates=SAMPLE_COVARIATES,
        )

    # ------------------------------------------------------------ training ---

    def encode_labels(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float)

    def lightgbm_params(self) -> dict[str, Any]:
        """L1: the median, and an absolute error on scaled values is what MASE averages."""
        return {"objective": "l1"}

    def fit_baseline(
        self, matrix: np.ndarray, labels: np.ndarray, schema: FeatureSchema
    ) -> Baseline:
        return {"kind": "seasonal_naive", "seasonal_period": self.seasonal_period}

    def predict_baseline(self, baseline: Baseline, matrix: np.ndarray) -> np.ndarray:
        """The value one season before the target time; the last value when there is none."""
        seasonal = matrix[:, self.feature_names.index(BASELINE_FEATURE)].astype(float)
        if FALLBACK_FEATURE in self.feature_names:
            last = matrix[:, self.feature_names.index(FALLBACK_FEATURE)].astype(float)
            seasonal = np.where(np.isnan(seasonal), last, seasonal)
        return np.nan_to_num(seasonal, nan=0.0)

    def describe_baseline(self, baseline: Baseline) -> str:
        period = baseline.get("seasonal_period", self.seasonal_period)
        return f"seasonal naive (the value {period} periods before each target time)"

    def decision(
        self,
        validation_outputs: np.ndarray,
        validation_labels: np.ndarray,
        validation_features: pd.DataFrame | None,
    ) -> dict[str, Any]:
        """Per step, the validation errors' 10% and 90% quantiles (scale units): the interval."""
        if validation_features is None or STEP not in validation_features.columns:
            raise ProblemError("forecasting intervals need the validation rows' steps")
        steps = validation_features[STEP].to_numpy(dtype=float)
        errors = np.asarray(validation_labels, dtype=float) - np.asarray(validation_outputs)
        low, high = [], []
        for step in range(1, self.forecast_horizon + 1):
            at_step = errors[steps == step]
            at_step = at_step[np.isfinite(at_step)]
            if len(at_step) == 0:  # a step validation never saw: the widest known
                at_step = errors[np.isfinite(errors)]
            low.append(min(float(np.quantile(at_step, INTERVAL[0])), 0.0))
            high.append(max(float(np.quantile(at_step, INTERVAL[1])), 0.0))
        return {"interval": list(INTERVAL), "interval_low": low, "interval_high": high}

    def with_decision(self, decision: dict[str, Any]) -> Self:
        if not decision.get("interval_low"):
            return self
        return dataclasses.replace(
            self,
            interval_low=tuple(decision["interval_low"]),
            interval_high=tuple(decision["interval_high"]),
        )

    def interval(self, p50: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The P10 and P90 around a median forecast, in the same units as `p50`."""
        if not self.interval_low:
            raise ProblemError("this model has no stored interval widths; retrain it")
        index = np.clip(np.asarray(steps, dtype=int), 1, len(self.interval_low)) - 1
        low = np.asarray(self.interval_low)[index]
        high = np.asarray(self.interval_high)[index]
        return p50 + low, p50 + high

    def operating_point(
        self,
        labels: np.ndarray,
        outputs: np.ndarray,
        baseline_outputs: np.ndarray,
        frame: pd.DataFrame | None = None,
    ) -> dict[str, Any]:
        """The interval's coverage and the error by step on the test rows."""
        if frame is None or STEP not in frame.columns or not self.interval_low:
            return {}
        from ..metrics.forecasting import by_step, interval_coverage, pinball_loss

        steps = frame[STEP].to_numpy(dtype=float)
        low, high = self.interval(np.asarray(outputs, dtype=float), steps)
        coverage = interval_coverage(labels, low, high)
        wanted = INTERVAL[1] - INTERVAL[0]
        return {
            "interval": list(INTERVAL),
            "coverage": coverage,
            "pinball": {
                str(INTERVAL[0]): pinball_loss(labels, low, INTERVAL[0]),
                "0.5": pinball_loss(labels, outputs, 0.5),
                str(INTERVAL[1]): pinball_loss(labels, high, INTERVAL[1]),
            },
            "mase_by_step": by_step(labels, outputs, steps),
            "baseline_mase_by_step": by_step(labels, baseline_outputs, steps),
            "summary": [
                f"P{INTERVAL[0] * 100:.0f}-P{INTERVAL[1] * 100:.0f} interval covers "
                f"{coverage:.1%} of test actuals (aimed at {wanted:.0%})",
            ],
        }

    def drift_rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per series and origin (step 1): the horizon's rows repeat its history.

        Fourteen steps share one set of lags; counted fourteen times they would
        make any difference look significant.
        """
        if STEP not in frame.columns:
            return frame
        return frame[pd.to_numeric(frame[STEP], errors="coerce").to_numpy() == 1]

    # -------------------------------------------------------------- sample ---

    def sample(self, rng: np.random.Generator, rows: int) -> pd.DataFrame:
        """Examples from the demand world, origins spread over the sample period."""
        history, origins = self.sample_history(rng, rows)
        built = build_examples(history, self.sample_layout, origins=origins, label="_label")
        examples = as_stored(built)
        examples["_time"] = examples.pop(ORIGIN)
        examples["_day"] = 0.0  # unused: `_time` is exact
        return examples.sort_values(["_time", "series_id", STEP], kind="stable")

    def sample_history(
        self, rng: np.random.Generator, rows: int
    ) -> tuple[pd.DataFrame, pd.DatetimeIndex]:
        """The long demand table and the forecast origins that give about `rows` examples."""
        layout = self.sample_layout
        # Many origins before many series: a split holds whole origins, and the
        # test split needs enough of them to cover every phase of the season.
        fitting = rows // (self.forecast_horizon * SAMPLE_ORIGINS)
        series = min(self.n_series, SAMPLE_SERIES, max(fitting, MIN_SAMPLE_SERIES))
        # The sample period's periods, or the last SAMPLE_ORIGINS of them up to its end
        # when it holds fewer (weeks, months): a backtest needs origins to cut into folds.
        frequency = pandas_frequency(self.forecast_frequency)
        last = SAMPLE_START + pd.Timedelta(days=SAMPLE_DAYS - 1)
        span = pd.date_range(SAMPLE_START, last, freq=frequency)
        if len(span) < SAMPLE_ORIGINS:
            span = pd.date_range(end=span[-1], periods=SAMPLE_ORIGINS, freq=frequency)
        wanted = min(max(rows // (series * self.forecast_horizon), 2), len(span))
        # Origins a fixed stride apart that is coprime with the season, so every
        # phase (weekday, hour) is an origin equally often, in every split.
        stride = max(len(span) // wanted, 1)
        while math.gcd(stride, self.seasonal_period) != 1:
            stride += 1
        pick = np.arange(len(span) - 1, -1, -stride)[:wanted][::-1]
        warmup = 2 * layout.history_periods
        start = span[0] - warmup * _period(self.forecast_frequency)
        periods = warmup + len(span) + self.forecast_horizon + 2 * layout.history_periods
        history = demand_world(
            rng,
            n_series=series,
            start=start,
            periods=periods,
            frequency=self.forecast_frequency,
            seasonal_period=self.seasonal_period,
        )
        # Values up to the last origin's horizon; after it, one more horizon of planned
        # covariates (promotions, holidays) with the values still to come.
        step = _period(self.forecast_frequency)
        end = span[-1] + self.forecast_horizon * step
        history = history[history["timestamp"] <= end + self.forecast_horizon * step].copy()
        history.loc[history["timestamp"] > end, "units_sold"] = np.nan
        return history.reset_index(drop=True), span[pick]

    def labels_from_signal(
        self,
        rng: np.random.Generator,
        signal: np.ndarray,
        label: LabelSpec,
        groups: np.ndarray | None,
    ) -> np.ndarray:
        """A positive scaled value around 3 (a few seasonal errors), moved by the signal."""
        return np.clip(3.0 + signal[:, 0] + rng.normal(0.0, 0.4, len(signal)), 0.0, None)

    def figures(self, test: TestSet) -> list[Figure]:
        from ..evaluation import plots

        y, p = test.labels, test.predictions
        return [
            ("Forecast vs actual (scale units)", plots.predicted_vs_actual, (y, p)),
            ("Residuals", plots.residuals, (y, p)),
        ]


def _period(frequency: str) -> pd.DateOffset:
    """One period as a calendar offset (a month is not a fixed number of days)."""
    return pd.tseries.frequencies.to_offset(pandas_frequency(frequency))
