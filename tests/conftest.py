"""Shared helpers for the template's test suite.

- `template_repo`: a git snapshot of this working tree's template, so tests see
  uncommitted edits and can tag or change it without touching the real repo.
- `generate(...)`: one way to render a project, trust-free, from answers.
- `project_env`: one virtual environment with every dependency any generated
  project can need, built once and cached under .cache/, into which each
  generated project is installed (editable, no deps) to run its own tests.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from copier import run_copy

TEMPLATE_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_PARTS = ("copier.yml", "template", "hooks", "includes")
CACHE_DIR = Path(os.environ.get("TEMPLATE_TEST_CACHE", TEMPLATE_ROOT / ".cache"))

# Every problem type the template offers, in the order copier.yml lists them.
PROBLEM_TYPES = (
    "binary_classification",
    "multiclass_classification",
    "regression",
    "ranking",
    "anomaly_detection",
    "forecasting",
)

# Counts shown at the end of the run (see pytest_terminal_summary).
STATS: Counter[str] = Counter()

# Answer sets whose pyproject dependencies, taken together, cover every
# optional dependency the template can add. Used to build the shared env.
DEPENDENCY_VARIANTS: tuple[dict[str, Any], ...] = (
    {"serving_mode": "online", "data_scale": "memory", "experiment_tracking": "none"},
    {"serving_mode": "batch", "data_scale": "out_of_core", "experiment_tracking": "mlflow"},
    {"serving_mode": "online", "data_scale": "cluster", "experiment_tracking": "none"},
)
# Needed to install generated projects without build isolation (fast, offline).
BUILD_REQUIREMENTS = ("hatchling>=1.25", "editables>=0.5")


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return result.stdout


def snapshot_template(destination: Path) -> Path:
    """Copy the template parts of this repo into `destination` as a fresh git repo."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".cache")
    for part in TEMPLATE_PARTS:
        source = TEMPLATE_ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, destination / part)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-q", "-m", "template snapshot")
    return destination


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder that `build` fills once per test run, shared by every xdist worker.

    Workers share the parent of their base temporary folders; the first to
    take the lock builds, the others wait and reuse its result.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / f"shared-{name}"
    with _file_lock(shared / f"shared-{name}.lock"):
        if not (folder / ".complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            build(folder)
            (folder / ".complete").write_text("")
    return folder


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot_template(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def release_repo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every release of CHANGELOG.md as a tag, the working tree on top (tests/releases.py)."""
    from releases import build_release_repo

    return build_release_repo(tmp_path_factory.mktemp("releases"))


def generate(template: Path, destination: Path, **answers: Any) -> Path:
    """Render the template with `answers` (others default), exactly as a user would.

    `unsafe=False`: if the template ever needs `--trust` to copy, this fails.
    """
    run_copy(
        str(template),
        destination,
        data=answers,
        defaults=True,
        unsafe=False,
        vcs_ref="HEAD",
        quiet=True,
        overwrite=True,
    )
    STATS["projects rendered"] += 1
    return destination


def copier_copy_cli(
    template: Path, destination: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """`copier copy --defaults --vcs-ref HEAD ARGS template destination`, as typed in a shell."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            *args,
            str(template),
            str(destination),
        ],
        capture_output=True,
        text=True,
        input="",
        check=False,
    )


# ------------------------------------------------------------------ env ---


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uv() -> str:
    found = shutil.which("uv")
    if found:
        return found
    candidate = Path(sys.executable).with_name("uv")
    if candidate.exists():
        return str(candidate)
    raise RuntimeError("uv is needed to build the shared test environment: pip install uv")


def _dependencies(project: Path) -> list[str]:
    data = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    return [*data["dependencies"], *data["optional-dependencies"]["dev"]]


@dataclass(frozen=True)
class ProjectEnv:
    """A cached virtual environment that generated projects are installed into."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def install(self, project: Path) -> None:
        """Install the generated project (editable, no dependencies) into the env."""
        subprocess.run(
            [
                _uv(),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(self.python),
                "--no-deps",
                "--no-build-isolation",
                "-e",
                str(project),
            ],
            check=True,
            capture_output=True,
            text=True,
        )

    def run(
        self, project: Path, *args: str, timeout: float = 900, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a command from the env's bin/ inside the project folder."""
        env = {
            **os.environ,
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(self.root),
            "OMP_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop("ML_PROJECT_CONFIG", None)
        command = [str(self.bin / args[0]) if (self.bin / args[0]).exists() else args[0], *args[1:]]
        result = subprocess.run(
            command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed in {project} (exit {result.returncode}):\n"
                f"--- stdout ---\n{result.stdout[-8000:]}\n--- stderr ---\n{result.stderr[-8000:]}"
            )
        return result


@pytest.fixture(scope="session")
def project_env(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> ProjectEnv:
    """The shared environment, keyed by the union of generated dependencies."""
    requirements: set[str] = set(BUILD_REQUIREMENTS)
    scratch = tmp_path_factory.mktemp("dependency-variants")
    for index, answers in enumerate(DEPENDENCY_VARIANTS):
        project = generate(template_repo, scratch / f"variant{index}", **answers)
        requirements.update(_dependencies(project))
    ordered = sorted(requirements)
    # Compiled to bytecode once here: the machines set PYTHONDONTWRITEBYTECODE, so
    # otherwise every Python start (CLI runs, servers, Ray workers) recompiles
    # numpy, pandas, LightGBM... from source, seconds each time.
    install = ["--compile-bytecode"]
    key = hashlib.sha256("\n".join([sys.version, *install, *ordered]).encode()).hexdigest()[:16]
    # One environment per pytest-xdist worker: generated projects often share a
    # package name, and two workers installing theirs into one env would swap
    # them under each other's tests. uv hard-links from its cache, so a second
    # env costs seconds, not a second download.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    env = ProjectEnv(CACHE_DIR / f"project-env-{key}-{worker}")
    with _file_lock(CACHE_DIR / f"project-env-{worker}.lock"):
        if not (env.root / ".complete").exists():
            shutil.rmtree(env.root, ignore_errors=True)
            subprocess.run(
                [_uv(), "venv", "--quiet", "--python", sys.executable, str(env.root)],
                check=True,
            )
            subprocess.run(
                [_uv(), "pip", "install", "--quiet", *install, "--python", str(env.python),
                 *ordered],
                check=True,
            )  # fmt: skip
            (env.root / ".complete").write_text("\n".join(ordered))
    return env


def run_project_tests(
    env: ProjectEnv, project: Path, *pytest_args: str, timeout: float = 900
) -> str:
    """Install a generated project into the shared env and run its own test suite."""
    env.install(project)
    result = env.run(
        project,
        "python",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *pytest_args,
        timeout=timeout,
    )
    STATS["generated projects that ran their own tests"] += 1
    return result.stdout


# Slow test files, longest first (measured): started first, they finish while
# the short tests fill the other worker, so the run ends when the work does.
SLOWEST_FIRST = (
    "test_scale_tiers.py",
    "test_update.py",
    "test_generated_projects.py",
    "test_serving.py",
    "test_new_user.py",
    "test_training_pipeline.py",
    "test_typing.py",
    "test_openapi_contract.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: the order inside a file is kept


# pytest-xdist: each worker counts its own STATS and hands them to the
# controller when it finishes, which adds them up (a "slowest" entry is a max).


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # inside an xdist worker
        workeroutput["template_stats"] = dict(STATS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    for name, count in getattr(node, "workeroutput", {}).get("template_stats", {}).items():
        STATS[name] = max(STATS[name], count) if "slowest" in name else STATS[name] + count


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if STATS:
        terminalreporter.section("template suite totals")
        for name, count in sorted(STATS.items()):
            terminalreporter.write_line(f"{name}: {count}")
