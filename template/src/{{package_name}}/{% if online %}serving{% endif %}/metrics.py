"""Prometheus metrics of the service: traffic, latency, errors, predictions.

Each app gets its own registry (tests build many apps in one process). The
prediction distribution is a histogram whose buckets are the deciles of the
model's predictions on its training reference, so a drifting model shows up
as buckets filling unevenly; it is updated once per model call with numpy,
not once per row. With several worker processes each worker reports its own
numbers; sum them in Prometheus.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from ..predlog import PredictionLogger
from ..problems import ProblemType

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
SCORED_PATHS = ("/predict", "/rank", "/forecast")


class PredictionHistogram(Collector):
    """A histogram of prediction values fed with whole arrays at once."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.reset(bounds)

    def reset(self, bounds: Sequence[float]) -> None:
        """Start over with new bucket bounds (set once the model is known)."""
        self.bounds = np.asarray(sorted(set(bounds)), dtype=np.float64)
        self.counts = np.zeros(len(self.bounds) + 1, dtype=np.int64)
        self.total = 0.0

    def observe(self, values: np.ndarray) -> None:
        finite = values[np.isfinite(values)]
        slots = np.searchsorted(self.bounds, finite, side="left")
        self.counts += np.bincount(slots, minlength=len(self.counts))
        self.total += float(finite.sum())

    def collect(self) -> Iterator[Metric]:
        cumulative = np.cumsum(self.counts)
        buckets = [
            (f"{bound:.6g}", float(c))
            for bound, c in zip(self.bounds, cumulative[:-1], strict=True)
        ]
        buckets.append(("+Inf", float(cumulative[-1])))
        yield HistogramMetricFamily(
            "model_prediction",
            "Model outputs (binary: P(label=1); multiclass: class id; else the value)",
            buckets=buckets,
            sum_value=self.total,
        )


class ServingMetrics:
    """The metrics one app exposes on GET /metrics."""

    def __init__(
        self,
        prediction_bounds: Sequence[float],
        point_predictions: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._point_predictions = point_predictions
        self.requests = Counter(
            "http_requests",
            "HTTP requests by path and status code",
            ["path", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from request start to the last response byte",
            ["path"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "http_request_errors",
            "Requests answered with an error, by reason",
            ["path", "reason"],
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "model_batch_rows",
            "Rows per model call (micro-batching merges concurrent requests)",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.model_loaded = Gauge(
            "model_loaded", "1 when a verified model is loaded", ["version"], registry=self.registry
        )
        self.log_dropped = Counter(
            "prediction_log_dropped_rows",
            "Scored rows the prediction log could not keep up with",
            registry=self.registry,
        )
        self.nonfinite = Counter(
            "model_nonfinite_predictions",
            "Predictions that came out NaN or infinite (numerical trouble; ML Test Score N5)",
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "http_auth_failures",
            "Requests refused by the bearer-token check, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.scoring_in_flight = 0  # scoring requests inside the app now (the guard counts)
        self.predictions = PredictionHistogram(prediction_bounds)
        self.registry.register(self.predictions)
        self._latency_children = {path: self.latency.labels(path) for path in SCORED_PATHS}

    def watch_log(self, log: PredictionLogger) -> None:
        """Expose the prediction log's written and queued rows (read when scraped)."""
        self.registry.register(_LogCollector(log))

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        label = path if path in self._latency_children else "other"
        self.requests.labels(label, str(status)).inc()
        child = self._latency_children.get(path)
        if child is not None:
            child.observe(seconds)

    def observe_error(self, path: str, reason: str) -> None:
        label = path if path in self._latency_children else "other"
        self.errors.labels(label, reason).inc()

    def observe_auth_failure(self, reason: str) -> None:
        self.auth_failures.labels(reason).inc()

    def observe_batch(self, outputs: np.ndarray) -> None:
        self.batch_rows.observe(len(outputs))
        points = self._point_predictions(outputs)
        broken = int((~np.isfinite(points)).sum())
        if broken:
            self.nonfinite.inc(broken)
        self.predictions.observe(points)


class _LogCollector(Collector):
    """Rows the prediction log has written and still has queued.

    With `prediction_log_dropped_rows_total` this accounts for every scored
    row: written, waiting in the queue or the buffer, or dropped because the
    queue was full.
    """

    def __init__(self, log: PredictionLogger) -> None:
        self.log = log

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "prediction_log_rows_written",
            "Scored rows the prediction log has written to disk",
            value=self.log.rows_written,
        )
        yield GaugeMetricFamily(
            "prediction_log_pending_requests",
            "Requests whose rows wait in the prediction log's queue",
            value=self.log.pending,
        )
        yield GaugeMetricFamily(
            "prediction_log_buffered_rows",
            "Rows held in memory for the prediction log's next Parquet segment",
            value=self.log.buffered_rows,
        )


def prediction_bounds(reference: np.ndarray | None, *, problem: ProblemType) -> list[float]:
    """Bucket bounds: between class ids for a predicted class, else reference deciles."""
    if problem.prediction_kind == "categorical":
        return [k + 0.5 for k in range(problem.output_width - 1)]
    if reference is not None:
        finite = reference[np.isfinite(reference)]
        if finite.size:
            deciles = np.quantile(finite, np.linspace(0.1, 0.9, 9))
            return sorted({float(v) for v in deciles})
    return [round(0.1 * k, 1) for k in range(1, 10)]
