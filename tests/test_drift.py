"""The generated project's drift monitor, run the way a team runs it.

A generated project makes sample data, trains, then runs `monitor drift` on
its own data (schema columns, the model's stored reference) and on two
Parquet files (judged on the schema's features; the label and the time column
are ignored, a file without the features is an error). The report keys are the
public contract in PRODUCT.md; exit codes are what schedulers alert on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ProjectEnv, generate

REPORT_KEYS = {"columns", "share_drifted", "dataset_drift", "n_reference", "n_current"}
COLUMN_KEYS = {"method", "score", "threshold", "drifted", "status"}

# Written with the project's own Python (the template suite needs no pandas).
MAKE_TABLES = """
import json
import sys
from pathlib import Path

from gen_drift_watch.config import load_config
from gen_drift_watch.data import make_sample

config = load_config()
schema = config.feature_schema
out = Path(sys.argv[1])
make_sample(config, rows=6000, seed=1).to_parquet(out / "reference.parquet")
make_sample(config, rows=6000, seed=2).to_parquet(out / "same.parquet")
moved = make_sample(config, rows=6000, seed=3)
for spec in schema.numeric_features:
    moved[spec.name] = moved[spec.name] + moved[spec.name].std()
moved.to_parquet(out / "moved.parquet")
moved.drop(columns=schema.feature_names[:2]).to_parquet(out / "missing.parquet")
moved.iloc[:0].to_parquet(out / "empty.parquet")
expected = {
    "kinds": {spec.name: spec.kind for spec in schema.features},
    "ignored": [schema.label.name, schema.time_column],
}
(out / "expected.json").write_text(json.dumps(expected))
"""


def _report(project: Path) -> dict:
    data = json.loads((project / "reports" / "drift.json").read_text())
    assert set(data) >= REPORT_KEYS
    for column in data["columns"].values():
        assert set(column) >= COLUMN_KEYS
    assert (project / "reports" / "drift.html").is_file()
    return data


@pytest.mark.slow
def test_generated_project_monitors_drift(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo,
        tmp_path / "drift",
        project_name="Drift Watch",
        package_name="gen_drift_watch",
        serving_mode="batch",
    )
    project_env.install(project)
    cli = "drift-watch"
    project_env.run(project, cli, "data", "sample", "--rows", "4000")
    project_env.run(project, cli, "train")

    # Its own data against the model's reference: schema columns plus predictions.
    own = project_env.run(
        project, cli, "monitor", "drift", "--current", "data/sample.parquet", check=False
    )
    assert own.returncode == 0, own.stdout + own.stderr
    data = _report(project)
    assert "prediction" in data["columns"]
    assert data["dataset_drift"] is False
    assert data["n_current"] == 4000
    assert data["performance"]["status"] in {"ok", "drift"}

    # The prediction log, written by batch scoring, is the default current window.
    scored = project_env.run(
        project,
        cli,
        "batch",
        "score",
        "--input",
        "data/sample.parquet",
        "--output",
        str(tmp_path / "scored.parquet"),
        check=False,
    )
    assert scored.returncode == 0, scored.stdout + scored.stderr
    logged = project_env.run(project, cli, "monitor", "drift", check=False)
    assert logged.returncode in {0, 1}, logged.stdout + logged.stderr
    assert _report(project)["current_source"].startswith("prediction log")

    # Two files, judged on the schema's features with the schema's kinds.
    tables = tmp_path / "tables"
    tables.mkdir()
    project_env.run(project, "python", "-c", MAKE_TABLES, str(tables))

    def monitor(current: str) -> int:
        result = project_env.run(
            project,
            cli,
            "monitor",
            "drift",
            "--reference",
            str(tables / "reference.parquet"),
            "--current",
            str(tables / current),
            check=False,
        )
        return result.returncode

    expected = json.loads((tables / "expected.json").read_text())
    assert monitor("same.parquet") == 0
    data = _report(project)
    assert {name: c["kind"] for name, c in data["columns"].items()} == expected["kinds"]
    assert set(expected["ignored"]) <= set(data["ignored_columns"])
    assert monitor("moved.parquet") == 1
    assert _report(project)["dataset_drift"] is True
    assert monitor("missing.parquet") == 2  # lacks two features: an error, not "no drift"
    assert monitor("empty.parquet") == 2
