"""Team defaults: `copier copy --data-file examples/team.yml` applies a team's choices.

Runs the command a team runs (the copier CLI, no --trust) and checks that the
file's answers reach the generated files, that `-d` still wins per project, and
that the thresholds policy follows each project's own primary metric.
"""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import STATS, TEMPLATE_ROOT, copier_copy_cli

TEAM_FILE = TEMPLATE_ROOT / "examples" / "team.yml"
TEAM: dict[str, Any] = yaml.safe_load(TEAM_FILE.read_text())
CATALOG: dict[str, Any] = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())[
    "metric_catalog"
]["default"]


def copy_with(
    template: Path, destination: Path, data_file: Path, *data: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    args = [arg for item in data for arg in ("-d", item)]
    result = copier_copy_cli(template, destination, "--data-file", str(data_file), *args)
    if check:
        assert result.returncode == 0, result.stderr
        STATS["projects rendered"] += 1
    return result


def recorded(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def test_example_team_file_is_documented_and_uses_only_known_keys() -> None:
    questions = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    assert set(TEAM) <= {key for key in questions if not key.startswith("_")}
    assert set(TEAM["metric_thresholds"]) <= set(CATALOG)
    text = TEAM_FILE.read_text()
    assert "copier copy --data-file team.yml" in text and "metric_thresholds" in text


def test_team_file_answers_reach_the_project(template_repo: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    copy_with(template_repo, project, TEAM_FILE, "package_name=team_default")
    answers = recorded(project)
    for key in (
        "author_name",
        "author_email",
        "license",
        "python_version",
        "ci_provider",
        "docker",
        "experiment_tracking",
    ):
        assert answers[key] == TEAM[key], key
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["requires-python"] == f">={TEAM['python_version']}"
    assert TEAM["license"] in str(pyproject["license"])
    assert (project / ".gitlab-ci.yml").is_file() is (TEAM["ci_provider"] == "gitlab")
    assert (project / ".github").exists() is (TEAM["ci_provider"] == "github")
    assert (project / "Dockerfile").is_file() is TEAM["docker"]
    # Binary classification by default: the policy's roc_auc threshold applies.
    metric = answers["primary_metric"]
    assert answers["metric_threshold"] == pytest.approx(TEAM["metric_thresholds"][metric])
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text())
    assert config["metric"]["threshold"] == pytest.approx(TEAM["metric_thresholds"][metric])
    assert "metric_thresholds" not in answers  # a policy input, not a project answer


@pytest.mark.parametrize(
    ("overrides", "metric"),
    [
        (("problem_type=regression", "license=MIT"), "rmse"),
        (("problem_type=ranking", "primary_metric=mrr"), "mrr"),
        (("problem_type=binary_classification", "primary_metric=log_loss"), "log_loss"),
    ],
)
def test_command_line_wins_and_thresholds_follow_the_metric(
    template_repo: Path, tmp_path: Path, overrides: tuple[str, ...], metric: str
) -> None:
    project = tmp_path / "p"
    copy_with(template_repo, project, TEAM_FILE, "package_name=team_override", *overrides)
    answers = recorded(project)
    assert answers["primary_metric"] == metric
    policy = TEAM["metric_thresholds"]
    expected = policy.get(metric, CATALOG[metric]["default"])  # log_loss: not in the policy
    assert answers["metric_threshold"] == pytest.approx(expected)
    if "license=MIT" in overrides:
        assert answers["license"] == "MIT" and answers["ci_provider"] == TEAM["ci_provider"]


def test_out_of_range_team_threshold_is_refused_and_nothing_written(
    template_repo: Path, tmp_path: Path
) -> None:
    team = tmp_path / "team.yml"
    team.write_text(yaml.safe_dump({**TEAM, "metric_thresholds": {"roc_auc": 1.5}}))
    result = copy_with(template_repo, tmp_path / "p", team, "package_name=team_bad", check=False)
    assert result.returncode != 0
    assert "A threshold of 1.5 is outside the range of roc_auc" in result.stderr
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_flat_metric_threshold_in_a_team_file_overrides_every_metric(
    template_repo: Path, tmp_path: Path
) -> None:
    """The documented pitfall `metric_thresholds` exists for: a flat value is not per metric."""
    team = tmp_path / "team.yml"
    team.write_text(yaml.safe_dump({"metric_threshold": 0.8}))
    project = tmp_path / "p"
    copy_with(template_repo, project, team, "package_name=team_flat", "problem_type=regression")
    answers = recorded(project)
    assert answers["primary_metric"] == "rmse" and answers["metric_threshold"] == 0.8
