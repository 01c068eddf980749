"""Migrations: the runner, the 0.2.0 key rename, the 0.3.0 moved modules, the wiring.

The rename edits YAML text line by line; these tests pin down that it changes
exactly one key, keeps comments and user values, and is idempotent. The update
across a real release is in test_update.py.
"""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy, run_update
from copier.errors import UnsafeTemplateError
from packaging.version import Version

from conftest import STATS, TEMPLATE_ROOT, git
from releases import CHANGELOG, ReleaseRepo

HOOKS = TEMPLATE_ROOT / "hooks"
RUNNER = HOOKS / "migrate.py"
RENAME = HOOKS / "migrations" / "v0.2.0-01-paths-schema-file.py"
MOVED = HOOKS / "migrations" / "v0.3.0-01-moved-modules.py"
LOG_FOLDER = HOOKS / "migrations" / "v0.3.0-02-prediction-log-folder.py"
runner: dict[str, Any] = runpy.run_path(str(RUNNER))
rename: dict[str, Any] = runpy.run_path(str(RENAME))
moved: dict[str, Any] = runpy.run_path(str(MOVED))
log_folder: dict[str, Any] = runpy.run_path(str(LOG_FOLDER))
RELEASE_0_2_0 = "ca5846904423d0f9f8e134cab1e62767f18f858b"

PROJECT_YAML = """\
# Run-time configuration; edited by the team.
model:
  seed: 42
  params:
    num_leaves: 15   # tuned 2026-11
paths:
  data_dir: data
  # the schema lives elsewhere in this project
  schema: configs/team_schema.yaml   # keep in sync with the warehouse
  prediction_log: data/predictions.sqlite
"""


def run_runner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def make_project(root: Path, files: dict[str, str]) -> Path:
    (root / ".copier-answers.yml").write_text("_commit: 0.1.0\n")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(text.encode())
    return root


# ----------------------------------------------------------- the rename ---


def test_rename_changes_only_the_key_and_keeps_comments_and_values() -> None:
    new, warning = rename["rename_in_text"](PROJECT_YAML)
    assert warning is None
    changed = [
        (a, b) for a, b in zip(PROJECT_YAML.splitlines(), new.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        (
            "  schema: configs/team_schema.yaml   # keep in sync with the warehouse",
            "  schema_file: configs/team_schema.yaml   # keep in sync with the warehouse",
        )
    ]
    assert yaml.safe_load(new)["paths"]["schema_file"] == "configs/team_schema.yaml"


def test_rename_is_idempotent() -> None:
    once, _ = rename["rename_in_text"](PROJECT_YAML)
    twice, warning = rename["rename_in_text"](once)
    assert twice == once and warning is None


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # Windows line endings survive.
        ("paths:\r\n  schema: s.yaml\r\n", "paths:\r\n  schema_file: s.yaml\r\n"),
        # Quoted key, four-space indent, section comment.
        ("paths:  # where\n    'schema': s.yaml\n", "paths:  # where\n    'schema_file': s.yaml\n"),
        # Flow style.
        ("paths: {data_dir: d, schema: s.yaml}\n", "paths: {data_dir: d, schema_file: s.yaml}\n"),
        # The last line without a newline.
        ("a: 1\npaths:\n  schema: s.yaml", "a: 1\npaths:\n  schema_file: s.yaml"),
    ],
)
def test_rename_handles_yaml_spellings(before: str, after: str) -> None:
    assert rename["rename_in_text"](before) == (after, None)


@pytest.mark.parametrize(
    "text",
    [
        "data:\n  schema: s.yaml\npaths:\n  data_dir: d\n",  # `schema` of another section
        "paths:\n  extra:\n    schema: s.yaml\n",  # nested deeper inside paths
        "schema: s.yaml\n",  # top level
        "problem:\n  statement: 'paths:\n  schema: x'\n",  # no paths section at all
        "paths:\n  schema_file: s.yaml\n",  # already renamed
    ],
)
def test_rename_leaves_other_schema_keys_alone(text: str) -> None:
    assert rename["rename_in_text"](text) == (text, None)


def test_both_keys_present_is_left_alone_with_a_warning() -> None:
    text = "paths:\n  schema: a.yaml\n  schema_file: b.yaml\n"
    new, warning = rename["rename_in_text"](text)
    assert new == text
    assert warning is not None and "both paths.schema and paths.schema_file" in warning


CONFLICTED = """\
paths:
  reports_dir: reports
<<<<<<< before updating
  schema: configs/features.yaml   # ours
=======
  schema_file: configs/schema.yaml
  prediction_log: data/predictions.sqlite
>>>>>>> after updating
"""


def test_resolves_the_conflict_only_the_rename_caused() -> None:
    resolved = rename["resolve_rename_conflicts"](CONFLICTED)
    assert resolved == (
        "paths:\n  reports_dir: reports\n"
        "  schema_file: configs/features.yaml   # ours\n"
        "  prediction_log: data/predictions.sqlite\n"
    )
    diff3 = CONFLICTED.replace(
        "=======\n", "||||||| last update\n  schema: configs/schema.yaml\n=======\n"
    )
    assert rename["resolve_rename_conflicts"](diff3) == resolved


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # The user also changed another line in the block: the user decides.
        (
            "  schema: configs/features.yaml   # ours\n",
            "  schema: configs/features.yaml   # ours\n  reports_dir: out\n",
        ),
        # A conflict that has nothing to do with the rename.
        ("  schema: configs/features.yaml   # ours\n", "  data_dir: mine\n"),
    ],
)
def test_leaves_other_conflicts_to_the_user(old: str, new: str) -> None:
    text = CONFLICTED.replace(old, new)
    assert rename["resolve_rename_conflicts"](text) == text


def test_migrate_covers_every_project_config_and_honours_dry_run(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {
            "configs/project.yaml": PROJECT_YAML,
            "configs/env/staging.yml": "paths:\n  schema: configs/staging_schema.yaml\n",
            "configs/schema.yaml": "features:\n  - name: schema\n",
            "notes/paths.yaml": "paths:\n  schema: not/a/project/config.yaml\n",
        },
    )
    before = {p: p.read_bytes() for p in project.rglob("*.y*ml")}
    expected = ["configs/env/staging.yml", "configs/project.yaml"]
    assert rename["migrate"](project, dry_run=True) == expected
    assert {p: p.read_bytes() for p in project.rglob("*.y*ml")} == before
    assert rename["migrate"](project) == expected
    assert rename["migrate"](project) == []
    staging = yaml.safe_load((project / "configs/env/staging.yml").read_text())
    assert staging == {"paths": {"schema_file": "configs/staging_schema.yaml"}}
    untouched = ("configs/schema.yaml", "notes/paths.yaml")
    assert all((project / n).read_bytes() == before[project / n] for n in untouched)


# ------------------------------------------- the prediction log folder ---


def test_the_log_path_loses_only_its_sqlite_ending() -> None:
    text = (
        "serving:\n  log_source: predictions.sqlite\n"
        "paths:\n  data_dir: data\n"
        '  prediction_log: "/var/ml/churn.sqlite"   # on the big disk\n'
    )
    fixed, values = log_folder["fix_text"](text)
    assert values == ["/var/ml/churn.sqlite"]
    assert fixed == text.replace('churn.sqlite"', 'churn"')  # quotes and comment kept
    assert log_folder["fix_text"](fixed) == (fixed, [])  # idempotent


def test_the_log_path_is_fixed_on_the_teams_side_of_a_conflict() -> None:
    """The team edited the line above; the update's block covers both lines."""
    text = (
        "paths:\n"
        "<<<<<<< before updating\n"
        "  schema_file: ./configs/schema.yaml  # ours\n"
        "  prediction_log: data/predictions.sqlite\n"
        "=======\n"
        "  schema_file: configs/schema.yaml\n"
        "  prediction_log: data/predictions\n"
        ">>>>>>> after updating\n"
    )
    fixed, values = log_folder["fix_text"](text)
    assert values == ["data/predictions.sqlite"]
    assert fixed == text.replace("predictions.sqlite", "predictions")


@pytest.mark.parametrize(
    "text",
    [
        "paths:\n  prediction_log: data/predictions\n",  # already a folder
        "paths:\n  prediction_log: s3://bucket/log\n",
        "other:\n  prediction_log: data/x.sqlite\n",  # not the paths section
    ],
)
def test_the_log_migration_leaves_other_values_alone(text: str) -> None:
    assert log_folder["fix_text"](text) == (text, [])


def test_the_log_migration_covers_every_config_and_names_the_old_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project(
        tmp_path,
        {
            "configs/project.yaml": PROJECT_YAML,
            "configs/local.yaml": "paths:\n  prediction_log: data/predictions.sqlite\n",
            "data/predictions.sqlite": "not really SQLite",
        },
    )
    assert log_folder["migrate"](project, dry_run=True) == [
        "configs/local.yaml",
        "configs/project.yaml",
    ]
    assert "prediction_log: data/predictions.sqlite" in (project / "configs/local.yaml").read_text()
    assert len(log_folder["migrate"](project)) == 2
    assert "log convert" in capsys.readouterr().err
    local = yaml.safe_load((project / "configs/local.yaml").read_text())
    assert local == {"paths": {"prediction_log": "data/predictions"}}
    assert (project / "data/predictions.sqlite").read_text() == "not really SQLite"
    assert log_folder["migrate"](project) == []


# ------------------------------------------------------------ the runner ---


def test_runner_runs_the_versions_scripts_once_and_is_idempotent(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"configs/project.yaml": PROJECT_YAML})
    first = run_runner("--version", "0.2.0", cwd=project)
    assert first.returncode == 0, first.stderr
    assert "0.2.0/01 paths-schema-file: changed configs/project.yaml" in first.stdout
    second = run_runner("--version", "0.2.0", "--project", str(project), cwd=tmp_path)
    assert second.returncode == 0 and "nothing to do" in second.stdout


def test_runner_lists_and_explains_bad_input(tmp_path: Path) -> None:
    listed = run_runner("--list", cwd=tmp_path)
    assert listed.returncode == 0 and "0.2.0/01 paths-schema-file" in listed.stdout
    nothing = run_runner(
        "--version", "9.9.9", "--project", str(make_project(tmp_path, {})), cwd=tmp_path
    )
    assert nothing.returncode == 0 and "no migrations for 9.9.9" in nothing.stdout
    bad = run_runner("--version", "latest", cwd=tmp_path)
    assert bad.returncode == 2 and "'latest' is not a release number" in bad.stderr
    stranger = tmp_path / "not-a-project"
    stranger.mkdir()
    refused = run_runner("--version", "0.2.0", cwd=stranger)
    assert refused.returncode == 1 and "no .copier-answers.yml" in refused.stderr


def test_runner_orders_scripts_and_names_the_one_that_fails(tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    scripts.mkdir()
    body = "def migrate(project, *, dry_run=False):\n    {}\n"
    (scripts / "v1.0-02-second.py").write_text(body.format("raise ValueError('disk full')"))
    (scripts / "v1.0.0-01-first.py").write_text(body.format("return ['a.txt']"))
    (scripts / "v1.1.0-01-later.py").write_text(body.format("return ['b.txt']"))
    labels = [m.label for m in runner["discover"](scripts)]
    assert labels == ["1.0.0/01 first", "1.0/02 second", "1.1.0/01 later"]
    with pytest.raises(runner["MigrationError"], match=r"1\.0/02 second failed: disk full"):
        runner["run_version"]("1.0.0", tmp_path, directory=scripts)
    assert runner["run_version"]("1.1", tmp_path, directory=scripts) == {
        "1.1.0/01 later": ["b.txt"]
    }
    (scripts / "rename_things.py").write_text(body.format("return []"))
    with pytest.raises(runner["MigrationError"], match="not named v<version>"):
        runner["discover"](scripts)


# ------------------------------------------------------ 0.3.0: moved modules ---


def released_file(template_path: str) -> bytes:
    """A file of the template as release 0.2.0 had it (plain files render unchanged)."""
    return subprocess.run(
        ["git", "show", f"{RELEASE_0_2_0}:template/src/{{{{package_name}}}}/{template_path}"],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        check=True,
    ).stdout


def updated_project(root: Path, files: dict[str, bytes]) -> Path:
    """A project whose last commit holds `files`, which the update then removed."""
    root.mkdir(parents=True)
    (root / ".copier-answers.yml").write_text("_commit: 0.2.0\npackage_name: team_pkg\n")
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "before the update")
    for name in files:
        (root / name).unlink()  # what copier update does to a module the template moved
    return root


def test_the_released_hashes_are_the_released_files() -> None:
    """Edit detection is only as good as the hashes: each must be its 0.2.0 file."""
    import hashlib

    for old, hashes in moved["RELEASED"].items():
        template_path = old.replace("serving/", "{% if online %}serving{% endif %}/")
        template_path = template_path.replace(
            "out_of_core/", "{% if data_scale == 'out_of_core' %}out_of_core{% endif %}/"
        ).replace("cluster/", "{% if data_scale == 'cluster' %}cluster{% endif %}/")
        if template_path == "partitioned.py":
            template_path = "{% if data_scale != 'memory' %}partitioned.py{% endif %}"
        assert hashlib.sha256(released_file(template_path)).hexdigest() in hashes, old
    assert set(moved["RELEASED"]) == set(moved["MOVED"])


def test_an_edited_moved_module_is_kept_and_an_untouched_one_is_not(tmp_path: Path) -> None:
    edited = released_file("baseline.py") + b"\n# team-edit: our own baseline tweak\n"
    project = updated_project(
        tmp_path / "p",
        {
            "src/team_pkg/baseline.py": edited,
            "src/team_pkg/evaluate.py": released_file("evaluate.py"),
        },
    )
    changed = moved["migrate"](project)
    kept = project / "template-update-0.3.0" / "src/team_pkg/baseline.py"
    assert kept.read_bytes() == edited
    assert not (project / "template-update-0.3.0/src/team_pkg/evaluate.py").exists()
    readme = (project / "template-update-0.3.0" / "README.md").read_text()
    assert "`src/team_pkg/baseline.py`" in readme and "problems/<type>.py" in readme
    assert sorted(changed) == [
        "template-update-0.3.0/README.md",
        "template-update-0.3.0/src/team_pkg/baseline.py",
    ]
    assert moved["migrate"](project) == []  # idempotent


def test_dry_run_reports_and_writes_nothing(tmp_path: Path) -> None:
    project = updated_project(tmp_path / "p", {"src/team_pkg/metrics.py": b"# ours\n"})
    assert sorted(moved["migrate"](project, dry_run=True)) == [
        "template-update-0.3.0/README.md",
        "template-update-0.3.0/src/team_pkg/metrics.py",
    ]
    assert not (project / "template-update-0.3.0").exists()


def test_a_module_still_in_the_tree_or_never_committed_is_left_alone(tmp_path: Path) -> None:
    project = updated_project(tmp_path / "p", {"src/team_pkg/bootstrap.py": b"# ours\n"})
    (project / "src/team_pkg/bootstrap.py").write_bytes(b"# still here\n")
    assert moved["migrate"](project) == []
    (project / "src/team_pkg/bootstrap.py").unlink()
    git(project, "rm", "-q", "--cached", "src/team_pkg/bootstrap.py")
    git(project, "commit", "-q", "-m", "gone")
    assert moved["migrate"](project) == []


# ------------------------------------------------------------ the wiring ---


def test_every_migration_is_wired_in_copier_yml_and_the_changelog() -> None:
    config = yaml.safe_load((TEMPLATE_ROOT / "copier.yml").read_text())
    wired = {}
    for entry in config["_migrations"]:
        command = entry["command"]
        assert command[:2] == [
            "{{ _copier_python }}",
            "{{ _copier_conf.src_path }}/hooks/migrate.py",
        ]
        assert command[2:] == ["--version", entry["version"]]
        assert "_stage == 'after'" in entry["when"]
        wired[entry["version"]] = entry
    scripts = runner["discover"]()
    assert {Version(m.version) for m in scripts} == {Version(v) for v in wired}
    changelog = CHANGELOG.read_text()
    for migration in scripts:
        section = changelog.split(f"## {migration.version} - ", 1)[1].split("\n## ", 1)[0]
        assert migration.path.name in section and "Migration: yes" in section


def test_update_across_a_migration_needs_trust_and_changes_nothing_without(
    release_repo: ReleaseRepo, tmp_path: Path
) -> None:
    migrating = [
        m.version
        for m in runner["discover"]()
        if Version(m.version) <= Version(release_repo.head_version)
    ]
    olders = [v for v in release_repo.released if any(Version(v) < Version(m) for m in migrating)]
    if not olders:
        pytest.skip("no release older than a migration")
    project = tmp_path / "p"
    run_copy(
        str(release_repo.path),
        project,
        data={"package_name": "mig_trust"},
        defaults=True,
        unsafe=False,
        vcs_ref=olders[0],
        quiet=True,
    )
    STATS["projects rendered"] += 1
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "generated")
    with pytest.raises(UnsafeTemplateError, match="migrations"):
        run_update(
            project,
            defaults=True,
            overwrite=True,
            unsafe=False,
            vcs_ref=release_repo.head_version,
            quiet=True,
        )
    assert git(project, "status", "--porcelain") == ""
