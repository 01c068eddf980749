"""The heart of the suite: generated projects install, pass their own tests and run.

Each representative answer set is rendered, installed into the shared cached
environment and made to run its own pytest suite and its main CLI commands.
The suite fails when a generated project is broken, not just when it fails to
render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import ProjectEnv, generate, run_project_tests

# Each problem type and each serving mode at least once; names become package
# names so that projects never collide in the shared environment.
REPRESENTATIVE: dict[str, dict[str, Any]] = {
    "binary_online": {"problem_type": "binary_classification", "serving_mode": "online"},
    "multiclass_batch": {"problem_type": "multiclass_classification", "serving_mode": "batch"},
    "regression_online": {"problem_type": "regression", "serving_mode": "online"},
    "ranking_online": {"problem_type": "ranking", "serving_mode": "online"},
    # online, and without labels: serving, the Isolation Forest and the unjudged gate
    "anomaly_online": {
        "problem_type": "anomaly_detection",
        "serving_mode": "online",
        "labels_available": "none",
    },
    # online: /forecast next to /predict; `forecast` (batch) runs in its own tests too
    "forecasting_online": {"problem_type": "forecasting", "serving_mode": "online"},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REPRESENTATIVE))
def test_generated_project_passes_its_own_tests(
    name: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    answers = {"project_name": f"Gen {name}", "package_name": f"gen_{name}", **REPRESENTATIVE[name]}
    project = generate(template_repo, tmp_path / name, **answers)
    output = run_project_tests(project_env, project)
    assert " passed" in output and " failed" not in output
    if REPRESENTATIVE[name]["serving_mode"] == "online":  # the real-server tests ran
        skipped = [line for line in output.splitlines() if line.startswith("SKIPPED")]
        assert not [line for line in skipped if "test_bench_latency" in line], skipped

    info = project_env.run(project, f"gen-{name.replace('_', '-')}", "info")
    assert answers["problem_type"] in info.stdout
