"""The generated service answers only what its OpenAPI document says, for every problem type.

One online project per problem type is rendered; its own tests/test_openapi.py
runs first (the document's statuses, components and examples, through the app
in-process). Then it is trained on a small sample and served on a free
loopback port with one worker, and schemathesis reads /openapi.json and
generates requests from it (its examples, coverage and fuzzing phases, a
bounded number per operation), checking every answer: no 5xx, a status the
route documents, the documented content type, a body that matches the
documented schema. The number of generated test cases and of requests the
service counted is printed (run with `-s`) and added to the suite totals.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import PROBLEM_TYPES, STATS, ProjectEnv, generate, run_project_tests

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
MAX_EXAMPLES = 40  # per operation and phase; about 200 requests a project, 10 s
SEED = 20250101  # a fixed seed: a failure here reproduces with the same requests
SAMPLE_ROWS = "2000"
# Anomalies are rare: a smaller sample's test split holds too few labelled ones
# for a first model to pass the release gate, and without a champion nothing serves.
SAMPLE_ROWS_OF = {"anomaly_detection": "6000"}
# Scoring routes a problem type adds to /predict.
EXTRA_ROUTES = {"ranking": ["/rank"], "forecasting": ["/forecast"]}
COUNTED = re.compile(r'^http_requests_total\{path="([^"]+)",status="(\d+)"\} ([0-9.e+]+)$', re.M)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as reply:
        text: str = reply.read().decode()
        return text


@contextmanager
def _serving(env: ProjectEnv, project: Path, package: str) -> Iterator[str]:
    """The trained project's service on loopback until the block ends; yields its base URL."""
    port = _free_port()
    command = [
        str(env.python), "-m", f"{package}.serving.server",
        "--config", "configs/project.yaml", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = (project / "server.log").open("w")
    environment = {**os.environ, "PATH": f"{env.bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    environment.pop("ML_PROJECT_CONFIG", None)  # the server reads --config
    process = subprocess.Popen(
        command, cwd=project, env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (project / "server.log").read_text()
            try:
                _get(f"{base}/ready")
                break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, "the service was not ready within 120 s"
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _schemathesis(base: str, report: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--no-color", "run", f"{base}/openapi.json",
        "--checks", ",".join(CHECKS), "--max-examples", str(MAX_EXAMPLES), "--workers", "1",
        "--seed", str(SEED), "--generation-database", "none",
        "--report", "json", "--report-json-path", str(report),
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=report.parent, capture_output=True, text=True, timeout=600, check=False
    )


def _answered(base: str) -> Counter[tuple[str, str]]:
    """Requests the service counted, by (path, status): its own Prometheus counter."""
    counts: Counter[tuple[str, str]] = Counter()
    for path, status, value in COUNTED.findall(_get(f"{base}/metrics")):
        counts[path, status] += int(float(value))
    return counts


@pytest.mark.slow
@pytest.mark.parametrize("problem_type", PROBLEM_TYPES)
def test_the_service_answers_only_what_its_openapi_document_says(
    problem_type: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    started = time.monotonic()
    short = problem_type.split("_")[0][:5]
    project = generate(
        template_repo, tmp_path / "project", project_name=f"Contract {short}",
        problem_type=problem_type, serving_mode="online",
    )  # fmt: skip
    package, cli = f"contract_{short}", f"contract-{short}"
    # The project's own document tests first (statuses, components, examples)...
    output = run_project_tests(project_env, project, "tests/test_openapi.py")
    assert " passed" in output and " failed" not in output and "skipped" not in output
    # ...then the fuzzing, against the real server.
    rows = SAMPLE_ROWS_OF.get(problem_type, SAMPLE_ROWS)
    project_env.run(project, cli, "data", "sample", "--rows", rows)
    project_env.run(project, cli, "train")

    with _serving(project_env, project, package) as base:
        fuzz_started = time.monotonic()
        run = _schemathesis(base, tmp_path / "schemathesis.json")
        fuzz_seconds = time.monotonic() - fuzz_started
        answered = _answered(base)
    report = json.loads((tmp_path / "schemathesis.json").read_text())
    generated = report["test_cases"]["generated"]
    statuses = ", ".join(sorted({status for _, status in answered}))
    total_seconds = time.monotonic() - started
    print(
        f"\n{problem_type}: schemathesis generated {generated} test cases; the service "
        f"answered {sum(answered.values())} requests (statuses {statuses}); "
        f"fuzzing {fuzz_seconds:.1f} s, with rendering and training {total_seconds:.1f} s"
    )
    STATS[f"schemathesis test cases ({problem_type})"] += generated

    assert run.returncode == 0 and report["exit_code"] == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert report["failures"] == [] and report["errors"] == []
    # /rank only for ranking, /forecast only for forecasting
    scoring = ["/predict", *EXTRA_ROUTES.get(problem_type, [])]
    assert report["operations"]["tested"] == 3 + len(scoring) == report["operations"]["total"]
    assert generated >= 100
    for path in scoring:
        # Generated requests reached both the model (200) and the request checks (422).
        assert answered[path, "200"] > 0 and answered[path, "422"] > 0, answered
