"""Run the template's migrations for one release inside a generated project.

Copier calls this through `_migrations` in copier.yml when `copier update`
crosses a release that changes something users may have edited (a renamed
config key, a moved file). Each release's scripts live in hooks/migrations/
as `v<version>-<order>-<slug>.py` and define `migrate(project: Path) -> list[str]`
returning what they changed. Scripts are idempotent, so running a version twice
is harmless. Standard library only: it runs with whatever Python runs Copier.

    python hooks/migrate.py --version 0.2.0 [--project DIR] [--dry-run]
    python hooks/migrate.py --list
"""

from __future__ import annotations

import argparse
import re
import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SCRIPT_NAME = re.compile(r"^v(?P<version>\d+(?:\.\d+)*)-(?P<order>\d+)-(?P<slug>[a-z0-9_-]+)\.py$")


class MigrationError(RuntimeError):
    """A migration script is malformed or failed; the message names it."""


@dataclass(frozen=True)
class Migration:
    version: str
    order: int
    slug: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.version}/{self.order:02d} {self.slug}"

    def load(self) -> Callable[..., list[str]]:
        namespace = runpy.run_path(str(self.path), run_name=f"migration_{self.slug}")
        migrate = namespace.get("migrate")
        if not callable(migrate):
            raise MigrationError(f"{self.path.name} defines no migrate(project) function")
        return migrate


def version_key(version: str) -> tuple[int, ...]:
    """Numeric release versions ('0.2.0') compared as tuples; trailing zeros ignored."""
    parts = [int(part) for part in version.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration script, ordered by version then order number."""
    found = []
    for path in sorted(directory.glob("*.py")):
        match = SCRIPT_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path.name} is not named v<version>-<order>-<slug>.py "
                f"(e.g. v0.2.0-01-rename-key.py)"
            )
        found.append(Migration(match["version"], int(match["order"]), match["slug"], path))
    return sorted(found, key=lambda m: (version_key(m.version), m.order))


def run_version(
    version: str, project: Path, *, dry_run: bool = False, directory: Path = MIGRATIONS_DIR
) -> dict[str, list[str]]:
    """Run every migration of `version` in `project`; label -> changed paths."""
    wanted = version_key(version)
    results: dict[str, list[str]] = {}
    for migration in discover(directory):
        if version_key(migration.version) != wanted:
            continue
        migrate = migration.load()
        try:
            changed = migrate(project, dry_run=dry_run)
        except Exception as error:
            raise MigrationError(f"migration {migration.label} failed: {error}") from error
        results[migration.label] = list(changed)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="release whose migrations to run, e.g. 0.2.0")
    parser.add_argument(
        "--project",
        type=Path,
        default=Path.cwd(),
        help="generated project folder (default: current folder)",
    )
    parser.add_argument("--dry-run", action="store_true", help="report, change nothing")
    parser.add_argument("--list", action="store_true", help="list the known migrations")
    args = parser.parse_args(argv)
    try:
        if args.list:
            for migration in discover():
                print(migration.label)
            return 0
        if not args.version:
            parser.error("--version is required (or --list)")
        if not re.fullmatch(r"\d+(\.\d+)*", args.version):
            parser.error(f"--version {args.version!r} is not a release number such as 0.2.0")
        if not (args.project / ".copier-answers.yml").is_file():
            raise MigrationError(
                f"{args.project} has no .copier-answers.yml; not a generated project"
            )
        results = run_version(args.version, args.project, dry_run=args.dry_run)
    except MigrationError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    if not results:
        print(f"migrate: no migrations for {args.version}")
    verb = "would change" if args.dry_run else "changed"
    for label, changed in results.items():
        detail = f"{verb} {', '.join(changed)}" if changed else "nothing to do"
        print(f"migrate {label}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
