"""Generated code is product code: mypy passes on it with the project's own settings.

mypy runs from the shared environment, where every dependency a generated
project can need is installed, so third-party types are checked too. The
answer sets cover every optional module: the HTTP service, ranking, the
out-of-core and cluster engines, MLflow tracking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import STATS, ProjectEnv, generate

VARIANTS: dict[str, dict[str, Any]] = {
    "binary_online": {},
    "ranking_online": {"problem_type": "ranking"},
    "multiclass_ooc_mlflow": {
        "problem_type": "multiclass_classification",
        "data_scale": "out_of_core",
        "experiment_tracking": "mlflow",
        "serving_mode": "batch",
    },
    "regression_cluster": {
        "problem_type": "regression",
        "data_scale": "cluster",
        "serving_mode": "batch",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_mypy_passes_on_the_generated_package(
    name: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo, tmp_path / name, package_name=f"typed_{name}", **VARIANTS[name]
    )
    result = project_env.run(project, "mypy", check=False)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "Success: no issues found" in result.stdout
    STATS["generated projects type-checked with mypy"] += 1
