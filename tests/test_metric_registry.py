"""copier.yml's metric tables agree exactly with the generated metric registry.

Copier needs `metric_choices` and `metric_catalog` to render and validate the
answers without running code, so they are a copy of the registry in the
generated `metrics/registry.py`. This test renders a project per problem type,
imports its `<package>.metrics` with the shared environment's Python
(PYTHONPATH=src, nothing installed) and compares, metric by metric: the names
of each problem type in order (the first is the default primary metric), the
label, the direction, the range and the default release threshold.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import TEMPLATE_ROOT, ProjectEnv, generate

COPIER = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text(encoding="utf-8"))
CHOICES: dict[str, list[str]] = COPIER["metric_choices"]["default"]
CATALOG: dict[str, dict[str, Any]] = COPIER["metric_catalog"]["default"]

# Run inside the generated project: the registry as copier.yml spells it.
DUMP = """
import json, sys
from {package}.metrics import METRICS, metrics_for

def entry(metric):
    return {{
        "label": metric.label,
        "direction": metric.direction,
        "min": metric.low,
        "max": metric.high,
        "default": metric.default_threshold,
    }}

json.dump(
    {{
        "own": [[m.name, entry(m)] for m in metrics_for("{problem_type}")],
        "all": [[problem, m.name] for m in METRICS for problem in m.problem_types],
    }},
    sys.stdout,
)
"""


def _registry(env: ProjectEnv, project: Path, package: str, problem_type: str) -> Any:
    result = subprocess.run(
        [str(env.python), "-c", DUMP.format(package=package, problem_type=problem_type)],
        cwd=project,
        env={**os.environ, "PYTHONPATH": "src", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("problem_type", list(CHOICES))
def test_copier_metric_tables_equal_the_generated_registry(
    problem_type: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    package = f"reg_{problem_type.split('_')[0]}"
    project = generate(
        template_repo, tmp_path / package, problem_type=problem_type, package_name=package
    )
    registry = _registry(project_env, project, package, problem_type)

    names = [name for name, _ in registry["own"]]
    assert names == CHOICES[problem_type], "metric names or their order differ"
    for name, entry in registry["own"]:
        # every key of a catalog entry: label, direction, min, max, default
        assert entry == CATALOG[name], f"{problem_type} {name}: registry {entry} != copier.yml"

    # No metric of the registry is missing from copier.yml, for any problem type.
    every = sorted((problem, name) for problem, names in CHOICES.items() for name in names)
    assert sorted(map(tuple, registry["all"])) == every
    assert set(CATALOG) == {name for _, name in every}

    # The rendered defaults are the registry's: first metric, its default threshold.
    config = yaml.safe_load((project / "configs" / "project.yaml").read_text(encoding="utf-8"))
    assert config["metric"]["primary"] == names[0]
    assert config["metric"]["threshold"] == registry["own"][0][1]["default"]
