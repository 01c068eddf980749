"""Known vulnerabilities in the locked dependencies, judged against the team's allow-list.

`make audit` (and the CI audit job) runs pip-audit on every package pinned in
uv.lock, which is exactly what CI and the Docker image install, then this module
decides. It fails on a finding the allow-list does not accept, on an acceptance
past its expiry date, and on any dependency that could not be checked: an audit
that saw nothing must never read as a clean one.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

LOCK_FILE = Path("uv.lock")
ALLOWLIST_FILE = Path("configs") / "audit_allowlist.yaml"
Service = Literal["pypi", "osv"]
Verdict = Literal["accepted", "expired", "unlisted"]


class AuditError(ValueError):
    """The lock file or the allow-list is unusable, or pip-audit could not run."""


@dataclass(frozen=True)
class Allowance:
    """One accepted finding: which, in which package, why, and until when."""

    id: str
    package: str
    reason: str
    expires: date


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fix_versions: tuple[str, ...]
    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True)
class AuditResult:
    """What the audit saw; `passed` only when every dependency was checked and accepted."""

    service: str
    checked_on: date
    dependencies: int
    not_audited: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    unused_allowances: list[Allowance] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.not_audited and all(f.verdict == "accepted" for f in self.findings)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "service": self.service,
            "checked_on": self.checked_on.isoformat(),
            "dependencies": self.dependencies,
            "audited": self.dependencies - len(self.not_audited),
            "not_audited": [{"package": p, "reason": r} for p, r in self.not_audited],
            "findings": [asdict(f) for f in self.findings],
            "unused_allowances": [
                {**asdict(a), "expires": a.expires.isoformat()} for a in self.unused_allowances
            ],
        }


def normalize(name: str) -> str:
    """The PEP 503 form of a distribution name: `Typing_Extensions` == `typing-extensions`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_packages(lock_file: Path) -> list[tuple[str, str]]:
    """Every registry package pinned in uv.lock (all platforms and extras), as (name, version).

    A package can be pinned twice (one version per Python or platform range):
    each version is audited.
    """
    if not lock_file.is_file():
        raise AuditError(
            f"{lock_file} is missing: run `make setup` once to write it, then commit it"
        )
    try:
        lock = tomllib.loads(lock_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise AuditError(f"{lock_file} is not a valid lock file: {error}") from None
    packages = {
        (normalize(entry["name"]), str(entry["version"]))
        for entry in lock.get("package", [])
        if "registry" in entry.get("source", {}) and "version" in entry
    }
    if not packages:
        raise AuditError(f"{lock_file} pins no package from a registry: nothing to audit")
    return sorted(packages)


def read_allowlist(path: Path) -> list[Allowance]:
    """The accepted findings; each needs an id, a package, a reason and an expiry date."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise AuditError(f"{path} is not valid YAML: {error}") from None
    entries = data.get("accepted") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise AuditError(f"{path}: `accepted` must be a list of findings")
    allowances = []
    for number, entry in enumerate(entries, start=1):
        allowances.append(_allowance(entry, f"{path}, entry {number}"))
    return allowances


def _allowance(entry: object, where: str) -> Allowance:
    if not isinstance(entry, dict):
        raise AuditError(f"{where}: expected a mapping with id, package, reason and expires")
    missing = [key for key in ("id", "package", "reason", "expires") if not entry.get(key)]
    if missing:
        raise AuditError(f"{where}: {', '.join(missing)} missing; every acceptance needs all four")
    expires = entry["expires"]
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            expires = None
    if not isinstance(expires, date):
        raise AuditError(f"{where}: expires must be a date like 2027-03-31, not {expires!r}")
    return Allowance(
        id=str(entry["id"]).strip(),
        package=normalize(str(entry["package"])),
        reason=str(entry["reason"]).strip(),
        expires=expires,
    )


def run_pip_audit(
    packages: list[tuple[str, str]], *, service: Service = "pypi", timeout_s: float = 600
) -> dict[str, Any]:
    """pip-audit's JSON report for exactly these pins (no resolution, no pip).

    pip-audit refuses a requirements file that names a package twice, so a
    package pinned at two versions is audited in a second run; the reports
    are merged.
    """
    if importlib.util.find_spec("pip_audit") is None:
        raise AuditError("pip-audit is not installed: `make setup` installs it (dev extra)")
    runs: list[list[tuple[str, str]]] = []
    for name, version in packages:
        free = next((run for run in runs if all(name != n for n, _ in run)), None)
        if free is None:
            free = []
            runs.append(free)
        free.append((name, version))
    merged: dict[str, Any] = {"dependencies": [], "fixes": []}
    for run in runs:
        report = _pip_audit_once(run, service=service, timeout_s=timeout_s)
        merged["dependencies"] += report.get("dependencies", [])
        merged["fixes"] += report.get("fixes", [])
    return merged


def _pip_audit_once(
    packages: list[tuple[str, str]], *, service: Service, timeout_s: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        requirements = Path(folder) / "requirements.txt"
        requirements.write_text("".join(f"{name}=={version}\n" for name, version in packages))
        output = Path(folder) / "report.json"
        command = [
            sys.executable, "-m", "pip_audit", "--requirement", str(requirements),
            "--no-deps", "--disable-pip", "--progress-spinner", "off",
            "--vulnerability-service", service, "--format", "json", "--output", str(output),
        ]  # fmt: skip
        try:
            finished = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise AuditError(f"pip-audit did not finish in {timeout_s:.0f} s") from None
        if not output.is_file() or not output.read_text().strip():
            last = (finished.stderr.strip().splitlines() or ["no output"])[-1]
            raise AuditError(f"pip-audit could not check the dependencies ({service}): {last}")
        report: dict[str, Any] = json.loads(output.read_text())
        return report


def judge(
    report: dict[str, Any],
    locked: list[tuple[str, str]],
    allowances: list[Allowance],
    *,
    service: str = "pypi",
    today: date | None = None,
) -> AuditResult:
    """Sort pip-audit's report into accepted, expired and unlisted findings.

    A locked (package, version) the report does not mention, or mentions with
    a `skip_reason`, counts as not audited, so the audit fails.
    """
    today = today or date.today()
    entries = report.get("dependencies", [])
    audited = {
        (normalize(d["name"]), str(d["version"])): d
        for d in entries
        if "version" in d and "skip_reason" not in d
    }
    skipped = {normalize(d["name"]): str(d["skip_reason"]) for d in entries if "skip_reason" in d}
    not_audited = []
    findings = []
    used: set[Allowance] = set()
    for name, version in locked:
        entry = audited.get((name, version))
        if entry is None:
            reason = skipped.get(name, "not in pip-audit's report")
            not_audited.append((f"{name}=={version}", reason))
            continue
        for vuln in entry.get("vulns", []):
            finding = _finding(name, version, vuln, allowances, today)
            findings.append(finding)
            used.update(a for a in allowances if _matches(a, finding))
    unused = [a for a in allowances if a not in used]
    return AuditResult(
        service=service, checked_on=today, dependencies=len(locked),
        not_audited=not_audited, findings=findings, unused_allowances=unused,
    )  # fmt: skip


def _matches(allowance: Allowance, finding: Finding) -> bool:
    ids = {finding.id.upper(), *(alias.upper() for alias in finding.aliases)}
    return allowance.package == finding.package and allowance.id.upper() in ids


def _finding(
    package: str, version: str, vuln: dict[str, Any], allowances: list[Allowance], today: date
) -> Finding:
    base = Finding(
        package=package,
        version=version,
        id=str(vuln.get("id", "?")),
        aliases=tuple(str(a) for a in vuln.get("aliases", [])),
        fix_versions=tuple(str(v) for v in vuln.get("fix_versions", [])),
        verdict="unlisted",
    )
    matching = [a for a in allowances if _matches(a, base)]
    if not matching:
        return base
    latest = max(matching, key=lambda a: a.expires)
    verdict: Verdict = "accepted" if latest.expires >= today else "expired"
    return replace(base, verdict=verdict, reason=latest.reason)


def audit_project(
    root: Path, *, service: Service = "pypi", today: date | None = None
) -> AuditResult:
    """Audit `root`'s uv.lock against its allow-list (the `audit` command)."""
    locked = locked_packages(root / LOCK_FILE)
    allowances = read_allowlist(root / ALLOWLIST_FILE)
    report = run_pip_audit(locked, service=service)
    return judge(report, locked, allowances, service=service, today=today)


def write_audit_report(result: AuditResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return path
