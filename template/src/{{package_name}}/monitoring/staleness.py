"""Is the champion too old? The alarm behind "models are not too stale" (ML Test Score N4).

A model trained long ago keeps serving until someone notices; the scheduled
job notices instead. The champion's age is the time since it was trained
(`created_at` in the registry); the limit is `monitoring.max_model_age_days`,
about twice the retraining cadence, so one missed retrain is tolerated and
two are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..config import ProjectConfig
from ..registry import ModelRegistry, RegistryError


@dataclass(frozen=True)
class Staleness:
    """The champion's age against the limit."""

    version: str
    created_at: datetime
    age_days: float
    limit_days: int

    @property
    def stale(self) -> bool:
        return self.age_days > self.limit_days

    def summary(self) -> str:
        verdict = "STALE" if self.stale else "fresh enough"
        return (
            f"Champion {self.version}, trained {self.created_at:%Y-%m-%d %H:%M} UTC, is "
            f"{self.age_days:.1f} days old (limit {self.limit_days}, "
            f"monitoring.max_model_age_days): {verdict}"
        )


def champion_staleness(config: ProjectConfig, *, now: datetime | None = None) -> Staleness:
    """The champion's age; `RegistryError` when there is no champion to judge."""
    now = now or datetime.now(UTC)
    versions = ModelRegistry(config).list_versions()
    champion = next((v for v in versions if v.promoted), None)
    if champion is None:
        raise RegistryError("no champion yet: train and promote a model first")
    try:
        created = datetime.fromisoformat(champion.created_at)
    except ValueError:
        raise RegistryError(
            f"{champion.version} has no readable creation time ({champion.created_at!r})"
        ) from None
    created = created if created.tzinfo else created.replace(tzinfo=UTC)
    age = max((now - created).total_seconds(), 0.0) / 86_400
    return Staleness(champion.version, created, age, config.monitoring.max_model_age_days)
