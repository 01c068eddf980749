"""Serving matched to the answers: online service, ranking endpoint, batch scorer.

Renders online (binary, ranking) and batch projects, checks that only the
matching pieces are generated, runs the generated serving/batch/prediction-log
tests (including the one that starts the real server on loopback and runs a
bounded bench), and drives the CLI end to end.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ProjectEnv, generate, run_project_tests

SERVING_TESTS = ("test_serving*.py", "test_bench_latency.py", "test_batch.py", "test_predlog.py")

# Online projects of every problem type run their whole suites, serving tests
# included, in test_generated_projects.py; here a regression project in batch
# mode, a pairing no representative project has.
VARIANTS: dict[str, dict[str, Any]] = {
    "regression_batch": {"problem_type": "regression", "serving_mode": "batch"},
}


def _render(template_repo: Path, tmp_path: Path, name: str, **answers: Any) -> Path:
    answers = {"project_name": f"Srv {name}", "package_name": f"srv_{name}", **answers}
    return generate(template_repo, tmp_path / name, **answers)


def test_online_projects_get_the_service_and_batch_projects_do_not(
    template_repo: Path, tmp_path: Path
) -> None:
    online = _render(template_repo, tmp_path, "online", serving_mode="online")
    batch = _render(template_repo, tmp_path, "batch", serving_mode="batch")
    assert (online / "src/srv_online/serving/app.py").is_file()
    assert (online / "tests/test_serving.py").is_file()
    assert (online / "benchmarks/compare_stacks.py").is_file()
    assert not (online / "tests/test_serving_rank.py").exists()
    assert not (batch / "src/srv_batch/serving").exists()
    assert not list((batch / "tests").glob("test_serving*.py"))
    assert not (batch / "benchmarks").exists()
    for project in (online, batch):  # batch scoring and the log exist in both modes
        assert (project / f"src/srv_{project.name}/batch.py").is_file()
        assert (project / f"src/srv_{project.name}/predlog.py").is_file()
    online_docker = (online / "Dockerfile").read_text()
    # readiness (the model is loaded), not liveness: orchestrators route by it
    healthcheck = online_docker.split("HEALTHCHECK", 1)[1].split("\nCMD [", 1)[0]
    assert "/ready" in healthcheck and "/health" not in healthcheck
    assert "USER 10001" in online_docker  # numeric, so runAsNonRoot can check it
    assert 'ENTRYPOINT ["' in (batch / "Dockerfile").read_text()


def test_ranking_serving_limits_follow_the_candidates_answer(
    template_repo: Path, tmp_path: Path
) -> None:
    project = _render(
        template_repo, tmp_path, "rank", problem_type="ranking", candidates_per_request=120
    )
    serving = yaml.safe_load((project / "configs/project.yaml").read_text())["serving"]
    assert serving["max_candidates"] == 240
    assert serving["max_body_bytes"] >= 240 * 400
    assert (project / "tests/test_serving_rank.py").is_file()


@pytest.mark.parametrize("provider", ["github", "gitlab"])
def test_batch_projects_schedule_the_batch_job_with_the_answered_cron(
    template_repo: Path, tmp_path: Path, provider: str
) -> None:
    cron = "15 3 * * 1-5"
    project = _render(
        template_repo, tmp_path, provider, serving_mode="batch", ci_provider=provider,
        batch_schedule=cron,
    )  # fmt: skip
    if provider == "github":
        workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
        assert workflow[True]["schedule"] == [{"cron": cron}]  # YAML reads `on:` as True
        job = workflow["jobs"]["batch-score"]
        assert job["if"] == "github.event_name == 'schedule'"
        assert workflow["jobs"]["test"]["if"] == "github.event_name != 'schedule'"
        steps = " ".join(str(step.get("run", "")) for step in job["steps"])
    else:
        text = (project / ".gitlab-ci.yml").read_text()
        assert cron in text
        job = yaml.safe_load(text)["batch-score"]
        steps = " ".join(job["script"])
    assert "batch score --input" in steps


def test_online_projects_have_no_batch_schedule(template_repo: Path, tmp_path: Path) -> None:
    project = _render(template_repo, tmp_path, "gh", serving_mode="online", ci_provider="github")
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    assert "schedule" not in workflow[True]
    assert "batch-score" not in workflow["jobs"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(VARIANTS))
def test_generated_serving_tests_pass(
    name: str, template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = _render(template_repo, tmp_path, name, **VARIANTS[name])
    files = sorted({p for pattern in SERVING_TESTS for p in (project / "tests").glob(pattern)})
    online = VARIANTS[name]["serving_mode"] == "online"
    assert any(p.name == "test_bench_latency.py" for p in files) == online
    output = run_project_tests(project_env, project, *(str(p) for p in files))
    assert " passed" in output and " failed" not in output
    if online:  # the real-server test ran (it is marked slow, not skipped)
        assert "skipped" not in output


@pytest.mark.slow
def test_cli_bench_and_batch_score_end_to_end(
    template_repo: Path, project_env: ProjectEnv, tmp_path: Path
) -> None:
    project = _render(template_repo, tmp_path, "cli", serving_mode="online")
    project_env.install(project)
    cli = "srv-cli"
    project_env.run(project, cli, "data", "sample", "--rows", "3000")
    project_env.run(project, cli, "train")
    settings = project / "configs/project.yaml"
    text = settings.read_text()
    for old, new in [
        ("workers: null", "workers: 1"),
        ("bench_duration_s: 3.0", "bench_duration_s: 0.5"),
        ("bench_concurrency: [1, 8, 64]", "bench_concurrency: [8]"),
    ]:
        assert old in text
        text = text.replace(old, new)
    settings.write_text(text)

    bench = project_env.run(project, cli, "bench", check=False, timeout=300)
    report = json.loads((project / "reports/latency.json").read_text())
    assert bench.returncode == (0 if report["passed"] else 1), bench.stdout + bench.stderr
    assert report["errors"] == 0 and report["p99_ms"] >= report["p50_ms"] > 0
    assert ("PASS" if report["passed"] else "FAIL") in bench.stdout

    source = project / "data/sample.parquet"
    scored = project_env.run(
        project, cli, "batch", "score", "--input", str(source), "--output", "out/scored.parquet"
    )
    assert "scored" in scored.stdout and (project / "out/scored.parquet").is_file()
    missing = project_env.run(
        project, cli, "batch", "score", "--input", "nope.csv", "--output", "x.parquet",
        check=False,
    )  # fmt: skip
    assert missing.returncode == 1 and "does not exist" in missing.stdout
