"""The data-scale answer changes the engine, not just a sentence in the doc.

An out-of-core project (Polars streaming + LightGBM from Parquet row groups) and
a cluster project (Ray Data + Ray Train on a local Ray instance) each pass their
own tests and run the whole pipeline (`run`) from the command line with the gate
passed and no drift, and the registered model says which engine trained it.
"""

from __future__ import annotations

import json
from pathlib import Path

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


def test_out_of_core_project_streams_partitioned_parquet(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo,
        tmp_path / "ooc",
        project_name="Tier out of core",
        package_name="tier_ooc",
        data_scale="out_of_core",
        serving_mode="batch",
    )
    assert (project / "src" / "tier_ooc" / "out_of_core" / "tables.py").is_file()
    assert not (project / "src" / "tier_ooc" / "cluster").exists()
    output = run_project_tests(project_env, project)
    assert " passed" in output and " failed" not in output

    metadata = _pipeline(project_env, project, "tier_ooc", rows=8000)
    assert metadata["engine"]["name"] == "polars"
    assert len(list((project / "data" / "sample.parquet").glob("part-*.parquet"))) >= 1
    assert (project / "data" / "prepared" / "test.parquet").is_file()
    help_text = project_env.run(project, "python", "-m", "tier_ooc", "bench", "scale", "--help")
    assert "peak RSS" in help_text.stdout


def test_cluster_project_trains_on_a_local_ray_instance(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo,
        tmp_path / "cluster",
        project_name="Tier cluster",
        package_name="tier_cluster",
        data_scale="cluster",
        serving_mode="batch",
    )
    assert (project / "src" / "tier_cluster" / "cluster" / "train.py").is_file()
    assert not (project / "src" / "tier_cluster" / "out_of_core").exists()
    output = run_project_tests(project_env, project)
    assert " passed" in output and " failed" not in output

    metadata = _pipeline(project_env, project, "tier_cluster", rows=4000)
    assert metadata["engine"]["name"] == "ray"
    assert metadata["engine"]["ray_workers"] >= 1
