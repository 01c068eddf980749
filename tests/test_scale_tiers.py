"""The data-scale answer changes the engine, not just a sentence in the doc.

An out-of-core project (Polars streaming + LightGBM from Parquet row groups) and
a cluster project (Ray Data + Ray Train on a local Ray instance) each pass their
own tests and run the whole pipeline (`run`) from the command line with the gate
passed and no drift, and the registered model says which engine trained it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ProjectEnv, generate, run_project_tests

pytestmark = pytest.mark.slow


def _pipeline(env: ProjectEnv, project: Path, package: str, rows: int) -> dict:
    """`run` (sample, train, evaluate, batch score, drift, doc) in one process, as a user
    would; returns the trained model's metadata."""
    result = env.run(project, "python", "-m", package, "run", "--rows", str(rows), check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "batch score" in result.stdout and "FAILED" not in result.stdout
    evaluation = json.loads((project / "reports" / "evaluation.json").read_text())
    assert evaluation["gate_passed"] is True
    assert json.loads((project / "reports" / "drift.json").read_text())["dataset_drift"] is False
    registry = json.loads((project / "models" / "registry.json").read_text())
    version = registry["history"][-1]
    return json.loads((project / "models" / version / "metadata.json").read_text())


# Per tier: the package name, the engine the model metadata names, the tier's own
# subpackage (the other tier's must be absent), the sample size and the files its
# pipeline leaves behind.
TIERS: dict[str, dict[str, Any]] = {
    "out_of_core": {
        "package": "tier_ooc",
        "engine": "polars",
        "module": "out_of_core",
        "absent": "cluster",
        "rows": 8000,
        "files": ["data/prepared/test.parquet"],  # splits written by Polars streaming
    },
    "cluster": {
        "package": "tier_cluster",
        "engine": "ray",
        "module": "cluster",
        "absent": "out_of_core",
        "rows": 4000,
        "files": ["data/batch_input"],  # the test split written by Ray Data
    },
}


CLUSTER_TEST_FILES = tuple(
    f"tests/{name}.py"
    for name in (
        "test_cluster",  # fits on Ray Train and compares with the single-machine model
        "test_engines",
        "test_evaluate",  # scores the test split on Ray Data, slices and groups included
        "test_batch",
        "test_feature_value",  # reads validation rows through Ray Data
        "test_drift_check",
    )
)


@pytest.mark.timeout(3600)  # the cluster tier's own suite alone can take 15 minutes
@pytest.mark.parametrize("tier", list(TIERS))
def test_tier_project_passes_its_tests_and_runs_the_pipeline(
    tier: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    spec = TIERS[tier]
    package = spec["package"]
    project = generate(
        template_repo,
        tmp_path / tier,
        project_name=f"Tier {tier}",
        package_name=package,
        data_scale=tier,
        serving_mode="batch",
    )
    engines = project / "src" / package / "engines"  # one engine per tier (engines/)
    assert (engines / spec["module"]).is_dir() and not (engines / spec["absent"]).exists()
    # The cluster tier runs the test files that reach its engine (Ray Data reads,
    # Ray Train fits, Ray scoring; the pipeline runs below); its whole suite starts
    # Ray for every training run of the loop's tests and takes about 9 minutes on
    # 2 cores. The loop's logic is the same on every tier, and the memory projects
    # run all of it.
    selected = CLUSTER_TEST_FILES if tier == "cluster" else ()
    output = run_project_tests(project_env, project, *selected, timeout=1500)
    assert " passed" in output and " failed" not in output

    metadata = _pipeline(project_env, project, package, rows=spec["rows"])
    assert metadata["engine"]["name"] == spec["engine"]
    assert list((project / "data" / "sample.parquet").glob("part-*.parquet"))
    for name in spec["files"]:
        assert (project / name).exists(), name


def test_out_of_core_project_has_the_scale_benchmark(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo, tmp_path / "ooc", package_name="tier_ooc_bench", data_scale="out_of_core"
    )
    project_env.install(project)
    help_text = project_env.run(
        project, "python", "-m", "tier_ooc_bench", "bench", "scale", "--help"
    )
    assert "peak RSS" in help_text.stdout
