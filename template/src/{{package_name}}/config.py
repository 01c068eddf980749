"""Run-time configuration: `configs/project.yaml` and `configs/schema.yaml`.

This is the only module that reads YAML or environment variables. Everything
else receives a `ProjectConfig`. The models are frozen and forbid unknown keys,
so a typo in the YAML fails loudly instead of falling back to a default.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .schema import FeatureSchema

if TYPE_CHECKING:
    from .problems import ProblemType

CONFIG_ENV_VAR = "ML_PROJECT_CONFIG"
# Where the prediction log goes instead of paths.prediction_log: the latency
# bench points its server at a throwaway log, so synthetic load never reaches
# the log the drift monitor reads.
PREDICTION_LOG_ENV_VAR = "ML_PREDICTION_LOG"
# The `source` the service writes on its log rows instead of serving.log_source:
# the latency bench starts its server with "bench", so the load is marked as
# such even when it reaches a real log.
PREDICTION_SOURCE_ENV_VAR = "ML_PREDICTION_SOURCE"
# The container image sets this to "token", so a deployed service never runs
# open by accident; a config file's value is the default for local runs.
SERVING_AUTH_ENV_VAR = "ML_SERVING_AUTH"
# Who wrote a prediction log row: the HTTP service, `batch score`, the
# pipeline's replay of the test split, the latency bench's load.
LogSource = Literal["served", "batch", "replay", "bench"]
DEFAULT_CONFIG = Path("configs") / "project.yaml"


class ConfigError(ValueError):
    """The configuration file is missing or does not validate."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSection(_Section):
    name: str
    slug: str
    package: str


class ProblemSection(_Section):
    # One of problems.PROBLEM_TYPES; checked with the schema by `ProjectConfig`.
    type: str
    statement: str
    label_definition: str
    online_metric: str
    why_ml: list[str] = Field(default_factory=list)
    n_classes: int | None = Field(default=None, ge=3)
    candidates_per_request: int | None = Field(default=None, ge=2)
    ranking_k: int | None = Field(default=None, ge=1)
    # Anomaly detection: alerts a day people can triage, out of data.rows_per_day.
    alert_budget_per_day: int | None = Field(default=None, ge=1)
    labels_available: Literal["none", "some", "most"] | None = None
    contamination: float | None = Field(default=None, gt=0, lt=0.5)
    learner: Literal["isolation_forest", "lightgbm"] | None = None
    top_features: int = Field(default=3, ge=1)
    # Forecasting: periods ahead, how often a series has a value, the season, and
    # how many series production forecasts.
    forecast_horizon: int | None = Field(default=None, ge=1, le=400)
    forecast_frequency: Literal["hour", "day", "week", "month"] | None = None
    seasonal_period: int | None = Field(default=None, ge=2, le=400)
    n_series: int | None = Field(default=None, ge=1)
    # Forecasting: the long table (one row per series and period) the examples are
    # built from; null: the sample's demand history. Its columns, and the
    # covariates known in advance for every period.
    history_source: str | None = None
    series_column: str = "series_id"
    timestamp_column: str = "timestamp"
    target_column: str = "units_sold"
    timestamp_format: str | None = None  # e.g. '%d/%m/%Y'; None: ISO timestamps
    covariates: list[str] = Field(default_factory=lambda: ["promo", "holiday"])
    # Forecasting: `evaluate` refits on an expanding window this many times.
    backtest_folds: int = Field(default=3, ge=1, le=20)
    # Days until an outcome is known; not a model setting (left out of the fingerprint).
    label_delay_days: int = Field(default=1, ge=0)


class SliceGate(_Section):
    """What one slice must reach; every rule given must hold."""

    # The slice's value must reach this, like metric.threshold.
    threshold: float | None = None
    # How far the slice may fall behind the overall value, in the metric's units...
    max_gap: float | None = Field(default=None, ge=0)
    # ... or as a share of the overall value (0.2: at most 20% worse).
    max_relative_gap: float | None = Field(default=None, ge=0)
    # The model must do at least as well as the baseline on the slice, not only overall.
    at_least_baseline: bool = False

    @model_validator(mode="after")
    def _some_rule(self) -> SliceGate:
        if (self.threshold, self.max_gap, self.max_relative_gap) == (None, None, None) and not (
            self.at_least_baseline
        ):
            raise ValueError(
                "a slice gate needs a rule: threshold, max_gap, max_relative_gap or "
                "at_least_baseline: true"
            )
        return self


class FeatureReviewSection(_Section):
    """`explain features`: each feature's permutation gain and cost (feature_value.py)."""

    rows: int = Field(default=20_000, ge=100)  # validation rows it runs on, at most
    repeats: int = Field(default=5, ge=2)  # shuffles per feature
    # A feature pays its way when its gain, less two standard errors, is above this.
    min_gain: float = 0.0
    # What the pipeline does when a feature does not pay: warn, or fail the run.
    on_useless: Literal["warn", "fail"] = "warn"


class PolicySection(_Section):
    """The team's rules for features (ML Test Score D4), checked whenever the config loads."""

    # A feature carrying one of these tags is refused (pii: personal data may be
    # kept as an id, hashed in the log, but never fed to the model).
    forbidden_feature_tags: list[str] = Field(default_factory=lambda: ["pii"])
    # Fields every feature must fill in configs/schema.yaml (e.g. [owner, source]).
    required_feature_fields: list[Literal["owner", "source", "tags"]] = Field(default_factory=list)

    def violations(self, schema: FeatureSchema) -> list[str]:
        """One sentence per feature that breaks the policy; empty when all comply."""
        found = []
        forbidden = {tag.lower() for tag in self.forbidden_feature_tags}
        for spec in schema.features:
            if hits := sorted(forbidden & set(spec.tags)):
                found.append(
                    f"feature '{spec.name}' is tagged {hits}, which policy.forbidden_feature_tags "
                    "does not allow in a model (keep it as an id column, or drop it)"
                )
            missing = [name for name in self.required_feature_fields if not getattr(spec, name)]
            if missing:
                found.append(
                    f"feature '{spec.name}' has no {' or '.join(missing)}, which "
                    "policy.required_feature_fields asks of every feature"
                )
        return found


class MetricSection(_Section):
    primary: str
    # Filled from the metric registry, the one source of a metric's direction,
    # when left out; a value given here must agree with it (see
    # `ProjectConfig._metric_from_registry`).
    direction: Literal["higher", "lower"]
    threshold: float
    secondary: list[str] = Field(default_factory=list)
    bootstrap_resamples: int = Field(default=1000, ge=10)
    confidence_level: float = Field(default=0.95, gt=0, lt=1)
    slices: list[str] = Field(default_factory=list)
    min_slice_rows: int = Field(default=30, ge=1)
    # Rules every slice must meet for the gate to pass (ML Test Score M6): the key
    # is a column (each of its slices), `column=value` (one slice) or "*" (every
    # sliced column); a more specific key replaces a broader one.
    slice_gates: dict[str, SliceGate] = Field(default_factory=dict)
    # Columns tagged `protected` in the schema (M7): the gate fails when the primary
    # metric of the worst group is further than this share of the best group's
    # value from it. null: the gaps are reported, not enforced.
    max_group_gap: float | None = Field(default=None, gt=0)

    def slice_columns(self, schema: FeatureSchema) -> list[str]:
        """What the evaluation slices by: `slices` (else every categorical feature) and
        every column tagged protected."""
        chosen = list(self.slices) or [spec.name for spec in schema.categorical_features]
        return list(dict.fromkeys([*chosen, *schema.tagged("protected")]))

    def gate_for(self, column: str, category: str) -> SliceGate | None:
        """The rule for one slice: `column=category`, else `column`, else "*"."""
        for key in (f"{column}={category}", column, "*"):
            if key in self.slice_gates:
                return self.slice_gates[key]
        return None


class PromotionSection(_Section):
    """When a candidate replaces the champion; see promotion.py."""

    min_gain: float = Field(default=0.0, ge=0)
    confidence_level: float = Field(default=0.95, gt=0, lt=1)
    resamples: int = Field(default=500, ge=50)


# A password in a URI's user part, or a secret-looking query parameter.
_URI_SECRET = re.compile(
    r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@|[?&](password|passwd|token|secret|"
    r"api_?key|access_?key|sig|signature|x-amz-signature)=",
    re.IGNORECASE,
)


def holds_credentials(uri: str) -> bool:
    """Whether `uri` carries a secret (`https://user:pw@host`, `...?token=...`)."""
    return bool(_URI_SECRET.search(uri))


class DataSection(_Section):
    scale: Literal["memory", "out_of_core", "cluster"]
    engine: Literal["pandas", "polars", "ray"]
    rows_per_day: int = Field(gt=0)
    source: Path | None = None
    sample_rows: int = Field(default=20000, ge=100)
    validation_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    # Train on the newest N days only (then split); null: all the data.
    train_window_days: int | None = Field(default=None, ge=1)
    # out_of_core and cluster tiers: rows per Parquet part / row group / scoring chunk.
    chunk_rows: int = Field(default=250_000, ge=100)
    # cluster tier: a Ray address (ray://host:10001; auto: $RAY_ADDRESS, else the
    # cluster `ray start` started here); null: a new local instance, never one
    # already running, whatever $RAY_ADDRESS says.
    ray_address: str | None = None
    ray_workers: int | None = Field(default=None, ge=1)  # null: sized to the machine
    ray_num_cpus: int | None = Field(default=None, ge=1)  # local instance; null: cores
    ray_storage: str | None = None  # Ray Train results; a cluster needs shared storage (s3://...)

    @field_validator("ray_address", "ray_storage")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        if value is not None and holds_credentials(value):
            raise ValueError(
                "holds credentials; configs/ is committed, so give them to Ray and the "
                "object store through the environment (e.g. AWS_ACCESS_KEY_ID)"
            )
        return value


class TunedSection(_Section):
    """What `tune` found (tuning.py): params that beat model.params, and the study behind them."""

    params: dict[str, float | int | str | bool]
    metric: str
    direction: Literal["higher", "lower"]
    best_value: float  # validation value of `params`
    current_value: float  # validation value of the params in use before tuning
    trials: int = Field(ge=1)
    completed: int = Field(ge=0)
    pruned: int = Field(ge=0)
    seed: int
    date: str  # when the study ran, ISO 8601
    data_fingerprint: str | None = None


class ModelSection(_Section):
    library: Literal["lightgbm"] = "lightgbm"
    seed: int = 42
    params: dict[str, float | int | str | bool] = Field(default_factory=dict)
    # Fixed so that training is reproducible (LightGBM's results depend on it).
    num_threads: int = Field(default=1, ge=1)
    early_stopping_rounds: int = Field(default=30, ge=1)
    # Written by `tune`; its params win over `params`. Delete it to train on `params` alone.
    tuned: TunedSection | None = None

    def effective_params(self) -> dict[str, Any]:
        """`params` with the tuned ones over them: what LightGBM trains with."""
        return {**self.params, **(self.tuned.params if self.tuned else {})}


class ServingSection(_Section):
    mode: Literal["online", "batch"]
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # "token": scoring and /metrics need `Authorization: Bearer <token>`, the
    # tokens taken from $ML_SERVING_TOKENS; $ML_SERVING_AUTH overrides this.
    auth: Literal["none", "token"] = Field(default="none", validate_default=True)
    metrics_public: bool = False
    latency_p99_ms: float | None = Field(default=None, gt=0)
    peak_rps: float | None = Field(default=None, gt=0)
    # Worker processes; null means one per CPU core.
    workers: int | None = Field(default=None, ge=1)
    max_rows_per_request: int = Field(default=1000, ge=1)
    max_candidates: int = Field(default=100, ge=2)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    concurrency_limit: int = Field(default=256, ge=1)
    request_timeout_s: float = Field(default=2.0, gt=0)
    batching: bool = True
    max_batch_rows: int = Field(default=2048, ge=1)
    # How long a batch may wait for more rows; 0 scores whatever is queued at once.
    max_batch_wait_ms: float = Field(default=0.0, ge=0, le=1000)
    graceful_shutdown_s: float = Field(default=10.0, ge=0)
    log_predictions: bool = True
    # The `source` of the rows the service logs; $ML_PREDICTION_SOURCE overrides it.
    log_source: LogSource = Field(default="served", validate_default=True)
    bench_duration_s: float = Field(default=3.0, gt=0)
    bench_max_requests: int = Field(default=20000, ge=10)
    bench_concurrency: list[int] = Field(default_factory=lambda: [1, 8, 64])
    # Open-loop rates the bench sends, as multiples of peak_rps (the first is the judged one).
    bench_rate_multiples: list[float] = Field(default_factory=lambda: [1.0, 10.0], min_length=1)

    @field_validator("bench_rate_multiples")
    @classmethod
    def _positive_multiples(cls, value: list[float]) -> list[float]:
        if any(multiple <= 0 for multiple in value):
            raise ValueError("every multiple of peak_rps must be above 0")
        return value

    @field_validator("auth", mode="before")
    @classmethod
    def _auth_from_env(cls, value: object) -> object:
        return os.environ.get(SERVING_AUTH_ENV_VAR) or value

    @field_validator("log_source", mode="before")
    @classmethod
    def _log_source_from_env(cls, value: object) -> object:
        return os.environ.get(PREDICTION_SOURCE_ENV_VAR) or value


class BatchSection(_Section):
    schedule: str = "0 2 * * *"
    deadline_minutes: int = Field(default=60, gt=0)
    chunk_rows: int = Field(default=50_000, ge=1)
    log_predictions: bool = True


class TrackingSection(_Section):
    backend: Literal["none", "mlflow"] = "none"
    uri: str | None = None

    @field_validator("uri")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        if value is not None and holds_credentials(value):
            raise ValueError(
                "tracking.uri holds credentials; configs/ is committed, so keep them in the "
                "environment instead: MLflow reads MLFLOW_TRACKING_USERNAME and "
                "MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
            )
        return value


class MonitoringSection(_Section):
    """Drift check settings; see the `monitoring:` block of configs/project.yaml."""

    window_rows: int = Field(default=10_000, ge=1)
    min_rows: int = Field(default=30, ge=2)
    large_sample_rows: int = Field(default=5_000, ge=1)
    numeric_method: Literal["auto", "ks", "wasserstein", "psi"] = "auto"
    categorical_method: Literal["auto", "chi_square", "jensen_shannon", "psi"] = "auto"
    column_methods: dict[
        str, Literal["ks", "wasserstein", "psi", "chi_square", "jensen_shannon"]
    ] = Field(default_factory=dict)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    correction: Literal["bonferroni", "benjamini_hochberg", "none"] = "benjamini_hochberg"
    wasserstein_threshold: float = Field(default=0.1, gt=0)
    jensen_shannon_threshold: float = Field(default=0.1, gt=0)
    psi_threshold: float = Field(default=0.1, gt=0)
    psi_bins: int = Field(default=10, ge=2)
    drift_share: float = Field(default=0.5, gt=0, le=1)
    invalid_share_tolerance: float = Field(default=0.1, ge=0, le=1)
    max_categories: int = Field(default=100, ge=2)
    performance_tolerance: float = Field(default=0.1, ge=0)
    schedule: str = "0 5 * * 1"  # the scheduled CI job's cron (the CI files hold a copy)
    performance_window: Literal["day", "week"] = "week"
    # `monitor staleness` alarms when the champion was trained longer ago than this.
    max_model_age_days: int = Field(default=14, ge=1)
    # The prediction log: `log prune` deletes whole days older than this.
    log_retention_days: int = Field(default=180, ge=1)
    # Columns tagged pii in the schema: "hash" stores a keyed hash (key in
    # $ML_LOG_HASH_KEY; without it they are dropped), "drop" stores them empty.
    log_pii: Literal["hash", "drop"] = "hash"
    # A log writer keeps rows in memory and writes a Parquet segment when it
    # holds log_flush_rows rows or its oldest row is log_flush_seconds old, and
    # on a clean shutdown; a crash loses at most what it held.
    log_flush_rows: int = Field(default=100_000, ge=1)
    log_flush_seconds: float = Field(default=60.0, gt=0)


class PathsSection(_Section):
    data_dir: Path = Path("data")
    models_dir: Path = Path("models")
    reports_dir: Path = Path("reports")
    schema_file: Path = Path("configs/schema.yaml")
    # A folder of Parquet files (logstore.py): a local path or a URI (s3://...).
    prediction_log: str = Field(default="data/predictions", validate_default=True)

    @field_validator("prediction_log", mode="before")
    @classmethod
    def _prediction_log_from_env(cls, value: object) -> object:
        override = os.environ.get(PREDICTION_LOG_ENV_VAR)
        value = override or value
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str) and holds_credentials(value):
            raise ValueError(
                "holds credentials; configs/ is committed, so give them to the object store "
                "through the environment (e.g. AWS_ACCESS_KEY_ID)"
            )
        return value


class ProjectConfig(_Section):
    """Everything the code reads at run time, with paths resolved against `root`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    root: Path
    project: ProjectSection
    problem: ProblemSection
    metric: MetricSection
    data: DataSection
    model: ModelSection = ModelSection()
    serving: ServingSection
    batch: BatchSection = BatchSection()
    promotion: PromotionSection = PromotionSection()
    tracking: TrackingSection = TrackingSection()
    monitoring: MonitoringSection = MonitoringSection()
    paths: PathsSection = PathsSection()
    policy: PolicySection = PolicySection()
    feature_review: FeatureReviewSection = FeatureReviewSection()
    feature_schema: FeatureSchema

    def path(self, relative: Path | str) -> Path:
        """Resolve a path from the config against the project root."""
        candidate = Path(relative)
        return candidate if candidate.is_absolute() else self.root / candidate

    @property
    def data_dir(self) -> Path:
        return self.path(self.paths.data_dir)

    @property
    def models_dir(self) -> Path:
        return self.path(self.paths.models_dir)

    @property
    def reports_dir(self) -> Path:
        return self.path(self.paths.reports_dir)

    @property
    def prediction_log_location(self) -> str:
        """The log folder: a URI as written, a local path resolved against the root."""
        text = self.paths.prediction_log
        return text if "://" in text else str(self.path(text))

    @property
    def prediction_log_path(self) -> Path:
        """The log folder as a local path (for a URI, its text as a path)."""
        return Path(self.prediction_log_location)

    @model_validator(mode="before")
    @classmethod
    def _metric_from_registry(cls, data: Any) -> Any:
        """Check metric.primary, .secondary and .threshold against the metric registry.

        The registry knows each metric's direction and range; `metric.direction`
        is filled from it, and a config that says otherwise is refused.
        """
        if not isinstance(data, dict):
            return data
        problem, metric = data.get("problem"), data.get("metric")
        if not isinstance(problem, dict) or not isinstance(metric, dict):
            return data
        from .metrics import get_metric

        problem_type = problem.get("type")
        try:
            primary = get_metric(str(metric.get("primary")), str(problem_type))
            for name in metric.get("secondary") or []:
                get_metric(str(name), str(problem_type))
        except KeyError as error:
            raise ValueError(f"metric: {error.args[0]}") from None
        given = metric.get("direction")
        if given is not None and given != primary.direction:
            raise ValueError(
                f"metric.direction says '{given}', but {primary.name} is a metric where "
                f"{primary.direction} is better; remove metric.direction (it is taken from "
                "the metric registry) or correct it"
            )
        threshold = metric.get("threshold")
        if isinstance(threshold, int | float) and not primary.in_range(threshold):
            raise ValueError(
                f"metric.threshold {threshold} is outside the range of {primary.name} "
                f"({primary.range_text})"
            )
        return {**data, "metric": {**metric, "direction": primary.direction}}

    @model_validator(mode="after")
    def _problem_fits_the_schema(self) -> ProjectConfig:
        """Build the problem object once now, so a mismatch fails at load time."""
        from .problems import ProblemError, build_problem

        try:
            build_problem(self.problem.model_dump(), self.feature_schema)
        except ProblemError as error:
            raise ValueError(str(error)) from None
        if self.data.scale != "memory":
            self._check_partitioned_tier_limits()
        if violations := self.policy.violations(self.feature_schema):
            raise ValueError("configs/schema.yaml breaks the policy: " + "; ".join(violations))
        if self.monitoring.log_retention_days <= self.problem.label_delay_days:
            raise ValueError(
                f"monitoring.log_retention_days ({self.monitoring.log_retention_days}) must be "
                f"more than problem.label_delay_days ({self.problem.label_delay_days}): the log "
                "would be deleted before its labels arrive"
            )
        return self

    def _check_partitioned_tier_limits(self) -> None:
        """What the out-of-core and cluster tiers do not read yet, refused with the way out."""
        schema = self.feature_schema
        if schema.time_column is None:
            raise ValueError(
                f"the {self.data.scale} tier splits its partitions by time, so configs/"
                "schema.yaml needs a time_column (data without timestamps: the memory tier)"
            )
        if schema.label.classes:
            raise ValueError(
                f"the {self.data.scale} tier reads labels as class ids: write 0..n-1 in the "
                "data and drop label.classes from configs/schema.yaml (text labels: the "
                "memory tier)"
            )

    def model_copy(self, *, update: Any = None, deep: bool = False) -> ProjectConfig:
        """A copy with `update` applied; values cached from the old settings are dropped."""
        copied = super().model_copy(update=update, deep=deep)
        for name in ("problem_type", "fingerprint"):
            copied.__dict__.pop(name, None)
        return copied

    @cached_property
    def problem_type(self) -> ProblemType:
        """What varies by problem type (problems/): asked, never branched on."""
        from .problems import build_problem

        # data.rows_per_day too: anomaly detection's alert budget is a share of it
        settings = {**self.problem.model_dump(), "rows_per_day": self.data.rows_per_day}
        return build_problem(settings, self.feature_schema)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 of the settings that change a trained model, stored with artifacts."""
        relevant = {
            "problem": self.problem.model_dump(mode="json", exclude={"label_delay_days"}),
            "metric": self.metric.model_dump(mode="json"),
            "model": self.model.model_dump(mode="json"),
            "schema": self.feature_schema.model_dump(mode="json"),
        }
        return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def find_config_file(start: Path | None = None) -> Path:
    """The config named by $ML_PROJECT_CONFIG, else configs/project.yaml here or above."""
    if env_path := os.environ.get(CONFIG_ENV_VAR):
        return Path(env_path)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {DEFAULT_CONFIG} found in {here} or its parents; run inside the project "
        f"or set {CONFIG_ENV_VAR}"
    )


def load_config(path: Path | str | None = None) -> ProjectConfig:
    """Read and validate the project config and its feature schema."""
    config_file = Path(path) if path is not None else find_config_file()
    raw = _read_yaml(config_file)
    root = config_file.resolve().parent.parent
    paths = raw.get("paths") or {}
    if "schema" in paths:
        raise ConfigError(
            f"{config_file}: paths.schema was renamed to paths.schema_file in template 0.2.0; "
            "rename the key (`copier update --trust` does it for you)"
        )
    schema_path = paths.get("schema_file", "configs/schema.yaml")
    schema_file = Path(schema_path) if Path(schema_path).is_absolute() else root / schema_path
    try:  # each file's mistakes are reported against that file
        schema = FeatureSchema.model_validate(_read_yaml(schema_file))
    except ValidationError as error:
        raise ConfigError(_describe(error, schema_file)) from None
    try:
        return ProjectConfig.model_validate({**raw, "root": root, "feature_schema": schema})
    except ValidationError as error:
        raise ConfigError(_describe(error, config_file)) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(content, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return content


def _describe(error: ValidationError, path: Path) -> str:
    lines = [f"{path} does not validate:"]
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = str(problem["msg"]).removeprefix("Value error, ")
        lines.append(f"  {where}: {message}" if where else f"  {message}")
    return "\n".join(lines)
