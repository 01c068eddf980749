"""0.3.0: the prediction log is a folder of Parquet files, no longer one SQLite file.

`paths.prediction_log` used to name a file (`data/predictions.sqlite`); it now
names a folder (`data/predictions`). Copier's merge changes the line in
configs/project.yaml when the team left it alone; this script changes it in
every other project config (configs/*.yaml copies), in project.yaml when the
team had changed the value, and on the team's side of an update conflict that
covers the line (a neighbouring line the team edited): the value loses its `.sqlite`
ending, and its quoting and comment stay as they were. The old log's rows are
not touched: `<cli> log convert` copies them into the folder (row count and
checksum compared) and leaves the file; the script says so when one exists.
Running it again changes nothing (idempotent).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OLD_SUFFIX = ".sqlite"
SECTION = re.compile(r"^paths\s*:\s*(#.*)?$")
CONFLICT_MARK = re.compile(r"^(<<<<<<<|=======|>>>>>>>|\|\|\|\|\|\|\|)( |$)")
LINE = re.compile(
    r"^(?P<lead>[ \t]+(?P<q>[\"']?)prediction_log(?P=q)\s*:\s*)"
    r"(?P<vq>[\"']?)(?P<value>[^\"'#\s]+)(?P=vq)(?P<rest>.*)$"
)


def fix_text(text: str) -> tuple[str, list[str]]:
    """(new text, old values changed): `prediction_log: x.sqlite` under `paths:` -> `x`."""
    lines = text.splitlines(keepends=True)
    inside = False
    changed = []
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if CONFLICT_MARK.match(body):
            continue  # an update's conflict block: both sides are still inside `paths:`
        if SECTION.match(body):
            inside = True
            continue
        if inside and body and not body[0].isspace() and not body.lstrip().startswith("#"):
            inside = False  # the next top-level key
        match = LINE.match(body) if inside else None
        if match is None or not match["value"].endswith(OLD_SUFFIX):
            continue
        value = match["value"][: -len(OLD_SUFFIX)]
        ending = line[len(body) :]
        lines[index] = f"{match['lead']}{match['vq']}{value}{match['vq']}{match['rest']}{ending}"
        changed.append(match["value"])
    return "".join(lines), changed


def config_files(project: Path) -> list[Path]:
    folder = project / "configs"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def migrate(project: Path, *, dry_run: bool = False) -> list[str]:
    """Point every project config's prediction log at a folder; the changed paths."""
    changed = []
    old_logs = set()
    for path in config_files(project):
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            continue
        new_text, values = fix_text(text)
        if not values:
            continue
        changed.append(path.relative_to(project).as_posix())
        old_logs.update(values)
        if not dry_run:
            path.write_bytes(new_text.encode("utf-8"))
    for value in sorted(old_logs):
        old = Path(value) if Path(value).is_absolute() else project / value
        if old.is_file():
            print(
                f"{value} is the old SQLite prediction log: run `<cli> log convert --source "
                f"{value}` once to copy its rows into {value[: -len(OLD_SUFFIX)]}/ (the file "
                "stays until you delete it)",
                file=sys.stderr,
            )
    return changed


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for name in migrate(target):
        print(f"paths.prediction_log now names a folder in {name}")
