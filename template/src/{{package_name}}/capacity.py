"""Capacity arithmetic behind sections 4 and 5 of docs/design.md.

The design doc shows these numbers as they were when the project was
generated. The same rules live here so they can be recomputed from the current
configs (`<cli> doc` prints them) when peak traffic, rows per day or the schema
change. Pure arithmetic: no I/O, no dependencies beyond the config object.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import ProjectConfig

SECONDS_PER_DAY = 86_400
DAYS_PER_MONTH = 30
DAYS_PER_YEAR = 365

# One prediction-log row in the Parquet log (zstd): a random request id
# (about 18 B), the prediction (about 7 B) and the timestamp, row number,
# version and source (a few bytes between them), plus up to 4 B per feature
# (a continuous number takes about 7, an integer count or a category under 1).
# `bench log` measures it: 45 B per row for the default 8 features.
LOG_ROW_OVERHEAD_BYTES = 28
LOG_BYTES_PER_FEATURE = 4
# Training rows held in memory as float64 (Parquet on disk is usually smaller).
BYTES_PER_VALUE = 8

# Upper bounds of one year of training data (in memory) per data scale tier.
MEMORY_TIER_MAX_BYTES = 8 * 10**9
OUT_OF_CORE_TIER_MAX_BYTES = 10**12


@dataclass(frozen=True)
class LatencyTier:
    """What a p99 target leaves room for, and how its budget is usually split."""

    name: str
    upper_ms: float
    shares: tuple[tuple[str, float], ...]


LATENCY_TIERS: tuple[LatencyTier, ...] = (
    LatencyTier(
        "up to 10 ms",
        10.0,
        (("network", 0.30), ("feature fetch", 0.10), ("model", 0.40), ("overhead", 0.20)),
    ),
    LatencyTier(
        "up to 100 ms",
        100.0,
        (("network", 0.20), ("feature fetch", 0.30), ("model", 0.35), ("overhead", 0.15)),
    ),
    LatencyTier(
        "up to 1 s",
        1000.0,
        (("network", 0.10), ("feature fetch", 0.30), ("model", 0.45), ("overhead", 0.15)),
    ),
    LatencyTier(
        "over 1 s (batch-like)",
        float("inf"),
        (("network", 0.05), ("feature fetch", 0.25), ("model", 0.60), ("overhead", 0.10)),
    ),
)

# Shares of the batch deadline per stage of the scoring job.
BATCH_SHARES: tuple[tuple[str, float], ...] = (
    ("read input", 0.15),
    ("validate and encode", 0.20),
    ("model", 0.35),
    ("write output and log", 0.20),
    ("headroom", 0.10),
)


@dataclass(frozen=True)
class Capacity:
    """Daily and monthly volumes implied by the answers. None: not applicable."""

    serving_mode: str
    requests_per_day: int | None
    scored_rows_per_day: int
    log_row_bytes: int
    log_bytes_per_day: int
    log_bytes_per_month: int
    training_rows_per_day: int
    training_rows_per_month: int
    training_rows_per_year: int
    training_row_bytes: int
    training_bytes_per_month: int
    training_bytes_per_year: int
    suggested_scale: str
    candidates_per_second: float | None
    batch_rows_per_second: float | None

    def rows(self) -> list[tuple[str, str]]:
        """(quantity, value) pairs for printing."""
        out: list[tuple[str, str]] = []
        if self.requests_per_day is not None:
            out.append(("requests per day at peak", f"{self.requests_per_day:,}"))
        if self.candidates_per_second is not None:
            out.append(("candidates scored per second", f"{self.candidates_per_second:,.1f}"))
        if self.batch_rows_per_second is not None:
            out.append(
                ("rows per second to meet the deadline", f"{self.batch_rows_per_second:,.1f}")
            )
        out += [
            ("prediction-log rows per day", f"{self.scored_rows_per_day:,}"),
            ("prediction-log bytes per row", f"{self.log_row_bytes:,}"),
            ("prediction log per day", format_bytes(self.log_bytes_per_day)),
            ("prediction log per month", format_bytes(self.log_bytes_per_month)),
            ("training rows per month", f"{self.training_rows_per_month:,}"),
            ("training data per year (in memory)", format_bytes(self.training_bytes_per_year)),
            ("data scale tier that fits a year", self.suggested_scale),
        ]
        return out


def estimate_capacity(
    *,
    serving_mode: str,
    rows_per_day: int,
    n_features: int,
    n_extra_columns: int = 2,
    peak_rps: float | None = None,
    candidates_per_request: int | None = None,
    batch_deadline_minutes: int | None = None,
) -> Capacity:
    """Volumes from the answers.

    Online: the service is assumed to run at `peak_rps` all day (an upper
    bound); each request scores one row, or `candidates_per_request` rows for
    ranking. Batch: each day's `rows_per_day` rows are scored once, within
    `batch_deadline_minutes`. `n_extra_columns` counts the label, time,
    group and id columns stored with each training row.

    >>> estimate_capacity(serving_mode="online", rows_per_day=1000, n_features=8,
    ...                   peak_rps=10.0).requests_per_day
    864000
    """
    if rows_per_day <= 0:
        raise ValueError(f"rows_per_day must be positive, got {rows_per_day}")
    if n_features <= 0:
        raise ValueError(f"n_features must be positive, got {n_features}")
    candidates = candidates_per_request or 1
    requests_per_day: int | None = None
    candidates_per_second: float | None = None
    batch_rows_per_second: float | None = None
    if serving_mode == "online":
        if peak_rps is None or peak_rps <= 0:
            raise ValueError(f"online serving needs a positive peak_rps, got {peak_rps}")
        requests_per_day = round(peak_rps * SECONDS_PER_DAY)
        scored_rows_per_day = requests_per_day * candidates
        if candidates_per_request is not None:
            candidates_per_second = round(peak_rps * candidates_per_request, 1)
    elif serving_mode == "batch":
        if batch_deadline_minutes is None or batch_deadline_minutes <= 0:
            raise ValueError(
                f"batch serving needs a positive deadline in minutes, got {batch_deadline_minutes}"
            )
        scored_rows_per_day = rows_per_day
        batch_rows_per_second = round(rows_per_day / (batch_deadline_minutes * 60), 1)
    else:
        raise ValueError(f"serving_mode must be 'online' or 'batch', got {serving_mode!r}")

    log_row_bytes = LOG_ROW_OVERHEAD_BYTES + LOG_BYTES_PER_FEATURE * n_features
    training_row_bytes = BYTES_PER_VALUE * (n_features + n_extra_columns)
    training_bytes_per_year = rows_per_day * DAYS_PER_YEAR * training_row_bytes
    return Capacity(
        serving_mode=serving_mode,
        requests_per_day=requests_per_day,
        scored_rows_per_day=scored_rows_per_day,
        log_row_bytes=log_row_bytes,
        log_bytes_per_day=scored_rows_per_day * log_row_bytes,
        log_bytes_per_month=scored_rows_per_day * log_row_bytes * DAYS_PER_MONTH,
        training_rows_per_day=rows_per_day,
        training_rows_per_month=rows_per_day * DAYS_PER_MONTH,
        training_rows_per_year=rows_per_day * DAYS_PER_YEAR,
        training_row_bytes=training_row_bytes,
        training_bytes_per_month=rows_per_day * DAYS_PER_MONTH * training_row_bytes,
        training_bytes_per_year=training_bytes_per_year,
        suggested_scale=suggested_scale(training_bytes_per_year),
        candidates_per_second=candidates_per_second,
        batch_rows_per_second=batch_rows_per_second,
    )


def capacity_from_config(config: ProjectConfig) -> Capacity:
    """`estimate_capacity` with every input taken from the project config and schema."""
    schema = config.feature_schema
    problem = config.problem_type
    return estimate_capacity(
        serving_mode=config.serving.mode,
        rows_per_day=config.data.rows_per_day,
        n_features=len(schema.features),
        n_extra_columns=2 + len(schema.group_columns) + len(schema.id_columns),
        peak_rps=config.serving.peak_rps,
        candidates_per_request=problem.rows_per_request if problem.grouped else None,
        batch_deadline_minutes=config.batch.deadline_minutes,
    )


def suggested_scale(bytes_per_year: int) -> str:
    """The smallest data scale tier that holds one year of training data."""
    if bytes_per_year <= MEMORY_TIER_MAX_BYTES:
        return "memory"
    if bytes_per_year <= OUT_OF_CORE_TIER_MAX_BYTES:
        return "out_of_core"
    return "cluster"


def latency_tier(target_ms: float) -> LatencyTier:
    """The tier a p99 target falls into: up to 10 ms, 100 ms, 1 s, or over 1 s."""
    if target_ms <= 0:
        raise ValueError(f"the latency target must be positive, got {target_ms}")
    return next(tier for tier in LATENCY_TIERS if target_ms <= tier.upper_ms)


def latency_budget(target_ms: float) -> dict[str, float]:
    """Milliseconds of the p99 target given to network, feature fetch, model and overhead.

    >>> latency_budget(100.0)
    {'network': 20.0, 'feature fetch': 30.0, 'model': 35.0, 'overhead': 15.0}
    """
    tier = latency_tier(target_ms)
    return {part: round(target_ms * share, 2) for part, share in tier.shares}


def batch_budget(deadline_minutes: int) -> dict[str, float]:
    """Minutes of the batch deadline given to each stage of the job.

    >>> batch_budget(60)["model"]
    21.0
    """
    if deadline_minutes <= 0:
        raise ValueError(f"the batch deadline must be positive, got {deadline_minutes}")
    return {part: round(deadline_minutes * share, 2) for part, share in BATCH_SHARES}


def format_bytes(size: float) -> str:
    """A byte count in decimal units: 950 B, 37.6 MB, 1.2 TB."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    value = float(size)
    index = 0
    while value >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{int(size)} B" if index == 0 else f"{value:,.1f} {units[index]}"
