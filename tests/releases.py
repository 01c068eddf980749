"""The template's releases, rebuilt from CHANGELOG.md into a scratch git repo.

Git tags may not travel with every clone, so CHANGELOG.md is the record: each
`## X.Y.Z - date` section names the commit it was cut from (`commit: <hash>`).
`build_release_repo` lays those commits down, oldest first, as tagged commits of
a fresh repo and puts the current working tree on top, tagged as the next
version, so tests can generate a project at any release and update it to HEAD
exactly as a user would.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.version import Version

from conftest import TEMPLATE_PARTS, TEMPLATE_ROOT, git

CHANGELOG = TEMPLATE_ROOT / "CHANGELOG.md"
HEADING = re.compile(r"^## (?P<version>\S+) - (?P<date>.+?)\s*$")
COMMIT = re.compile(r"^commit:\s*(?P<hash>[0-9a-f]{40})\s*$")


@dataclass(frozen=True)
class Release:
    version: str
    date: str
    commit: str | None  # None: the section is not released yet


@dataclass(frozen=True)
class ReleaseRepo:
    path: Path
    released: tuple[str, ...]  # tagged releases older than HEAD, oldest first
    head_version: str  # the tag on the current working tree

    def behind(self, version: str) -> int:
        """Releases (HEAD included) newer than `version`."""
        newer = [v for v in (*self.released, self.head_version) if Version(v) > Version(version)]
        return len(set(newer))


def read_changelog(path: Path = CHANGELOG) -> list[Release]:
    """Every release section, in file order (newest first)."""
    releases: list[Release] = []
    heading: re.Match[str] | None = None
    commit: str | None = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), "## end - end"]:
        if match := HEADING.match(line):
            if heading is not None:
                Version(heading["version"])  # raises on a non-PEP 440 version
                releases.append(Release(heading["version"], heading["date"], commit))
            heading, commit = match, None
        elif heading is not None and (found := COMMIT.match(line)):
            commit = found["hash"]
    return releases


def _clear(folder: Path) -> None:
    for child in folder.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


def _extract_release(commit: str, destination: Path) -> None:
    probe = subprocess.run(
        ["git", "cat-file", "-e", f"{commit}^{{commit}}"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.fail(
            f"CHANGELOG.md names commit {commit}, which this clone lacks; "
            f"fetch the full history (git fetch --unshallow)"
        )
    present = set(git(TEMPLATE_ROOT, "ls-tree", "--name-only", commit).split())
    parts = [part for part in TEMPLATE_PARTS if part in present]
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, *parts],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():  # our own history, but check anyway
            if member.name.startswith(("/", "..")) or member.issym() or member.islnk():
                raise AssertionError(f"unexpected archive member {member.name}")
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(destination, **safe)  # type: ignore[arg-type]


def _copy_working_tree(destination: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".venv", ".cache")
    for part in TEMPLATE_PARTS:
        source = TEMPLATE_ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, destination / part)


def next_version(releases: list[Release], *, head_differs: bool) -> str:
    """The version HEAD stands for: the unreleased section, else the last release
    (HEAD unchanged) or the next minor one."""
    unreleased = [r for r in releases if r.commit is None]
    if unreleased:
        return unreleased[0].version
    latest = max((Version(r.version) for r in releases), default=Version("0.0.0"))
    if not head_differs:
        return str(latest)
    return f"{latest.major}.{latest.minor + 1}.0"


def build_release_repo(destination: Path, releases: list[Release] | None = None) -> ReleaseRepo:
    """A git repo with one tagged commit per release and the working tree on top."""
    releases = read_changelog() if releases is None else releases
    cut = sorted((r for r in releases if r.commit), key=lambda r: Version(r.version))
    destination.mkdir(parents=True, exist_ok=True)
    git(destination, "init", "-q", "-b", "main")
    for release in cut:
        assert release.commit is not None
        _clear(destination)
        _extract_release(release.commit, destination)
        git(destination, "add", "-A")
        git(destination, "commit", "-q", "--allow-empty", "-m", f"release {release.version}")
        git(destination, "tag", release.version)
    _clear(destination)
    _copy_working_tree(destination)
    git(destination, "add", "-A")
    head_differs = not cut or bool(git(destination, "status", "--porcelain").strip())
    head = next_version(releases, head_differs=head_differs)
    if head_differs:
        git(destination, "commit", "-q", "-m", "HEAD: the working tree")
    if any(Version(r.version) > Version(head) for r in cut):
        pytest.fail(f"HEAD would be {head}, older than a release in CHANGELOG.md")
    if not cut or Version(head) > Version(cut[-1].version):
        git(destination, "tag", head)
    released = tuple(r.version for r in cut if Version(r.version) < Version(head))
    return ReleaseRepo(destination, released, head)
