"""A generated project as a new user and their colleagues meet it.

What happens outside the template's own rendering checks: a fresh clone, the
lock file, `docker build` (checked structurally: no Docker daemon here), the
container's command run as it would run inside the image, and the make targets
that must never delete what the user brought.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import generate, git

# COPY/ADD instructions; sources are every argument but the last (the target).
COPY_LINE = re.compile(r"^\s*(COPY|ADD)\s+(?P<args>.+)$", re.MULTILINE)


def _run(cwd: Path, *command: str, env: dict[str, str] | None = None, check: bool = True,
         timeout: float = 600) -> subprocess.CompletedProcess[str]:  # fmt: skip
    result = subprocess.run(
        command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(command)} failed (exit {result.returncode}) in {cwd}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def copy_sources(dockerfile: str) -> list[str]:
    """Local sources of every COPY/ADD (not `--from=` a stage or image)."""
    sources: list[str] = []
    for match in COPY_LINE.finditer(dockerfile):
        args = match["args"].split()
        if any(arg.startswith("--from=") for arg in args):
            continue
        paths = [arg for arg in args if not arg.startswith("--")]
        sources.extend(paths[:-1])
    return sources


def _commit_and_clone(project: Path, clone: Path) -> Path:
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated")
    _run(project.parent, "git", "clone", "-q", str(project), str(clone))
    return clone


def test_copy_sources_parser_skips_stages_and_flags() -> None:
    text = "COPY --chown=1:1 a b ./\nCOPY --from=build /opt/venv /opt/venv\nADD c /x\n"
    assert copy_sources(text) == ["a", "b", "c"]


@pytest.mark.slow
@pytest.mark.parametrize("serving_mode", ["online", "batch"])
def test_fresh_clone_locks_builds_and_serves_a_mounted_model(
    template_repo: Path, tmp_path: Path, serving_mode: str
) -> None:
    """copier copy -> make setup (writes uv.lock) -> commit -> clone: what a colleague gets.

    Every COPY source of the Dockerfile is tracked in that clone, hadolint is
    clean, the clone installs from the lock (CI's `UV_LOCKED=1 make setup`),
    and the image's command serves /ready once a model is mounted read-only.
    """
    project = generate(
        template_repo, tmp_path / "project", serving_mode=serving_mode,
        project_name=f"Fresh {serving_mode}",
    )  # fmt: skip
    first = _run(project, "make", "setup")
    assert "commit it" in first.stdout and (project / "uv.lock").is_file()
    clone = _commit_and_clone(project, tmp_path / "clone")
    tracked = set(git(clone, "ls-files").split())
    assert "uv.lock" in tracked

    dockerfile = (clone / "Dockerfile").read_text()
    for source in copy_sources(dockerfile):
        assert (clone / source).exists(), f"COPY {source}: not in a fresh clone"
        assert any(t == source or t.startswith(f"{source}/") for t in tracked), source
    assert "UV_COMPILE_BYTECODE=1" in dockerfile and "uv sync --locked" in dockerfile
    lint = _run(clone, shutil.which("hadolint") or "hadolint", "Dockerfile", check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr

    _run(clone, "make", "setup", env={"UV_LOCKED": "1"})  # CI: exactly the committed lock
    if serving_mode == "batch":
        _audits_every_locked_package(clone)
    slug = f"fresh-{serving_mode}"
    cli = clone / ".venv" / "bin" / slug
    _run(clone, str(cli), "data", "sample", "--rows", "2000")
    _run(clone, str(cli), "train")
    registry = _snapshot(clone / "models")  # mounted read-only: `-v ./models:/app/models:ro`
    if serving_mode == "online":
        command = json.loads(re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)[1])
        image_env = dict(re.findall(r"^ENV (ML_\w+)=(\S+)$", dockerfile, re.MULTILINE))
        assert image_env.get("ML_SERVING_AUTH") == "token"  # the image is safe by default
        refused = subprocess.run(
            [str(clone / ".venv/bin" / command[0]), *command[1:]], cwd=clone,
            env={**os.environ, **image_env}, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert refused.returncode != 0 and "ML_SERVING_TOKENS" in refused.stdout + refused.stderr
        _serves_read_only(clone, command, {**image_env, "ML_SERVING_TOKENS": TOKEN}, tmp_path)
    else:
        entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE)[1])
        command = [str(clone / ".venv/bin" / entry[0]), *entry[1:], "--input",
                   "data/sample.parquet", "--output", "data/scored.parquet"]  # fmt: skip
        _run(clone, *read_only_except(clone, command, tmp_path / "scratch"))
        assert (clone / "data/scored.parquet").is_file()
    assert _snapshot(clone / "models") == registry, "the container wrote into models/"


def _audits_every_locked_package(clone: Path) -> None:
    """`make audit` asks about every registry package of uv.lock and never passes
    what it could not check (here the vulnerability services are unreachable)."""
    result = _run(clone, "make", "audit", check=False, timeout=900)
    output = " ".join((result.stdout + result.stderr).split())
    report = json.loads((clone / "reports/audit.json").read_text())
    lock = tomllib.loads((clone / "uv.lock").read_text())
    registry = [p for p in lock["package"] if "registry" in p.get("source", {})]
    assert report["dependencies"] == len(registry) > 50
    assert report["audited"] + len(report["not_audited"]) == report["dependencies"]
    if report["not_audited"]:
        assert result.returncode != 0 and report["passed"] is False
        assert f"{len(report['not_audited'])} dependencies could not be checked" in output
    else:  # a machine that reaches PyPI's JSON API: the verdict follows the findings
        unaccepted = [f for f in report["findings"] if f["verdict"] != "accepted"]
        assert (result.returncode == 0) == (not unaccepted) == report["passed"], output


def _snapshot(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under `folder` with its size and modification time."""
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    )


TOKEN = "a-token-for-the-fresh-clone-test"


# The folders the container may write (README "Docker"): `docker run --read-only`
# with volumes for data/ and reports/ and a tmpfs at /tmp; models/ is mounted
# read-only.
WRITABLE = ("data", "reports")


def read_only_except(clone: Path, command: list[str], scratch: Path) -> list[str]:
    """`command` in a private mount namespace where the whole filesystem is read-only
    except `WRITABLE` folders of `clone` and `scratch` (its TMPDIR, the tmpfs).

    What `docker run --read-only --tmpfs /tmp -v data -v reports` gives the
    image, without a Docker engine (needs root, as CI has: `unshare -m`).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    writable = [clone / name for name in WRITABLE] + [scratch]
    for folder in writable:
        folder.mkdir(parents=True, exist_ok=True)
    lines = ["set -e", "mount --make-rprivate /", "mount --bind / /", "mount -o remount,bind,ro /"]
    for folder in writable:
        quoted = shlex.quote(str(folder))
        lines += [f"mount --bind {quoted} {quoted}", f"mount -o remount,bind,rw {quoted}"]
    lines += [f"export TMPDIR={shlex.quote(str(scratch))}", f"exec {shlex.join(command)}"]
    return ["unshare", "--mount", "bash", "-c", "\n".join(lines)]


def _serves_read_only(
    clone: Path, command: list[str], image_env: dict[str, str], tmp_path: Path
) -> None:
    """The container's command, run read-only but for data/ and reports/, answers /ready
    openly and /metrics only with the token, scores a request and logs its rows."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(clone / ".venv/bin" / command[0]), *command[1:]]
    command[command.index("--port") + 1] = str(port)
    env = {**os.environ, **image_env, "OMP_NUM_THREADS": "1"}
    assert not (clone / "data/predictions").exists()
    process = subprocess.Popen(
        read_only_except(clone, command, tmp_path / "scratch"), cwd=clone, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1) as reply:
                    body = json.loads(reply.read())
                    assert reply.status == 200 and body["model_version"] == "v0001"
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        else:
            raise AssertionError("the container command did not become ready in 120 s")
        metrics = f"http://127.0.0.1:{port}/metrics"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(metrics, timeout=5)
        assert refused.value.code == 401
        authorized = urllib.request.Request(metrics, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(authorized, timeout=5) as reply:
            assert reply.status == 200
        rows = _score_the_openapi_example(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0].decode()
    assert "Read-only file system" not in output, output[-3000:]
    logged = _run(clone, command[0], "log", "stats")  # the rows were flushed on shutdown
    assert re.search(rf"│ rows\s+│\s+{rows:,} │", logged.stdout), logged.stdout


def _score_the_openapi_example(base: str) -> int:
    """POST the first example request of the service's OpenAPI document; rows scored."""
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=5) as reply:
        document = json.loads(reply.read())
    route, body = next(
        (path, operation["requestBody"]["content"]["application/json"]["examples"])
        for path, item in document["paths"].items()
        for operation in item.values()
        if "requestBody" in operation
    )
    example = next(iter(body.values()))["value"]
    request = urllib.request.Request(
        f"{base}{route}", data=json.dumps(example).encode(), method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    return len(example.get("rows") or example.get("candidates") or [])


def test_setup_in_ci_without_a_lock_file_says_what_to_do(
    template_repo: Path, tmp_path: Path
) -> None:
    project = generate(template_repo, tmp_path / "project")
    result = _run(project, "make", "setup", env={"UV_LOCKED": "1"}, check=False)
    assert result.returncode != 0
    assert "uv.lock is missing" in result.stdout + result.stderr
    assert not (project / ".venv").exists()


def test_clean_never_deletes_the_users_data_or_models(template_repo: Path, tmp_path: Path) -> None:
    project = generate(template_repo, tmp_path / "project")
    theirs = [project / "data/customers.parquet", project / "data/raw/events.csv"]
    models = [project / "models/registry.json", project / "models/v0001/model.txt"]
    ours = [project / "data/sample.parquet", project / "data/batch_scores.parquet"]
    regenerated = [project / "reports/evaluation.json", project / ".venv/marker"]
    for path in [*theirs, *models, *ours, *regenerated]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")

    _run(project, "make", "clean")
    assert all(p.exists() for p in [*theirs, *models, *ours])
    assert not any(p.exists() for p in regenerated)

    outputs = _run(project, "make", "clean-outputs")
    assert "deletes" in (project / "Makefile").read_text().split("clean-outputs:")[1].split("\n")[0]
    assert all(p.exists() for p in [*theirs, *models]), outputs.stdout
    assert not any(p.exists() for p in ours)
