"""The local model registry: one folder per version, hashed, with champion and candidates.

Layout: `models/<version>/` holds `model.txt` (LightGBM's text format: no
pickle is ever loaded), `schema.json`, `reference.parquet` (the drift
reference) and `metadata.json` (fingerprints, metrics, the baseline and the
sha256 of every other file). `models/registry.json` records the sha256 of
each version's metadata plus the promotion history, so editing any file of a
version, including its metadata, is detected when the model is loaded.

Every version has a status. A new one is a `candidate`; the promotion policy
(promotion.py) makes it the `champion` (the one evaluation, serving and batch
scoring load) or `rejected`, and a champion that is replaced is `retired`.
The index keeps each decision with its reason, who made it and when, so
`models list` can say why a model is, or is not, the one in production.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import pandas as pd

from .config import ProjectConfig
from .problems import ProblemType
from .schema import FeatureSchema

INDEX_FILE = "registry.json"
MODEL_FILE = "model.txt"
SCHEMA_FILE = "schema.json"
REFERENCE_FILE = "reference.parquet"
METADATA_FILE = "metadata.json"
VERSION_PATTERN = re.compile(r"^v\d{4,}$")
Status = Literal["champion", "candidate", "rejected", "retired"]


class RegistryError(RuntimeError):
    """The registry cannot do what was asked (unknown version, nothing promoted...)."""


class TamperedArtifactError(RegistryError):
    """A file of a model version does not match the hash recorded when it was saved."""


@dataclass(frozen=True)
class VersionInfo:
    """One row of `models list`."""

    version: str
    created_at: str
    primary_metric: float
    status: Status
    reason: str = ""

    @property
    def promoted(self) -> bool:
        return self.status == "champion"


@dataclass(frozen=True)
class LoadedModel:
    """A verified model version, ready to predict on encoded matrices."""

    version: str
    path: Path
    schema: FeatureSchema
    metadata: dict[str, Any]
    booster: lgb.Booster
    problem: ProblemType

    @property
    def reference_path(self) -> Path:
        return self.path / REFERENCE_FILE

    @cached_property
    def num_threads(self) -> int:
        return int(self.metadata.get("num_threads", 1))

    def predict(self, matrix: np.ndarray, *, num_threads: int | None = None) -> np.ndarray:
        """binary: P(label=1) (n,); multiclass: (n, n_classes); regression and ranking: (n,).

        `num_threads` overrides the training thread count (serving uses 1 per worker).
        """
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.schema.features):
            raise ValueError(
                f"expected a matrix with {len(self.schema.features)} feature columns, "
                f"got shape {matrix.shape}"
            )
        if len(matrix) == 0:
            classes = int(self.metadata.get("n_classes") or 0)
            return np.empty((0, classes) if classes else (0,))
        threads = num_threads or self.num_threads
        return np.asarray(self.booster.predict(matrix, num_threads=threads))

    def contributions(self, matrix: np.ndarray, *, num_threads: int | None = None) -> np.ndarray:
        """Each feature's contribution to each row's raw score (TreeSHAP), rows x features."""
        return feature_contributions(self.booster, matrix, num_threads or self.num_threads)

    def explanations(
        self, matrix: np.ndarray, outputs: np.ndarray, *, num_threads: int | None = None
    ) -> np.ndarray | None:
        """Contributions for the rows the problem explains (anomaly alerts); see `explain_rows`."""
        threads = num_threads or self.num_threads
        return explain_rows(self.booster, self.problem, matrix, outputs, num_threads=threads)

    def predict_baseline(self, matrix: np.ndarray) -> np.ndarray:
        """The stored baseline's output, shaped like `predict`."""
        matrix = np.asarray(matrix, dtype=np.float64)
        return self.problem.predict_baseline(self.metadata["baseline"], matrix)


def feature_contributions(booster: lgb.Booster, matrix: np.ndarray, num_threads: int) -> np.ndarray:
    """Each feature's contribution to each row's raw score (TreeSHAP), rows x features."""
    matrix = np.asarray(matrix, dtype=np.float64)
    features = booster.num_feature()
    if len(matrix) == 0:
        return np.empty((0, features))
    raw = booster.predict(matrix, pred_contrib=True, num_threads=num_threads)
    return np.asarray(raw)[:, :features]  # the last column is the expected value


def explain_rows(
    booster: lgb.Booster,
    problem: ProblemType,
    matrix: np.ndarray,
    outputs: np.ndarray,
    *,
    num_threads: int,
) -> np.ndarray | None:
    """Contributions for the rows the problem explains (anomaly alerts), zero elsewhere.

    None when the problem type explains no row. Only the chosen rows pay for
    TreeSHAP, which costs far more than the prediction itself.
    """
    if not problem.explains_rows:
        return None
    chosen = problem.rows_to_explain(outputs)
    explained = np.zeros((len(matrix), booster.num_feature()))
    if chosen.any():
        explained[chosen] = feature_contributions(booster, matrix[chosen], num_threads)
    return explained


class ModelRegistry:
    """Versions under `config.models_dir`; see the module docstring for the layout."""

    def __init__(self, config: ProjectConfig) -> None:
        self.config = config
        self.root = config.models_dir

    # ---------------------------------------------------------- writing ---

    def register(
        self,
        *,
        booster: lgb.Booster,
        reference: pd.DataFrame,
        metadata: dict[str, Any],
    ) -> str:
        """Save a new version folder and record it in the index; returns the version."""
        index = self._read_index()
        numbers = [int(v[1:]) for v in index["versions"]]
        version = f"v{max(numbers, default=0) + 1:04d}"
        folder = self.root / version
        folder.mkdir(parents=True, exist_ok=False)
        booster.save_model(str(folder / MODEL_FILE))
        (folder / SCHEMA_FILE).write_text(
            self.config.feature_schema.model_dump_json(indent=2), encoding="utf-8"
        )
        reference.to_parquet(folder / REFERENCE_FILE, index=False)
        files = {
            name: _sha256_file(folder / name) for name in (MODEL_FILE, SCHEMA_FILE, REFERENCE_FILE)
        }
        full = {
            **metadata,
            "version": version,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "problem_type": self.config.problem.type,
            "config_fingerprint": self.config.fingerprint,
            "lightgbm_version": lgb.__version__,
            "files": files,
        }
        body = json.dumps(full, indent=2, sort_keys=True, default=_json_default).encode()
        (folder / METADATA_FILE).write_bytes(body)
        index["versions"][version] = hashlib.sha256(body).hexdigest()
        self._write_index(index)
        return version

    def promote(
        self,
        version: str,
        *,
        reason: str = "promoted by hand",
        by: str | None = None,
        forced: bool = False,
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """Make `version` the champion: the one evaluation, serving and batch scoring load.

        This only records the decision; whether a version deserves it is the
        promotion policy's question (promotion.py).
        """
        index = self._read_index()
        self._require(version, index)
        self._verify(version, index)
        if index["history"] and index["history"][-1] == version:
            return
        previous = index["history"][-1] if index["history"] else None
        index["history"].append(version)
        _decide(index, version, "promoted", reason, by=by, forced=forced, evidence=evidence)
        if previous is not None:
            _decide(index, previous, "retired", f"replaced by {version}", by=by)
        self._write_index(index)

    def reject(self, version: str, *, reason: str, evidence: dict[str, Any] | None = None) -> None:
        """Record that `version` stays out of production, and why."""
        index = self._read_index()
        self._require(version, index)
        if index["history"] and index["history"][-1] == version:
            raise RegistryError(f"{version} is the champion; promote another version first")
        _decide(index, version, "rejected", reason, evidence=evidence)
        self._write_index(index)

    def rollback(self, *, by: str | None = None) -> str:
        """Promote the version promoted before the current one; returns it."""
        index = self._read_index()
        if len(index["history"]) < 2:
            raise RegistryError("nothing to roll back to: fewer than two promotions recorded")
        current = index["history"].pop()
        restored = str(index["history"][-1])
        _decide(index, current, "retired", f"rolled back to {restored}", by=by)
        _decide(index, restored, "promoted", f"restored by rollback from {current}", by=by)
        self._write_index(index)
        return restored

    # ---------------------------------------------------------- reading ---

    def promoted_version(self) -> str | None:
        """The champion's version, or None before any version was promoted."""
        history = self._read_index()["history"]
        return str(history[-1]) if history else None

    def newest_version(self) -> str | None:
        """The most recently registered version, whatever its status."""
        versions = self._read_index()["versions"]
        return max(versions, key=lambda v: int(v[1:])) if versions else None

    def status(self, version: str) -> tuple[Status, str]:
        """The status of `version` and the reason recorded with it."""
        index = self._read_index()
        self._require(version, index)
        return _status(index, version)

    def decision(self, version: str) -> dict[str, Any]:
        """The last recorded decision on `version` (empty while it is an undecided candidate)."""
        index = self._read_index()
        self._require(version, index)
        return dict(index.get("decisions", {}).get(version, {}))

    def feature_names_of(self, version: str) -> list[str] | None:
        """The features `version` was trained on; None when it is not in this registry."""
        path = self.root / version / SCHEMA_FILE
        if not path.is_file():
            return None
        return FeatureSchema.model_validate_json(path.read_text(encoding="utf-8")).feature_names

    def list_versions(self) -> list[VersionInfo]:
        index = self._read_index()
        rows = []
        for version in sorted(index["versions"], key=lambda v: int(v[1:])):
            path = self.root / version / METADATA_FILE
            meta = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            primary = meta.get("metrics", {}).get("validation", {}).get("primary", float("nan"))
            created = str(meta.get("created_at", "?"))
            status, reason = _status(index, version)
            rows.append(VersionInfo(version, created, float(primary), status, reason))
        return rows

    def load(self, version: str | None = None) -> LoadedModel:
        """Load `version` (default: the promoted one) after verifying every hash."""
        index = self._read_index()
        version = version or (index["history"][-1] if index["history"] else None)
        if version is None:
            raise RegistryError(_no_champion_message(self.root, index))
        if version not in index["versions"]:
            raise RegistryError(f"unknown model version '{version}'")
        metadata, contents = self._verify(version, index)
        schema = FeatureSchema.model_validate_json(contents[SCHEMA_FILE])
        booster = lgb.Booster(model_str=contents[MODEL_FILE].decode("utf-8"))
        problem = self.config.problem_type.with_decision(metadata.get("decision", {}))
        return LoadedModel(version, self.root / version, schema, metadata, booster, problem)

    # --------------------------------------------------------- internals ---

    def _require(self, version: str, index: dict[str, Any]) -> None:
        if version not in index["versions"]:
            known = ", ".join(sorted(index["versions"])) or "none"
            raise RegistryError(f"unknown model version '{version}' (registered: {known})")

    def _verify(
        self, version: str, index: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        folder = self.root / version
        body = _read_bytes(folder / METADATA_FILE)
        if hashlib.sha256(body).hexdigest() != index["versions"][version]:
            raise TamperedArtifactError(
                f"model {version}: {METADATA_FILE} was changed after the model was saved "
                "(its sha256 differs from models/registry.json); refusing to load it"
            )
        metadata = json.loads(body)
        contents = {}
        for name, expected in metadata["files"].items():
            data = _read_bytes(folder / name)
            if hashlib.sha256(data).hexdigest() != expected:
                raise TamperedArtifactError(
                    f"model {version}: {name} was changed after the model was saved "
                    f"(sha256 mismatch); refusing to load it. Retrain or restore the file."
                )
            contents[name] = data
        return metadata, contents

    def _read_index(self) -> dict[str, Any]:
        path = self.root / INDEX_FILE
        if not path.is_file():
            return {"versions": {}, "history": []}
        try:
            index = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise RegistryError(f"{path} is not valid JSON: {error}") from None
        if not all(VERSION_PATTERN.match(v) for v in index.get("versions", {})):
            raise RegistryError(f"{path} lists a malformed version name")
        return index

    def _write_index(self, index: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temporary = self.root / f".{INDEX_FILE}.tmp"
        temporary.write_text(json.dumps(index, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.root / INDEX_FILE)


def _decide(
    index: dict[str, Any],
    version: str,
    verdict: str,
    reason: str,
    *,
    by: str | None = None,
    forced: bool = False,
    evidence: dict[str, Any] | None = None,
) -> None:
    """Record a decision on `version` in the index (the caller writes the index)."""
    entry: dict[str, Any] = {
        "verdict": verdict,
        "reason": reason,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "by": by or _who(),
    }
    if forced:
        entry["forced"] = True
    previous = index.setdefault("decisions", {}).get(version, {})
    if evidence or previous.get("evidence"):  # retiring a champion keeps why it was promoted
        entry["evidence"] = evidence or previous["evidence"]
    index["decisions"][version] = entry


def _status(index: dict[str, Any], version: str) -> tuple[Status, str]:
    decision = index.get("decisions", {}).get(version, {})
    reason = str(decision.get("reason", ""))
    if index["history"] and index["history"][-1] == version:
        return "champion", reason
    if decision.get("verdict") == "rejected":
        return "rejected", reason
    if decision.get("verdict") in ("promoted", "retired") or version in index["history"]:
        return "retired", reason
    return "candidate", reason


def _no_champion_message(root: Path, index: dict[str, Any]) -> str:
    if not index["versions"]:
        return f"no model is promoted in {root}; run `train` first"
    newest = max(index["versions"], key=lambda v: int(v[1:]))
    status, reason = _status(index, newest)
    because = f": {reason}" if reason else ""
    return (
        f"no model is promoted in {root}: the newest version {newest} is {status}{because}. "
        "See `models list`; `models promote VERSION --force --reason TEXT` overrides the policy"
    )


def _who() -> str:
    """Who made a decision: $USER on a laptop, the CI job's user in CI."""
    return os.environ.get("GITHUB_ACTOR") or os.environ.get("GITLAB_USER_LOGIN") or _login()


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a name
        return "unknown"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise TamperedArtifactError(f"{path} is missing; the model version is incomplete")
    return path.read_bytes()


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in metadata.json")
