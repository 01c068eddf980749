"""0.3.0: modules of the generated package moved; a team's edits in them are kept.

In 0.3.0 each kind of variation got one home (problem types in problems/, the
metric registry in metrics/, one engine per scale tier in engines/, evaluation
in evaluation/, benchmarks in bench/). `copier update` deletes a file the
template no longer generates, edited or not, so an edit in a moved module
would be lost. This script runs after the merge: for every moved module whose
pre-update content (read from git, where the update left it) is not one of
the versions a release generated, it keeps the team's version under
`template-update-0.3.0/`, with a README.md that says where that code lives now
and how to bring the change over. Unchanged modules need nothing. Running it
again changes nothing (idempotent).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

KEPT_DIR = "template-update-0.3.0"
# Old module (inside src/<package>/) -> where its code lives in 0.3.0.
MOVED: dict[str, str] = {
    "baseline.py": "problems/<type>.py (fit_baseline, predict_baseline, describe_baseline)",
    "sample_generators.py": "problems/<type>.py (the sample world of each type)",
    "metrics.py": "metrics/ (registry.py, classification.py, regression.py, ranking.py)",
    "bootstrap.py": "metrics/bootstrap.py (the benchmark: bench/bootstrap.py)",
    "evaluate.py": "evaluation/harness.py (results: evaluation/results.py)",
    "evaluation_report.py": "evaluation/report.py (plots: evaluation/plots.py)",
    "model_card.py": "evaluation/model_card.py",
    "partitioned.py": "engines/partitioned.py",
    "out_of_core/__init__.py": "engines/out_of_core/__init__.py (OutOfCoreEngine)",
    "out_of_core/scoring.py": "engines/out_of_core/scoring.py",
    "out_of_core/tables.py": "engines/out_of_core/tables.py",
    "out_of_core/train.py": "engines/out_of_core/train.py",
    "out_of_core/bench.py": "bench/scale.py",
    "cluster/__init__.py": "engines/cluster/__init__.py (RayEngine)",
    "cluster/datasets.py": "engines/cluster/datasets.py",
    "cluster/scoring.py": "engines/cluster/scoring.py",
    "cluster/session.py": "engines/cluster/session.py",
    "cluster/train.py": "engines/cluster/train.py",
    "monitoring/bench.py": "bench/drift.py",
    "serving/bench.py": "bench/latency.py",
    "serving/compare.py": "bench/stacks.py",
    "serving/loadgen.py": "bench/loadgen.py",
    "serving/plain.py": "bench/plain.py",
}
# sha256 of each module as released (0.2.0; 0.1.0 had none of them).
RELEASED: dict[str, set[str]] = {
    "baseline.py": {"c6667a6da83cf073509dcfcb10f6c8f396aba2d88e2535b20c8ef1651a931330"},
    "bootstrap.py": {"8dadc49c77b040bdcafdad7ae36a6ddc8071a092c467fcad6e14c92cbef90e35"},
    "evaluate.py": {"fd76aee080e27f9f1d0747fdadbf4790e8b76aa2202df56d29e329933c22e36a"},
    "evaluation_report.py": {"1bcb13732d757b9a039e7e40b063f0582ed5e506e9a4a00e72048ec300e5ac68"},
    "metrics.py": {"bb6b7d58ab34433449f883eab08fe446b5e3cb5357bcaa14e2addba0c6623385"},
    "model_card.py": {"f4ff42fc3e0fc7a133b89d6bef148364fa5a29dd00a0582ca57c718b679074fb"},
    "monitoring/bench.py": {"ac4043a773b63f2ccd8080bc0a930b13159824b2e344b2193abc8004dab23279"},
    "sample_generators.py": {"5c3877a96d3a7c9bba87707e72c12eccc2ecc0381fd15357e945b67e33cf5e8e"},
    "partitioned.py": {"10e84966ad2cbeb7c74579d1fcc36b47297c263dbfb1d61226c93d415db2b4e1"},
    "cluster/__init__.py": {"a1ac5d5ce16bca46fb6cda070ffc46313be871d9dcbf8e34218c1a113ce3a0dd"},
    "cluster/datasets.py": {"93322e52f097fdbfe007ae25e308bb8fd4d3db4ea45f77aa2ffaf905284002ee"},
    "cluster/scoring.py": {"72ba759a969e7912a13e598ba11ce6be78ffc60b27e2f1a2af8f120640517101"},
    "cluster/session.py": {"f44b7775b8008889fc4ddf7b646e817f6c293697620fa192228a65be71927579"},
    "cluster/train.py": {"adc8550bbe1499477384c121e5f63ff3fb059f515ba6aeb0613740cec646d462"},
    "out_of_core/__init__.py": {"3271453276833b8dc80f9a3a19c60d94e3778cb9a5a96feb95b1cb4612e4e964"},
    "out_of_core/bench.py": {"de9bec642969ef3bc6db68ac29d17551b9bf1bdcb5efb4e74a49b68ffe7ffe71"},
    "out_of_core/scoring.py": {"3dc3e2ff4373eb96302cbf583439a8a3b98203351374f4a901b1ec0de7e0a848"},
    "out_of_core/tables.py": {"a9c3da6c0bef85503f763a13efd78884f4db4d11731df14648c6bd26640191f6"},
    "out_of_core/train.py": {"b62927ecf42e46fb83187a205d884f3f282b69ed6a98d1bfc4d853ecc050f027"},
    "serving/bench.py": {"0d07ed92239b4a7305ccf5d431961d4e92cd51f89d2e7b94cef0ef55e12a0844"},
    "serving/compare.py": {"b6f5c25260843da60bcc99b056bc1ea7c9f2d27b735083696096dd01f80bc9a4"},
    "serving/loadgen.py": {"1073dc2b1b943e2ffb5cbd96d63c6462c9739b488ffe9b51bcfb7d248c895b7a"},
    "serving/plain.py": {"d65032f9af942fd46c6c00c6981078af55a320985264ad20aa3f9bf27a92b795"},
}
PACKAGE_LINE = re.compile(
    r"^package_name:\s*['\"]?(?P<name>[A-Za-z_][A-Za-z0-9_]*)['\"]?\s*$", re.M
)


def package_of(project: Path) -> str | None:
    """The generated package's name, from .copier-answers.yml (None when not recorded)."""
    answers = project / ".copier-answers.yml"
    if not answers.is_file():
        return None
    match = PACKAGE_LINE.search(answers.read_text(encoding="utf-8"))
    return match["name"] if match else None


def committed(project: Path, path: str) -> bytes | None:
    """`path` as the last commit has it: the project before `copier update` ran."""
    try:
        result = subprocess.run(
            ["git", "show", f"HEAD:{path}"], cwd=project, capture_output=True, check=False
        )
    except OSError:  # no git: nothing to read, nothing to keep
        return None
    return result.stdout if result.returncode == 0 else None


def edited_modules(project: Path, package: str) -> dict[str, bytes]:
    """Moved modules (old path in the project) whose committed content a release never had."""
    found = {}
    for old in MOVED:
        path = f"src/{package}/{old}"
        if (project / path).exists():
            continue  # still there: the update did not remove it, nothing to rescue
        content = committed(project, path)
        if content is not None and hashlib.sha256(content).hexdigest() not in RELEASED[old]:
            found[path] = content
    return found


def report(kept: dict[str, bytes], package: str) -> str:
    lines = [
        "# Your edits in modules that moved in template 0.3.0",
        "",
        "`copier update` to 0.3.0 removed these modules because their code moved;",
        "you had changed them, so your versions are kept here, unchanged. Bring each",
        "change over to the module named on the right, then delete this folder.",
        "See the template's CHANGELOG.md (0.3.0) for what moved where.",
        "",
        "| your file (kept here) | its code now lives in |",
        "| --- | --- |",
    ]
    for path in sorted(kept):
        old = path.removeprefix(f"src/{package}/")
        lines.append(f"| `{path}` | `src/{package}/{MOVED[old]}` |")
    lines += [
        "",
        "To see only your change: `git log -p -- <your file>` lists the commits that",
        "made it (git keeps the file's history after the update removed it).",
        "",
    ]
    return "\n".join(lines)


def migrate(project: Path, *, dry_run: bool = False) -> list[str]:
    """Keep the team's versions of moved modules it had edited; returns what it wrote."""
    package = package_of(project)
    if package is None:
        print(f"moved-modules: no package_name in {project}/.copier-answers.yml", file=sys.stderr)
        return []
    kept = edited_modules(project, package)
    if not kept:
        return []
    folder = project / KEPT_DIR
    wanted = {folder / path: content for path, content in kept.items()}
    wanted[folder / "README.md"] = report(kept, package).encode("utf-8")
    changed = [
        target.relative_to(project).as_posix()
        for target, content in wanted.items()
        if not target.is_file() or target.read_bytes() != content
    ]
    if not dry_run:
        for target, content in wanted.items():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        for path in sorted(kept):
            print(f"moved-modules: kept your edited {path} in {KEPT_DIR}/ (see its README.md)")
    return changed
