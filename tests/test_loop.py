"""The iterative loop through the generated CLI, on a sample whose world changes after a date.

A team's week, scripted: train on the history, try a worse candidate (never
served), score traffic from around the change, send its labels back, see the
performance alarm, retrain on the newest days, score later traffic with the
new champion, see the quality recover, measure the decay. New data "arrives"
as files cut from the drifting sample, the way a team's exports would; every
ML step is a `<cli>` command. Then `<cli> loop` plays the same story alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ProjectEnv, generate

DRIFT_DATE = "2025-04-11"
RETRAIN_DATE = "2025-05-21"  # 40 days after the change

# Cuts the drifting sample into what a team receives over time (run by the project's python).
CUT_FILES = """
import pandas as pd
world = pd.read_parquet("data/sample.parquet")
label, time = {label!r}, {time!r}
when = pd.to_datetime(world[time], utc=True)
drift, retrain = pd.Timestamp({drift!r}, tz="UTC"), pd.Timestamp({retrain!r}, tz="UTC")
world[when < drift].to_parquet("data/history.parquet", index=False)
world[when < retrain].to_parquet("data/recent.parquet", index=False)
first = world[(when >= drift - pd.Timedelta(days=14)) & (when < retrain)].reset_index(drop=True)
later = world[when >= retrain].reset_index(drop=True)
for name, rows in (("traffic_1", first), ("traffic_2", later)):
    rows.drop(columns=[label]).to_parquet(f"data/{{name}}.parquet", index=False)
    rows[[label]].to_parquet(f"data/{{name}}_truth.parquet", index=False)
"""

# The outcomes of a scored file, keyed by the prediction_id the scorer wrote.
LABELS_FOR = """
import sys
import pandas as pd
name, label = sys.argv[1], sys.argv[2]
scored = pd.read_parquet(f"data/{name}_scored.parquet", columns=["prediction_id"])
truth = pd.read_parquet(f"data/{name}_truth.parquet")[label]
rows = scored["prediction_id"].str.rsplit("-", n=1).str[1].astype(int)
pd.DataFrame({"prediction_id": scored["prediction_id"], label: truth.to_numpy()[rows]}).to_parquet(
    f"data/{name}_labels.parquet", index=False
)
"""


def _set(project: Path, **changes: dict[str, Any]) -> None:
    """Edit configs/project.yaml as a team would (section -> keys)."""
    path = project / "configs" / "project.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    for section, values in changes.items():
        settings[section] = {**settings.get(section, {}), **values}
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


def _status(env: ProjectEnv, project: Path, cli: str) -> dict[str, str]:
    registry = json.loads((project / "models" / "registry.json").read_text(encoding="utf-8"))
    champion = registry["history"][-1] if registry["history"] else None
    listing = env.run(project, cli, "models", "list").stdout
    statuses = {}
    for version in registry["versions"]:
        verdict = registry.get("decisions", {}).get(version, {}).get("verdict", "candidate")
        statuses[version] = "champion" if version == champion else verdict
        assert version in listing
    return statuses


def _windows(project: Path) -> list[dict[str, Any]]:
    report = json.loads((project / "reports" / "performance.json").read_text(encoding="utf-8"))
    assert {"metric", "direction", "windows", "reference_value", "alarm"} <= set(report)
    return list(report["windows"])


@pytest.mark.parametrize("problem_type", ["binary_classification", "regression"])
def test_the_loop_through_the_cli(
    problem_type: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = generate(
        template_repo, tmp_path / "loop", project_name="Loop Story", problem_type=problem_type
    )
    project_env.install(project)
    cli = "loop-story"
    schema = yaml.safe_load((project / "configs" / "schema.yaml").read_text(encoding="utf-8"))
    label, time = schema["label"]["name"], schema["time_column"]
    higher = problem_type == "binary_classification"  # roc_auc; regression's rmse: lower

    def worse(a: float, b: float) -> bool:
        return a < b if higher else a > b

    project_env.run(project, cli, "data", "sample", "--drift-after", DRIFT_DATE)
    cut = CUT_FILES.format(label=label, time=time, drift=DRIFT_DATE, retrain=RETRAIN_DATE)
    project_env.run(project, "python", "-c", cut)

    # 1. The first model that passes the gate is the champion.
    _set(project, data={"source": "data/history.parquet"})
    project_env.run(project, cli, "train")
    assert _status(project_env, project, cli) == {"v0001": "champion"}

    # 2. A worse candidate (no tree can split) is registered, rejected, and never served.
    settings = yaml.safe_load((project / "configs" / "project.yaml").read_text(encoding="utf-8"))
    params = settings["model"]["params"]
    weak = {**params, "min_data_in_leaf": 1000000, "boost_from_average": False}
    _set(project, model={"params": weak})
    trained = project_env.run(project, cli, "train").stdout
    assert "v0002 not promoted" in trained and "fails the release gate" in trained
    _set(project, model={"params": params})
    assert _status(project_env, project, cli) == {"v0001": "champion", "v0002": "rejected"}
    project_env.run(project, cli, "batch", "score", "--input", "data/traffic_1.parquet",
                    "--output", "data/traffic_1_scored.parquet")  # fmt: skip
    scored = project_env.run(project, "python", "-c", (
        "import pandas as pd; s = pd.read_parquet('data/traffic_1_scored.parquet'); "
        "print(sorted(set(s['model_version'])), s['prediction_id'].is_unique)"
    )).stdout  # fmt: skip
    assert scored.strip() == "['v0001'] True"

    # 3. Labels come back; quality after the change drops: the alarm fires (exit 1).
    project_env.run(project, "python", "-c", LABELS_FOR, "traffic_1", label)
    ingested = project_env.run(
        project, cli, "labels", "ingest", "--source", "data/traffic_1_labels.parquet"
    ).stdout
    assert "stored" in ingested
    again = project_env.run(
        project, cli, "labels", "ingest", "--source", "data/traffic_1_labels.parquet"
    ).stdout
    assert "already stored" in again  # idempotent
    alarm = project_env.run(project, cli, "monitor", "performance", check=False)
    assert alarm.returncode == 1, alarm.stdout + alarm.stderr
    windows = _windows(project)
    before = [w for w in windows if w["end"] <= DRIFT_DATE and w["status"] != "insufficient"]
    after = [w for w in windows if w["start"] >= "2025-04-14" and w["status"] != "insufficient"]
    assert before and after
    assert all(w["status"] == "ok" for w in before)
    assert all(w["status"] == "drop" for w in after)
    dropped = after[-1]["value"]
    assert all(worse(w["value"], b["value"]) for w in after for b in before)

    # 4. Retraining on the newest 40 days beats the champion on the newest rows.
    _set(project, data={"source": "data/recent.parquet"})
    retrained = project_env.run(project, cli, "retrain", "--window-days", "40").stdout
    assert "v0003 promoted to champion: beats the champion" in retrained
    assert _status(project_env, project, cli) == {
        "v0001": "retired", "v0002": "rejected", "v0003": "champion"
    }  # fmt: skip

    # 5. Later traffic is scored by the new champion; its quality has recovered: no alarm.
    project_env.run(project, cli, "batch", "score", "--input", "data/traffic_2.parquet",
                    "--output", "data/traffic_2_scored.parquet")  # fmt: skip
    project_env.run(project, "python", "-c", LABELS_FOR, "traffic_2", label)
    project_env.run(project, cli, "labels", "ingest", "--source", "data/traffic_2_labels.parquet")
    recovered = project_env.run(project, cli, "monitor", "performance")
    assert "No alarm" in recovered.stdout
    latest = [w for w in _windows(project) if w["model_version"] == "v0003" and w["n"] >= 30]
    assert latest and all(w["status"] == "ok" for w in latest)
    assert worse(dropped, latest[-1]["value"])

    # 6. Every version scored on the newest rows against its age.
    project_env.run(project, cli, "evaluate", "--decay")
    decay = json.loads((project / "reports" / "decay.json").read_text(encoding="utf-8"))
    assert {"metric", "versions", "change_per_month", "suggested_retrain_days"} <= set(decay)

    # The same story, played by the demo command in its own workspace.
    played = project_env.run(project, cli, "loop", "--rows", "12000")
    assert "The loop, step by step" in played.stdout
    story = json.loads((project / "data" / "loop" / "reports" / "loop.json").read_text())
    promoted = [s.get("promoted") for s in story["steps"] if "promoted" in s]
    assert promoted == [True, False, True]
    alarms = [s["alarm"] for s in story["steps"] if s["step"].startswith("quality")]
    assert alarms == [True, False]
    assert json.loads((project / "models" / "registry.json").read_text())["history"][-1] == "v0003"
