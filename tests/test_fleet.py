"""The fleet tool reports each project's version, lag, answers and local changes.

Two projects from the release repo: one generated at the oldest release and
then edited (one template file changed, one deleted, one own file added), one
generated at HEAD and left alone. The tool runs as users run it,
`python -m tools.fleet status ...`, from the template repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

from conftest import STATS, TEMPLATE_ROOT, generate, git
from releases import ReleaseRepo


def fleet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.fleet", "status", *args],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def committed_project(repo: ReleaseRepo, destination: Path, ref: str, **answers: Any) -> Path:
    if ref == repo.head_version:
        generate(repo.path, destination, **answers)
    else:
        run_copy(
            str(repo.path),
            destination,
            data=answers,
            defaults=True,
            unsafe=False,
            vcs_ref=ref,
            quiet=True,
        )
        STATS["projects rendered"] += 1
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", f"generated at {ref}")
    return destination


@pytest.fixture(scope="module")
def fleet_projects(
    release_repo: ReleaseRepo, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("fleet")
    oldest = release_repo.released[0] if release_repo.released else release_repo.head_version
    old = committed_project(
        release_repo,
        root / "old",
        oldest,
        project_name="Old One",
        package_name="fleet_old",
        problem_type="regression",
    )
    with (old / "README.md").open("a") as readme:
        readme.write("\nOur on-call rota lives in the wiki.\n")
    (old / ".pre-commit-config.yaml").unlink()
    (old / "NOTES.md").write_text("our own file, not the template's\n")
    git(old, "add", "-A")
    git(old, "commit", "-q", "-m", "team edits")
    new = committed_project(
        release_repo,
        root / "new",
        release_repo.head_version,
        project_name="New One",
        package_name="fleet_new",
        serving_mode="batch",
    )
    stray = root / "stray"
    stray.mkdir()
    return {"old": old, "new": new, "stray": stray, "oldest": oldest}


def test_json_reports_version_lag_answers_and_local_changes(
    fleet_projects: dict[str, Any], release_repo: ReleaseRepo
) -> None:
    result = fleet(str(fleet_projects["old"]), str(fleet_projects["new"]), "--json")
    assert result.returncode == 0, result.stderr
    old, new = json.loads(result.stdout)
    oldest = fleet_projects["oldest"]

    assert old["version"] == oldest and new["version"] == release_repo.head_version
    assert old["latest"] == new["latest"] == release_repo.head_version
    assert old["behind"] == release_repo.behind(oldest) and new["behind"] == 0
    assert old["update_available"] is (release_repo.behind(oldest) > 0)
    assert new["update_available"] is False
    assert old["answers"]["problem_type"] == "regression"
    assert old["answers"]["primary_metric"] == "rmse"
    assert new["answers"]["serving_mode"] == "batch"
    assert old["local_changes"] == ["deleted .pre-commit-config.yaml", "modified README.md"]
    assert new["local_changes"] == []
    assert old["errors"] == new["errors"] == []


def test_table_shows_every_project_and_flags_a_folder_that_is_not_one(
    fleet_projects: dict[str, Any], release_repo: ReleaseRepo
) -> None:
    paths = [str(fleet_projects[name]) for name in ("old", "new", "stray")]
    result = fleet(*paths, "--no-diff")
    assert result.returncode == 1  # the stray folder is an error, reported in the table
    for expected in (
        "Old One",
        "New One",
        release_repo.head_version,
        "not checked",
        "no .copier-answers.yml",
    ):
        assert expected in result.stdout, expected
