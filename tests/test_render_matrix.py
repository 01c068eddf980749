"""Every problem type x serving mode x scale tier renders into a clean project.

Clean means: no leftover Jinja, every TOML/YAML file parses, every Python file
compiles, ruff (lint and format) passes on the whole output, and files are
present or absent as the answers say.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import PROBLEM_TYPES, STATS, built_once, generate

# The default project slug (and command name) of each problem type.
DEFAULT_SLUGS = {
    "binary_classification": "churn-risk",
    "multiclass_classification": "ticket-routing",
    "regression": "delivery-time",
    "ranking": "search-ranking",
    "anomaly_detection": "sensor-watch",
    "forecasting": "demand-forecast",
}
SERVING_MODES = ("online", "batch")
SCALE_TIERS = ("memory", "out_of_core", "cluster")
MATRIX = list(itertools.product(PROBLEM_TYPES, SERVING_MODES, SCALE_TIERS))
# Operations answers, each flipped once on top of the default project.
OPERATIONS: dict[str, dict[str, Any]] = {
    "gitlab": {"ci_provider": "gitlab"},
    "gitlab_batch": {"ci_provider": "gitlab", "serving_mode": "batch"},
    "no_ci": {"ci_provider": "none"},
    "no_docker": {"docker": False},
    "mlflow": {"experiment_tracking": "mlflow"},
    "python313": {"python_version": "3.13"},
    "apache": {"license": "Apache-2.0"},
    # the longest names the validators allow: generated lines must still fit ruff's limit
    "long_names": {
        "project_name": "Quarterly Enterprise Customer Retention Risk Scoring",
        "package_name": "ops_long_names_" + "x" * 15,
    },
}
# Jinja that survived rendering: an expression ({{ name }}, {{ name | filter }}),
# a statement tag ({% if ... %}) or a comment ({# ... #}). Python's own `{x:.0%}`
# and CSS braces doubled inside f-strings (`{{ margin: 0 }}`) are not Jinja.
LEFTOVER_JINJA = re.compile(
    r"(?<!\$)\{\{-?\s*[A-Za-z_][\w.]*\s*(\||\}\}|\[|\()"
    r"|\{%-?\s*(if|elif|else|endif|for|endfor|set|include|import|from|macro|endmacro|raw)\b"
    r"|\{#[^}]*#\}"
)


def _files(project: Path) -> list[Path]:
    return [p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts]


def assert_clean_render(project: Path) -> None:
    """The checks every rendered project must pass, whatever the answers."""
    for path in _files(project):
        text = path.read_text(encoding="utf-8")
        assert not LEFTOVER_JINJA.search(text), f"leftover Jinja in {path}"
        assert not path.name.endswith(".jinja"), f"unrendered template file {path}"
        if path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(text))
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".py":
            compile(text, str(path), "exec")


def _tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} must be installed (it is in the template's dependencies)"
    return subprocess.run([found, *args], capture_output=True, text=True)


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff")
    assert ruff, "ruff must be installed (it is in the template's dependencies)"
    return subprocess.run([ruff, *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def matrix_root(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Render the whole matrix once per test run (shared by xdist workers); tests inspect it."""
    return built_once(tmp_path_factory, "matrix", lambda root: _render_matrix(template_repo, root))


def _render_matrix(template_repo: Path, root: Path) -> None:
    for problem_type, serving_mode, data_scale in MATRIX:
        name = f"{problem_type[:5]}_{serving_mode}_{data_scale}"
        generate(
            template_repo,
            root / name,
            problem_type=problem_type,
            serving_mode=serving_mode,
            data_scale=data_scale,
            package_name=f"m_{name}",
        )
        STATS["answer combinations rendered"] += 1
    for name, answers in OPERATIONS.items():
        generate(template_repo, root / f"ops_{name}", **{"package_name": f"ops_{name}", **answers})
        STATS["answer combinations rendered"] += 1


def test_matrix_covers_every_combination(matrix_root: Path) -> None:
    rendered = [p for p in matrix_root.iterdir() if p.is_dir()]  # .complete is a file
    assert len(rendered) == len(MATRIX) + len(OPERATIONS) == 44


def test_every_rendered_file_is_clean(matrix_root: Path) -> None:
    for project in (p for p in matrix_root.iterdir() if p.is_dir()):
        assert_clean_render(project)


def test_ruff_lint_passes_on_every_project(matrix_root: Path) -> None:
    result = _ruff("check", "--no-cache", str(matrix_root))
    assert result.returncode == 0, result.stdout[-6000:]


def test_ruff_format_leaves_no_diff(matrix_root: Path) -> None:
    result = _ruff("format", "--check", "--no-cache", str(matrix_root))
    assert result.returncode == 0, result.stdout[-6000:]


@pytest.mark.parametrize(("problem_type", "serving_mode", "data_scale"), MATRIX)
def test_files_follow_the_answers(
    matrix_root: Path, problem_type: str, serving_mode: str, data_scale: str
) -> None:
    name = f"{problem_type[:5]}_{serving_mode}_{data_scale}"
    project = matrix_root / name
    package = project / "src" / f"m_{name}"
    online = serving_mode == "online"
    assert (package / "serving").is_dir() == online
    assert (package / "bench" / "latency.py").is_file() == online
    assert (package / "bench" / "scale.py").is_file() == (data_scale == "out_of_core")
    assert (package / "cli.py").read_text().count("def serve(") == int(online)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    deps = " ".join(pyproject["project"]["dependencies"])
    assert ("fastapi" in deps) == online
    assert ("polars" in deps) == (data_scale == "out_of_core")
    assert ("ray" in deps) == (data_scale == "cluster")
    assert "mlflow" not in deps
    # the console script is named after the project slug, which defaults per problem type
    assert pyproject["project"]["scripts"] == {DEFAULT_SLUGS[problem_type]: f"m_{name}.cli:main"}
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text())
    assert config["problem"]["type"] == problem_type
    assert config["serving"]["mode"] == serving_mode
    assert (
        config["data"]["engine"]
        == {"memory": "pandas", "out_of_core": "polars", "cluster": "ray"}[data_scale]
    )
    assert ("latency_p99_ms" in config["serving"]) == online
    assert ("batch" in config) == (not online)
    schema = yaml.safe_load((project / "configs" / "schema.yaml").read_text())
    assert ("group_column" in schema) == (problem_type == "ranking")


def test_operations_answers_switch_files(matrix_root: Path) -> None:
    default_like = matrix_root / "ops_apache"
    assert (default_like / ".github" / "workflows" / "ci.yml").is_file()
    assert (default_like / "Dockerfile").is_file()
    assert not (default_like / ".gitlab-ci.yml").exists()

    assert (default_like / ".github" / "dependabot.yml").is_file()
    gitlab = matrix_root / "ops_gitlab"
    assert (gitlab / ".gitlab-ci.yml").is_file() and not (gitlab / ".github").exists()
    assert (gitlab / "renovate.json").is_file()

    no_ci = matrix_root / "ops_no_ci"
    assert not (no_ci / ".github").exists() and not (no_ci / ".gitlab-ci.yml").exists()
    assert not (no_ci / "renovate.json").exists()

    assert not (matrix_root / "ops_no_docker" / "Dockerfile").exists()

    mlflow = tomllib.loads((matrix_root / "ops_mlflow" / "pyproject.toml").read_text())
    assert any("mlflow" in dep for dep in mlflow["project"]["dependencies"])


def test_python_version_agrees_everywhere(matrix_root: Path) -> None:
    project = matrix_root / "ops_python313"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.13"
    assert pyproject["tool"]["ruff"]["target-version"] == "py313"
    assert pyproject["tool"]["mypy"]["python_version"] == "3.13"
    assert 'python-version: "3.13"' in (project / ".github/workflows/ci.yml").read_text()
    assert "FROM python:3.13-slim" in (project / "Dockerfile").read_text()


def test_license_reaches_pyproject(matrix_root: Path) -> None:
    pyproject = tomllib.loads((matrix_root / "ops_apache" / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == {"text": "Apache-2.0"}


def test_hadolint_passes_on_every_dockerfile(matrix_root: Path) -> None:
    dockerfiles = sorted(matrix_root.glob("*/Dockerfile"))
    assert len(dockerfiles) >= 30
    for dockerfile in dockerfiles:
        result = _tool("hadolint", "--no-color", str(dockerfile))
        assert result.returncode == 0, f"{dockerfile}:\n{result.stdout}{result.stderr}"


def test_actionlint_and_the_workflow_schema_pass_on_every_github_workflow(
    matrix_root: Path,
) -> None:
    workflows = sorted(matrix_root.glob("*/.github/workflows/*.yml"))
    assert len(workflows) >= 50
    result = _tool("actionlint", "-no-color", *map(str, workflows))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    schema = _tool(
        "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, workflows)
    )
    assert schema.returncode == 0, schema.stdout[-6000:]


def test_every_dependency_bot_config_matches_its_schema(matrix_root: Path) -> None:
    bots = (("dependabot", "*/.github/dependabot.yml"), ("renovate", "*/renovate.json"))
    for name, pattern in bots:
        files = sorted(matrix_root.glob(pattern))
        assert files, pattern
        result = _tool("check-jsonschema", "--builtin-schema", f"vendor.{name}", *map(str, files))
        assert result.returncode == 0, result.stdout[-6000:]


def test_every_gitlab_pipeline_matches_gitlabs_schema(matrix_root: Path) -> None:
    pipelines = sorted(matrix_root.glob("*/.gitlab-ci.yml"))
    assert len(pipelines) == 2
    result = _tool("check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *map(str, pipelines))
    assert result.returncode == 0, result.stdout[-6000:]


def _steps_before_the_venv(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The steps of a job up to the first one that runs something from .venv/."""
    for index, step in enumerate(steps):
        if ".venv/" in str(step.get("run", "")) or re.search(
            r"\bmake (lint|test|run|drift|bench|audit)\b", str(step.get("run", ""))
        ):
            return steps[:index]
    return steps


def test_every_github_job_sets_up_before_it_uses_the_venv(matrix_root: Path) -> None:
    """Setup runs unconditionally, even once a real model registry is in the job."""
    for workflow_file in sorted(matrix_root.glob("*/.github/workflows/*.yml")):
        workflow = yaml.safe_load(workflow_file.read_text())
        scheduled = "schedule" in workflow[True]  # YAML reads `on:` as True
        for name, job in workflow["jobs"].items():
            before = _steps_before_the_venv(job["steps"])
            setup = [s for s in before if s.get("run") == "make setup" and "if" not in s]
            assert setup, f"{workflow_file} job {name}: no unconditional `make setup` first"
            uses = [s["uses"] for s in job["steps"] if "uses" in s]
            assert all(re.search(r"@v(\d+)$", u) and int(u.rsplit("@v", 1)[1]) >= 7
                       for u in uses), uses  # fmt: skip
            if scheduled and job.get("if", "") != "github.event_name != 'schedule'":
                group = job.get("concurrency") or workflow.get("concurrency")
                assert group and group["cancel-in-progress"] in (False, "false"), (
                    f"{workflow_file} job {name} can overlap the previous scheduled run"
                )


def test_gitlab_sets_up_first_and_scheduled_jobs_never_overlap(matrix_root: Path) -> None:
    for pipeline_file in sorted(matrix_root.glob("*/.gitlab-ci.yml")):
        pipeline = yaml.safe_load(pipeline_file.read_text())
        assert pipeline["before_script"][-1] == "make setup"
        for name, job in pipeline.items():
            if not isinstance(job, dict) or "script" not in job:
                continue
            if any("schedule\"" in str(rule.get("if")) and "==" in str(rule.get("if"))
                   for rule in job.get("rules", [])):  # fmt: skip
                assert job.get("resource_group"), f"{pipeline_file} job {name} can overlap"


@pytest.mark.slow
def test_the_pre_commit_ruff_is_the_ruff_make_lint_installs(
    matrix_root: Path, project_env: Any
) -> None:
    """One ruff version for the hook and `make lint`, and that exact version is clean."""
    project = matrix_root / "ops_apache"
    hook = yaml.safe_load((project / ".pre-commit-config.yaml").read_text())["repos"][0]
    assert hook["repo"].endswith("/ruff-pre-commit")
    pinned = hook["rev"].removeprefix("v")
    dev = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert f"ruff=={pinned}" in dev["optional-dependencies"]["dev"]
    ruff = str(project_env.bin / "ruff")
    version = subprocess.run([ruff, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[1] == pinned
    for args in (("check", "--no-cache"), ("format", "--check", "--no-cache")):
        result = subprocess.run([ruff, *args, str(matrix_root)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-6000:]
