"""What the prediction log may keep of personal data (ML Test Score D5).

A column tagged `pii` in configs/schema.yaml (an id such as a customer number,
or a feature the policy allows) never reaches the log as written. With
`monitoring.log_pii: hash` it is stored as a keyed hash (HMAC-SHA256 with the
secret in $ML_LOG_HASH_KEY): the same customer gives the same hash, so labels
that come back by entity still find their predictions, but the log alone
cannot be read back to a person. Without the key, or with `log_pii: drop`, the
column is stored empty. `log prune` deletes whole days older than
`monitoring.log_retention_days`; the scheduled drift job runs it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .config import ProjectConfig

LOG_HASH_KEY_ENV_VAR = "ML_LOG_HASH_KEY"
# Hashes are written with this prefix, so a reader can tell one from a raw value.
HASH_PREFIX = "h:"
MIN_KEY_CHARACTERS = 16


class PrivacyError(ValueError):
    """The hashing key is unusable."""


@dataclass(frozen=True)
class LogPrivacy:
    """Which log columns are hashed and which are left empty."""

    hashed: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    key: bytes | None = None

    @property
    def active(self) -> bool:
        return bool(self.hashed or self.dropped)

    def hash_values(self, values: Iterable[Any]) -> list[str | None]:
        """Each value's keyed hash (its canonical text is hashed); missing stays missing."""
        from .schema import canonical_text

        if self.key is None:
            raise PrivacyError("no hashing key: set ML_LOG_HASH_KEY")
        out: list[str | None] = []
        for value in values:
            text = canonical_text(value)
            if text is None:
                out.append(None)
                continue
            digest = hmac.new(self.key, text.encode("utf-8"), hashlib.sha256).hexdigest()
            out.append(HASH_PREFIX + digest[:32])
        return out

    def apply(self, table: pa.Table) -> pa.Table:
        """`table` with every pii column hashed or emptied."""
        for name in self.hashed:
            if name in table.column_names:
                index = table.column_names.index(name)
                hashed = self.hash_values(table[name].to_pylist())
                table = table.set_column(index, name, pa.array(hashed, type=pa.string()))
        for name in self.dropped:
            if name in table.column_names:
                index = table.column_names.index(name)
                field = table.schema.field(name)
                table = table.set_column(index, field, pa.nulls(table.num_rows, field.type))
        return table


def log_privacy(config: ProjectConfig) -> LogPrivacy:
    """The rule for the project's log: pii columns hashed (text ones, with a key) or emptied."""
    schema = config.feature_schema
    tagged = schema.tagged("pii")
    if not tagged:
        return LogPrivacy()
    key = hashing_key()
    numeric = {spec.name for spec in schema.numeric_features}
    if config.monitoring.log_pii == "hash" and key is not None:
        hashed = tuple(name for name in tagged if name not in numeric)
        dropped = tuple(name for name in tagged if name in numeric)
        return LogPrivacy(hashed=hashed, dropped=dropped, key=key)
    return LogPrivacy(dropped=tuple(tagged))


def hashing_key() -> bytes | None:
    """The secret from $ML_LOG_HASH_KEY; None when unset. A short key is refused."""
    text = os.environ.get(LOG_HASH_KEY_ENV_VAR, "")
    if not text:
        return None
    if len(text) < MIN_KEY_CHARACTERS:
        raise PrivacyError(
            f"{LOG_HASH_KEY_ENV_VAR} is {len(text)} characters; use at least "
            f"{MIN_KEY_CHARACTERS} random characters (e.g. `openssl rand -hex 32`)"
        )
    return text.encode("utf-8")
