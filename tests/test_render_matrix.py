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
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import STATS, generate

PROBLEM_TYPES = ("binary_classification", "multiclass_classification", "regression", "ranking")
SERVING_MODES = ("online", "batch")
SCALE_TIERS = ("memory", "out_of_core", "cluster")
MATRIX = list(itertools.product(PROBLEM_TYPES, SERVING_MODES, SCALE_TIERS))
# Operations answers, each flipped once on top of the default project.
OPERATIONS: dict[str, dict[str, Any]] = {
    "gitlab": {"ci_provider": "gitlab"},
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


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    ruff = shutil.which("ruff")
    assert ruff, "ruff must be installed (it is in the template's dependencies)"
    return subprocess.run([ruff, *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def matrix_root(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Render the whole matrix once; the tests below inspect it."""
    root = tmp_path_factory.mktemp("matrix")
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
    return root


def test_matrix_covers_every_combination(matrix_root: Path) -> None:
    rendered = [p for p in matrix_root.iterdir() if p.is_dir()]
    assert len(rendered) == len(MATRIX) + len(OPERATIONS) == 31


def test_every_rendered_file_is_clean(matrix_root: Path) -> None:
    for project in matrix_root.iterdir():
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
    assert (package / "cli.py").read_text().count("def serve(") == int(online)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    deps = " ".join(pyproject["project"]["dependencies"])
    assert ("fastapi" in deps) == online
    assert ("polars" in deps) == (data_scale == "out_of_core")
    assert ("ray" in deps) == (data_scale == "cluster")
    assert "mlflow" not in deps
    # the console script is named after the project slug
    assert pyproject["project"]["scripts"] == {"churn-risk": f"m_{name}.cli:app"}
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

    gitlab = matrix_root / "ops_gitlab"
    assert (gitlab / ".gitlab-ci.yml").is_file() and not (gitlab / ".github").exists()

    no_ci = matrix_root / "ops_no_ci"
    assert not (no_ci / ".github").exists() and not (no_ci / ".gitlab-ci.yml").exists()

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
