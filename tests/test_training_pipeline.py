"""Generated projects train and pass their own release gate on the sample data.

For every problem type a project is generated, installed into the shared
environment and driven through its CLI exactly as the README says:
`data sample`, `train`, `evaluate`. The gate must pass at the default
threshold of every primary metric the type offers (the thresholds in
copier.yml's metric_catalog are calibrated against the sample data), and the
model must beat the natural baseline.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import TEMPLATE_ROOT, ProjectEnv, generate

COPIER = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
CATALOG: dict[str, dict[str, Any]] = COPIER["metric_catalog"]["default"]
METRICS: dict[str, list[str]] = COPIER["metric_choices"]["default"]

CASES: dict[str, dict[str, Any]] = {
    "binary_classification": {},
    "multiclass_classification": {"n_classes": 5},
    "regression": {},
    "ranking": {"candidates_per_request": 20, "ranking_k": 5},
}


def _use_metric(project: Path, metric: str, problem_type: str) -> None:
    path = project / "configs" / "project.yaml"
    config = yaml.safe_load(path.read_text())
    config["metric"].update(
        primary=metric,
        direction=CATALOG[metric]["direction"],
        threshold=CATALOG[metric]["default"],
        secondary=[m for m in METRICS[problem_type] if m != metric],
    )
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _describe_sample(env: ProjectEnv, project: Path) -> dict[str, Any]:
    """Rows, distinct labels and query sizes of data/sample.parquet (read inside the env)."""
    script = (
        "import json, pandas as pd, yaml\n"
        "schema = yaml.safe_load(open('configs/schema.yaml'))\n"
        "frame = pd.read_parquet('data/sample.parquet')\n"
        "group = schema.get('group_column')\n"
        "sizes = sorted(set(frame[group].value_counts().tolist())) if group else []\n"
        "print(json.dumps({'rows': len(frame), 'group_sizes': sizes,\n"
        "                  'labels': int(frame[schema['label']['name']].nunique())}))\n"
    )
    return dict(json.loads(env.run(project, "python", "-c", script).stdout))


@pytest.mark.slow
@pytest.mark.parametrize("problem_type", list(CASES))
def test_sample_train_evaluate_passes_the_gate(
    problem_type: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    short = problem_type.split("_")[0]
    answers = {
        "project_name": f"Train {short}",
        "package_name": f"train_{short}",
        "problem_type": problem_type,
        "serving_mode": "batch",
        **CASES[problem_type],
    }
    project = generate(template_repo, tmp_path / short, **answers)
    project_env.install(project)
    cli = f"train-{short}"

    started = time.perf_counter()
    project_env.run(project, cli, "data", "sample")
    trained = project_env.run(project, cli, "train")
    elapsed = time.perf_counter() - started
    assert "v0001" in trained.stdout

    sample = _describe_sample(project_env, project)
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text())
    assert sample["rows"] == pytest.approx(config["data"]["sample_rows"], abs=20)
    if problem_type == "ranking":
        assert sample["group_sizes"] == [20]
    if problem_type == "multiclass_classification":
        assert sample["labels"] == 5
    metadata = json.loads((project / "models" / "v0001" / "metadata.json").read_text())

    for metric in METRICS[problem_type]:
        _use_metric(project, metric, problem_type)
        result = project_env.run(project, cli, "evaluate", check=False)
        report = json.loads((project / "reports" / "evaluation.json").read_text())
        assert report["metric"] == metric
        assert result.returncode == 0 and report["gate_passed"], (metric, report, result.stdout)
        better = (max if CATALOG[metric]["direction"] == "higher" else min)(
            report["value"], report["baseline"]
        )
        assert better == report["value"] != report["baseline"]
        assert report["ci_low"] <= report["value"] <= report["ci_high"]
        print(  # shown with -s: the numbers the closing note asks for
            f"{problem_type}: {sample['rows']} rows, sample+train {elapsed:.1f}s "
            f"(fit {metadata['train_seconds']:.2f}s), {metric} {report['value']:.4f} "
            f"vs baseline {report['baseline']:.4f}, threshold {report['threshold']}"
        )
    assert (project / "reports" / "evaluation.html").is_file()
    assert "Model card" in (project / "docs" / "model_card.md").read_text()


@pytest.mark.slow
def test_gate_failure_exits_non_zero(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo,
        tmp_path / "strict",
        project_name="Train strict",
        package_name="train_strict",
        metric_threshold=0.999,
    )
    project_env.install(project)
    project_env.run(project, "train-strict", "data", "sample", "--rows", "2000")
    project_env.run(project, "train-strict", "train")
    result = project_env.run(project, "train-strict", "evaluate", check=False)
    assert result.returncode == 1
    assert "gate FAILED" in result.stdout
    assert json.loads((project / "reports" / "evaluation.json").read_text())["gate_passed"] is False
