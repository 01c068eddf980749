"""`copier update` is safe and boring: from every release to HEAD.

For each release in CHANGELOG.md: generate a project at that release, commit,
make the edits a team typically makes, run the command users run
(`copier update --trust --defaults`), commit, then check that every edit
survived, that no conflict markers appear where the template did not change
the same lines, and that the project's own tests pass. Also: an untouched
project updated equals a fresh copy, and changing an answer on update switches
the generated parts as cleanly as a fresh copy with that answer.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import runpy
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy
from packaging.version import Version

from conftest import STATS, TEMPLATE_ROOT, ProjectEnv, generate, git, run_project_tests
from releases import ReleaseRepo, read_changelog

MARK = "team-edit-7c1e"  # every user edit carries it, so it is easy to find
CONFLICT_START, CONFLICT_MID, CONFLICT_END = (
    "<<<<<<< before updating",
    "=======",
    ">>>>>>> after updating",
)
PROMPT = re.compile(
    r"^\s*(?:[-*>]\s+)?(?:\[ \]\s+)?(?:\*\*|_)?(?:decide|todo|prompt|your call)\b", re.IGNORECASE
)
RELEASES = [r.version for r in read_changelog() if r.commit]
SLOWEST = "update: slowest copier update of one project (s)"
# Where the 0.3.0 migration keeps a team's edited copy of a module that moved.
MOVED_MODULES_DIR = "template-update-0.3.0"

USER_FEATURE = f'''"""Team feature: part of day of an event hour ({MARK})."""


def part_of_day(hour: int) -> str:
    """'night' (0-5), 'day' (6-17) or 'evening' (18-23)."""
    if not 0 <= hour < 24:
        raise ValueError(f"hour must be 0..23, got {{hour}}")
    if hour < 6:
        return "night"
    return "day" if hour < 18 else "evening"
'''

USER_TEST = '''"""Tests of the team's own feature module."""

import pytest

from {package}.user_features import part_of_day


def test_part_of_day_buckets_hours() -> None:
    assert [part_of_day(h) for h in (0, 6, 17, 18, 23)] == [
        "night", "day", "day", "evening", "evening"
    ]


def test_part_of_day_rejects_bad_hours() -> None:
    with pytest.raises(ValueError, match="0..23"):
        part_of_day(24)
'''


@dataclass(frozen=True)
class Edit:
    """One user edit: `line` must be in `path` after the update."""

    name: str
    path: str
    line: str
    old_index: int | None = None  # its line number in the generated file, if it edits one
    content: str | None = None  # the whole file, for files the user added


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "--allow-empty", "-m", message)


def render(repo: ReleaseRepo, destination: Path, ref: str, **answers: Any) -> Path:
    if ref == repo.head_version:
        return generate(repo.path, destination, **answers)
    run_copy(
        str(repo.path),
        destination,
        data=answers,
        defaults=True,
        unsafe=False,
        vcs_ref=ref,
        quiet=True,
        overwrite=True,
    )
    STATS["projects rendered"] += 1
    return destination


def copier_update(project: Path, *args: str) -> tuple[float, str]:
    """Run what a user runs; return the seconds it took and its output."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "u",
            "GIT_AUTHOR_EMAIL": "u@example.com",
            "GIT_COMMITTER_NAME": "u",
            "GIT_COMMITTER_EMAIL": "u@example.com",
        },
    )
    seconds = time.perf_counter() - started
    assert result.returncode == 0, f"copier update failed:\n{result.stdout}\n{result.stderr}"
    STATS["update: copier updates run"] += 1
    STATS[SLOWEST] = max(STATS[SLOWEST], round(seconds, 1))
    return seconds, result.stdout + result.stderr


def crossed_migrations(old: str, new: str) -> list[Any]:
    """Migrations an update from `old` to `new` runs (hooks/migrate.py's discovery)."""
    discover = runpy.run_path(str(TEMPLATE_ROOT / "hooks" / "migrate.py"))["discover"]
    return [m for m in discover() if Version(old) < Version(m.version) <= Version(new)]


def answers_file(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root except .git, with .copier-answers.yml's `_commit` dropped."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if ".git" in path.relative_to(root).parts[:1] or not path.is_file():
            continue
        data = path.read_bytes()
        if relative == ".copier-answers.yml":
            data = b"".join(
                line for line in data.splitlines(keepends=True) if not line.startswith(b"_commit:")
            )
        files[relative] = data
    return files


def assert_same_tree(actual: dict[str, bytes], expected: dict[str, bytes]) -> None:
    assert sorted(actual) == sorted(expected), (
        f"only in updated: {sorted(set(actual) - set(expected))}, "
        f"only in fresh: {sorted(set(expected) - set(actual))}"
    )
    for name in expected:
        if actual[name] != expected[name]:
            diff = difflib.unified_diff(
                expected[name].decode(errors="replace").splitlines(),
                actual[name].decode(errors="replace").splitlines(),
                "fresh",
                "updated",
                lineterm="",
            )
            pytest.fail(f"{name} differs from a fresh copy:\n" + "\n".join(list(diff)[:40]))


def template_touched(old: list[str], new: list[str], index: int) -> bool:
    """Did the template change line `index` (or a neighbour, which merges as a conflict)?"""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return any(
        tag != "equal" and i1 - 1 <= index <= i2 for tag, i1, i2, _, _ in matcher.get_opcodes()
    )


def conflict_blocks(text: str) -> list[tuple[list[str], list[str]]]:
    blocks, ours, theirs, side = [], [], [], None
    for line in text.splitlines():
        if line == CONFLICT_START:
            ours, theirs, side = [], [], "ours"
        elif line == CONFLICT_MID and side == "ours":
            side = "theirs"
        elif line == CONFLICT_END and side == "theirs":
            blocks.append((ours, theirs))
            side = None
        elif side == "ours":
            ours.append(line)
        elif side == "theirs":
            theirs.append(line)
    return blocks


def keep_ours(text: str) -> str:
    """Resolve every conflict block the way a user keeping their edit would."""
    kept, side = [], None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if bare == CONFLICT_START:
            side = "ours"
        elif bare == CONFLICT_MID and side == "ours":
            side = "theirs"
        elif bare == CONFLICT_END and side == "theirs":
            side = None
        elif side != "theirs":
            kept.append(line)
    return "".join(kept)


def files_with_conflicts(project: Path) -> set[str]:
    found = {p.relative_to(project).as_posix() + " (.rej)" for p in project.rglob("*.rej")}
    for path in project.rglob("*"):
        if ".git" in path.relative_to(project).parts or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if CONFLICT_START in text or CONFLICT_END in text:
            found.add(path.relative_to(project).as_posix())
    return found


def edit_line(path: Path, index: int, make: Callable[[str], str]) -> str:
    """Replace line `index` of `path` with make(line); return the new line."""
    lines = path.read_text().splitlines(keepends=True)
    new = make(lines[index].rstrip("\n"))
    lines[index] = new + "\n"
    path.write_text("".join(lines))
    return new


def is_prompt(line: str) -> bool:
    """A line left for a person to fill in: '**Decide:** ...', '- [ ] TODO ...'."""
    return PROMPT.match(line) is not None


def design_doc_line(path: Path) -> int:
    """A prompt line of the design doc, else the problem statement (releases without prompts)."""
    lines = path.read_text().splitlines()
    prompts = [i for i, line in enumerate(lines) if is_prompt(line)]
    if prompts:
        return prompts[0]
    heading = next(i for i, line in enumerate(lines) if line.startswith("## Problem"))
    return next(i for i in range(heading + 1, len(lines)) if lines[i].strip())


def apply_user_edits(project: Path, package: str) -> list[Edit]:
    """The edits a team makes in its first weeks; each is checked after the update."""
    edits = []
    config = project / "configs" / "project.yaml"
    index = next(
        i
        for i, ln in enumerate(config.read_text().splitlines())
        if ln.strip().startswith("num_leaves:")
    )
    line = edit_line(
        config,
        index,
        lambda ln: ln.split("num_leaves:")[0] + f"num_leaves: 15  # {MARK}: tuned by the team",
    )
    edits.append(
        Edit("model parameter in configs/project.yaml", "configs/project.yaml", line, index)
    )
    index = next(
        i
        for i, ln in enumerate(config.read_text().splitlines())
        if re.match(r"^\s+schema(_file)?:", ln)
    )
    line = edit_line(
        config, index, lambda ln: ln.split(":")[0] + f": ./configs/schema.yaml  # {MARK}: our style"
    )
    edits.append(Edit("schema path in configs/project.yaml", "configs/project.yaml", line, index))
    doc = project / "docs" / "design.md"
    index = design_doc_line(doc)
    line = edit_line(doc, index, lambda ln: f"{ln} Team answer ({MARK}): reviewed every quarter.")
    edits.append(Edit("prompt line in docs/design.md", "docs/design.md", line, index))

    local = project / "configs" / "local.yaml"
    local.write_text(config.read_text().replace("seed: 42", "seed: 7", 1))
    edits.append(Edit("team config copy configs/local.yaml", "configs/local.yaml", "  seed: 7"))
    module = project / "src" / package / "user_features.py"
    module.write_text(USER_FEATURE)
    edits.append(
        Edit(
            "feature module",
            module.relative_to(project).as_posix(),
            f'"""Team feature: part of day of an event hour ({MARK})."""',
            content=USER_FEATURE,
        )
    )
    test = project / "tests" / "test_user_features.py"
    test.write_text(USER_TEST.format(package=package))
    edits.append(
        Edit(
            "test file",
            "tests/test_user_features.py",
            f"from {package}.user_features import part_of_day",
            content=USER_TEST.format(package=package),
        )
    )
    baseline = project / "src" / package / "baseline.py"
    if baseline.is_file():  # a module that moves in 0.3.0 (problems/): the migration keeps it
        line = f"# {MARK}: our baseline shrinks rare categories harder"
        baseline.write_text(baseline.read_text() + f"\n{line}\n")
        kept = f"{MOVED_MODULES_DIR}/src/{package}/baseline.py"
        edits.append(Edit("edit in a module that moves", kept, line))
    return edits


def write_old_prediction_log(project: Path, rows: int = 25) -> int:
    """data/predictions.sqlite as releases before 0.3.0 wrote it, with two labels."""
    schema = yaml.safe_load((project / "configs" / "schema.yaml").read_text())
    features = {
        spec["name"]: spec["categories"][0] if spec["kind"] == "categorical" else 1.5
        for spec in schema["features"]
    }
    path = project / "data" / "predictions.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE predictions (id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT "
            "NOT NULL, logged_at TEXT NOT NULL, model_version TEXT NOT NULL, features TEXT NOT "
            "NULL, prediction REAL, source TEXT NOT NULL DEFAULT 'unknown', prediction_id TEXT)"
        )
        connection.executemany(
            "INSERT INTO predictions (request_id, logged_at, model_version, features, "
            "prediction, source, prediction_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(f"r{i}", f"2026-11-{1 + i % 20:02d}T10:00:00.000+00:00", "v0001",
              json.dumps(features), i / rows, "served", f"r{i}-0") for i in range(rows)],
        )  # fmt: skip
        connection.execute(
            "CREATE TABLE labels (prediction_id TEXT PRIMARY KEY, label REAL NOT NULL, "
            "label_time TEXT, ingested_at TEXT NOT NULL, source_file TEXT NOT NULL)"
        )
        connection.execute(
            "INSERT INTO labels VALUES ('r0-0', 1, NULL, '2026-12-01T00:00:00+00:00', 'a.csv'), "
            "('r1-0', 0, NULL, '2026-12-01T00:00:00+00:00', 'a.csv')"
        )
    connection.close()
    return rows


CHECK_CONFIGS = """
import sys
from {package}.config import load_config
for name, seed in (("configs/project.yaml", 42), ("configs/local.yaml", 7)):
    config = load_config(name)
    assert config.model.params["num_leaves"] == 15, (name, config.model.params)
    assert config.model.seed == seed, (name, config.model.seed)
print("configs ok")
"""


def test_changelog_lists_releases_newest_first_with_commit_and_migration_note() -> None:
    releases = read_changelog()
    assert releases, "CHANGELOG.md lists no release"
    versions = [Version(r.version) for r in releases]
    assert versions == sorted(versions, reverse=True) and len(set(versions)) == len(versions)
    assert all(r.commit for r in releases[1:]), "only the newest section may be unreleased"
    text = (TEMPLATE_ROOT / "CHANGELOG.md").read_text()
    for release in releases:
        section = text.split(f"## {release.version} - ", 1)[1].split("\n## ", 1)[0]
        assert "\nMigration: " in section, f"{release.version}: say if a migration runs"
        if release.commit:
            found = subprocess.run(
                ["git", "cat-file", "-t", release.commit],
                cwd=TEMPLATE_ROOT,
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
            assert found == "commit", f"{release.version}: {release.commit} is not a commit here"


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_update_from_release_keeps_user_edits(
    release: str, release_repo: ReleaseRepo, project_env: ProjectEnv, tmp_path: Path
) -> None:
    if release not in release_repo.released:
        pytest.skip(f"{release} is HEAD itself")
    package = "upd_" + release.replace(".", "_")
    answers = {"project_name": f"Update from {release}", "package_name": package}
    project = render(release_repo, tmp_path / "project", release, **answers)
    generated = {
        e: (project / e).read_text().splitlines()
        for e in ("configs/project.yaml", "docs/design.md")
    }
    git(project, "init", "-q", "-b", "main")
    commit_all(project, f"generated at {release}")
    edits = apply_user_edits(project, package)
    commit_all(project, "team edits")
    old_rows = write_old_prediction_log(project)  # git-ignored: the update never sees it

    seconds, output = copier_update(project)
    assert answers_file(project)["_commit"] == release_repo.head_version
    fresh = render(release_repo, tmp_path / "fresh", release_repo.head_version, **answers)

    crossed = crossed_migrations(release, release_repo.head_version)
    moved_edit = any(e.path.startswith(MOVED_MODULES_DIR) for e in edits)
    for migration in crossed:
        # the moved-modules migration has something to keep only where a moved module was
        # edited; the log-folder one only where a config named the log (0.1.0 did not)
        named_log = any("prediction_log:" in line for line in generated["configs/project.yaml"])
        idle = (migration.slug == "moved-modules" and not moved_edit) or (
            migration.slug == "prediction-log-folder" and not named_log
        )
        verb = "nothing to do" if idle else "changed"
        assert f"migrate {migration.label}: {verb}" in output, output[-3000:]
    if any(m.slug == "paths-schema-file" for m in crossed):
        # project.yaml: the merge conflicted on the edited line, the migration resolved it;
        # local.yaml: the team's own copy, renamed by the migration alone.
        for name in ("project.yaml", "local.yaml"):
            text = (project / "configs" / name).read_text()
            assert f"  schema_file: ./configs/schema.yaml  # {MARK}" in text, name
            assert "  schema:" not in text, name

    conflicted = files_with_conflicts(project)
    allowed = set()
    for edit in edits:
        text = (project / edit.path).read_text()
        value = edit.line.split(":", 1)[1] if edit.old_index is not None else edit.line
        assert value in text, f"lost: {edit.name} ({edit.path})"  # a migration may rename keys
        assert edit.content is None or text == edit.content, f"changed: {edit.name}"
        if edit.old_index is not None and template_touched(
            generated[edit.path], (fresh / edit.path).read_text().splitlines(), edit.old_index
        ):
            allowed.add(edit.path)  # the template changed the same lines: a conflict is fair
    assert conflicted <= allowed, (
        f"conflict markers where the template did not touch: {sorted(conflicted - allowed)}"
    )
    for name in conflicted:  # resolve as the user would, keeping their side
        path = project / name
        assert any(MARK in "\n".join(ours) for ours, _ in conflict_blocks(path.read_text()))
        path.write_text(keep_ours(path.read_text()))
    commit_all(project, f"update to {release_repo.head_version}")
    assert git(project, "status", "--porcelain") == ""

    output = run_project_tests(project_env, project, "-rA")
    assert "PASSED tests/test_user_features.py::test_part_of_day_buckets_hours" in output
    checked = project_env.run(project, "python", "-c", CHECK_CONFIGS.format(package=package))
    assert "configs ok" in checked.stdout
    # The old SQLite log is refused until converted, then read whole from the new log.
    refused = project_env.run(project, "python", "-m", package, "log", "stats", check=False)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "log convert" in " ".join(refused.stdout.split()), refused.stdout
    converted = project_env.run(project, "python", "-m", package, "log", "convert")
    assert f"Converted {old_rows} rows and 2 labels" in " ".join(converted.stdout.split())
    stats = project_env.run(project, "python", "-m", package, "log", "stats").stdout
    assert re.search(rf"│ rows\s+│\s+{old_rows} │", stats), stats
    assert (project / "data" / "predictions.sqlite").is_file()  # the old file stays
    STATS["update: tags updated from"] += 1
    STATS["update: user edits verified preserved"] += len(edits)
    print(
        f"update {release} -> {release_repo.head_version}: {seconds:.1f} s, "
        f"{len(edits)} edits kept, conflicts: {sorted(conflicted) or 'none'}"
    )


@pytest.mark.parametrize("release", RELEASES)
def test_untouched_project_updated_equals_fresh_copy(
    release: str, release_repo: ReleaseRepo, tmp_path: Path
) -> None:
    if release not in release_repo.released:
        pytest.skip(f"{release} is HEAD itself")
    answers = {
        "project_name": "Untouched",
        "package_name": "untouched_proj",
        "problem_type": "ranking",
        "serving_mode": "batch",
        "ci_provider": "gitlab",
    }
    project = render(release_repo, tmp_path / "project", release, **answers)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, f"generated at {release}")
    kept_by_design = set(
        yaml.safe_load((release_repo.path / "copier.yml").read_text()).get("_skip_if_exists", [])
    )
    kept_by_design &= set(tree(project))  # files a project keeps once it has them
    _, output = copier_update(project)
    for migration in crossed_migrations(release, release_repo.head_version):
        assert f"migrate {migration.label}: nothing to do" in output  # the merge did it all
    fresh = render(release_repo, tmp_path / "fresh", release_repo.head_version, **answers)
    updated = {k: v for k, v in tree(project).items() if k not in kept_by_design}
    assert_same_tree(updated, {k: v for k, v in tree(fresh).items() if k not in kept_by_design})
    STATS["update: untouched projects equal to a fresh copy"] += 1


def test_a_project_named_by_an_old_default_keeps_its_name_on_update(
    release_repo: ReleaseRepo, tmp_path: Path
) -> None:
    """Defaults now follow the problem type; a recorded name is an answer and stays."""
    if not release_repo.released:
        pytest.skip("no release older than HEAD")
    release = release_repo.released[-1]
    project = render(release_repo, tmp_path / "project", release, problem_type="ranking")
    recorded = answers_file(project)
    git(project, "init", "-q", "-b", "main")
    commit_all(project, f"generated at {release}")
    copier_update(project)
    updated = answers_file(project)
    assert updated["_commit"] == release_repo.head_version
    for key in ("project_name", "project_slug", "package_name", "description"):
        assert updated[key] == recorded[key], key
    assert (project / "src" / recorded["package_name"] / "cli.py").is_file()
    fresh = render(
        release_repo, tmp_path / "fresh", release_repo.head_version, problem_type="ranking"
    )
    assert answers_file(fresh)["project_name"] == "Search Ranking"  # a new project: the new default


@pytest.mark.slow
def test_changing_serving_mode_on_update_switches_generated_parts(
    release_repo: ReleaseRepo, project_env: ProjectEnv, tmp_path: Path
) -> None:
    answers = {
        "project_name": "Switch",
        "package_name": "upd_switch",
        "problem_type": "regression",
        "serving_mode": "online",
    }
    project = render(release_repo, tmp_path / "project", release_repo.head_version, **answers)
    serving = project / "src" / "upd_switch" / "serving"
    had_serving = serving.exists()
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "generated online")
    copier_update(project, "--data", "serving_mode=batch")
    commit_all(project, "switched to batch")

    recorded = answers_file(project)
    assert recorded["serving_mode"] == "batch"
    assert "latency_p99_ms" not in recorded and "batch_schedule" in recorded
    assert had_serving and not serving.exists()
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text())
    assert config["serving"]["mode"] == "batch" and "batch" in config
    fresh = render(
        release_repo,
        tmp_path / "fresh",
        release_repo.head_version,
        **{**answers, "serving_mode": "batch"},
    )
    assert_same_tree(tree(project), tree(fresh))
    output = run_project_tests(project_env, project)
    assert " passed" in output and " failed" not in output
