"""Fleet status: how far each project made from this template is from its latest release.

A team that uses the template as its standard needs to see, across all its
projects, which are behind, what they chose, and where they diverged from the
template's files before it runs `copier update`:

    python -m tools.fleet status ../churn ../ranking ../eta
    python -m tools.fleet status ../* --json > fleet.json

Per project: the template version it was last generated or updated at
(`_commit` in .copier-answers.yml), the newest release among the template's
PEP 440 tags and how many releases it is behind, a summary of its answers,
what `copier check-update` says, and the template-owned files changed locally
(found by rendering the template at the recorded commit with the recorded
answers into a temporary folder and comparing).
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from packaging.version import InvalidVersion, Version
from rich.console import Console
from rich.table import Table

ANSWERS_FILE = ".copier-answers.yml"
SUMMARY_KEYS = (
    "project_name",
    "problem_type",
    "primary_metric",
    "metric_threshold",
    "serving_mode",
    "data_scale",
    "ci_provider",
)
SHORTCUTS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
DESCRIBED = re.compile(r"^(?P<base>.+)-(?P<count>\d+)-g(?P<hash>[0-9a-f]+)$")

app = typer.Typer(
    help="Status of the projects generated from this template.",
    no_args_is_help=True,
    add_completion=False,
)


@dataclass
class ProjectStatus:
    path: str
    template: str | None = None
    version: str | None = None
    latest: str | None = None
    behind: int | None = None
    update_available: bool | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    local_changes: list[str] | None = None
    errors: list[str] = field(default_factory=list)


def read_answers(project: Path) -> dict[str, Any]:
    path = project / ANSWERS_FILE
    if not path.is_file():
        raise ValueError(f"no {ANSWERS_FILE}: not generated from a Copier template")
    answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(answers, dict) or "_src_path" not in answers:
        raise ValueError(f"{ANSWERS_FILE} has no _src_path")
    return answers


def as_version(commit: str) -> Version | None:
    """'0.1.0' -> 0.1.0; git describe '0.1.0-3-gabc123' -> 0.1.0.post3 (as Copier does)."""
    if match := DESCRIBED.match(commit):
        commit = f"{match['base']}.post{match['count']}"
    try:
        return Version(commit)
    except InvalidVersion:
        return None


def git_url(src_path: str) -> str:
    for short, full in SHORTCUTS.items():
        if src_path.startswith(short):
            return full + src_path.removeprefix(short)
    return src_path


def release_tags(src_path: str) -> list[Version]:
    """The template's releases: its PEP 440 tags, pre-releases excluded, oldest first."""
    result = subprocess.run(
        ["git", "ls-remote", "--tags", git_url(src_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise ValueError(f"cannot list the tags of {src_path}: {result.stderr.strip()}")
    versions = set()
    for line in result.stdout.splitlines():
        name = line.split("refs/tags/", 1)[-1].removesuffix("^{}")
        version = as_version(name)
        if version is not None and not version.is_prerelease:
            versions.add(version)
    return sorted(versions)


def check_update(project: Path) -> bool:
    """Ask `copier check-update` (needs the project to be a git repository)."""
    result = subprocess.run(
        [sys.executable, "-m", "copier", "check-update", "--output-format", "json", str(project)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        raise ValueError(f"copier check-update failed: {result.stderr.strip()[-300:]}")
    return bool(json.loads(result.stdout)["update_available"])


def local_changes(project: Path, answers: dict[str, Any]) -> list[str]:
    """Template-owned files that differ from a fresh render at the recorded commit."""
    from copier import run_copy  # imported here: slow, and only needed for this check

    data = {k: v for k, v in answers.items() if not k.startswith("_")}
    with tempfile.TemporaryDirectory(prefix="fleet-render-") as scratch:
        fresh = Path(scratch) / "project"
        worker = run_copy(
            answers["_src_path"],
            fresh,
            data=data,
            defaults=True,
            unsafe=False,
            vcs_ref=answers.get("_commit"),
            quiet=True,
        )
        kept = tuple(worker.template.skip_if_exists)  # seeded once, then the project's own
        changes = []
        for path in sorted(p for p in fresh.rglob("*") if p.is_file()):
            name = path.relative_to(fresh).as_posix()
            if name == ANSWERS_FILE or any(fnmatch.fnmatch(name, pattern) for pattern in kept):
                continue
            mine = project / name
            if not mine.is_file():
                changes.append(f"deleted {name}")
            elif mine.read_bytes() != path.read_bytes():
                changes.append(f"modified {name}")
        return changes


def project_status(project: Path, *, diff: bool = True) -> ProjectStatus:
    status = ProjectStatus(path=str(project))
    try:
        answers = read_answers(project)
    except ValueError as error:
        status.errors.append(str(error))
        return status
    status.template = str(answers["_src_path"])
    status.version = str(answers.get("_commit")) if answers.get("_commit") else None
    status.answers = {k: answers[k] for k in SUMMARY_KEYS if k in answers}
    try:
        releases = release_tags(status.template)
        current = as_version(status.version or "")
        if releases:
            status.latest = str(releases[-1])
        if current is not None:
            status.behind = sum(1 for release in releases if release > current)
        else:
            status.errors.append(f"version {status.version!r} is not a PEP 440 release")
    except ValueError as error:
        status.errors.append(str(error))
    try:
        status.update_available = check_update(project)
    except (ValueError, subprocess.TimeoutExpired) as error:
        status.errors.append(str(error))
    if diff:
        try:
            status.local_changes = local_changes(project, answers)
        except Exception as error:  # any render failure is reported, not fatal
            status.errors.append(f"cannot render the template at {status.version}: {error}")
    return status


def render_table(statuses: list[ProjectStatus], console: Console) -> None:
    table = Table(title="Projects made from the ML system template")
    for column in ("project", "version", "latest", "behind", "update", "answers", "local changes"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        update = "?" if s.update_available is None else ("yes" if s.update_available else "no")
        changes = "not checked"
        if s.local_changes is not None:
            changes = "\n".join(s.local_changes) or "none"
        summary = ", ".join(f"{k}={v}" for k, v in s.answers.items() if k != "project_name")
        name = s.answers.get("project_name", Path(s.path).name)
        if s.errors:
            changes += "\n[red]" + "\n".join(s.errors) + "[/red]"
        table.add_row(
            f"{name}\n{s.path}",
            s.version or "?",
            s.latest or "?",
            "?" if s.behind is None else str(s.behind),
            update,
            summary,
            changes,
        )
    console.print(table)


@app.callback()
def main() -> None:
    """Fleet tools for projects generated from this template."""


@app.command()
def status(
    projects: Annotated[
        list[Path], typer.Argument(help="project folders", exists=True, file_okay=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
    diff: Annotated[bool, typer.Option(help="render each project to find local changes")] = True,
) -> None:
    """Per project: version, releases behind, answers, update available, local changes."""
    statuses = [project_status(p.resolve(), diff=diff) for p in projects]
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in statuses], indent=2, default=str))
    else:
        render_table(statuses, Console(width=160))
    if any(s.errors for s in statuses):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
