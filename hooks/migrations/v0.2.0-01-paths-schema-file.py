"""0.2.0: the config key `paths.schema` is now `paths.schema_file`.

The new name says that the value is a file, next to `paths.prediction_log`.
Copier's three-way merge already renames the key in configs/project.yaml when
the user left that line alone. When the user had changed the value, the merge
leaves a conflict block (their `schema: x` against the template's
`schema_file: configs/schema.yaml`); this script resolves exactly that block to
`schema_file: x`, and leaves any block with other edits in it to the user. It
also renames the key in every other project config the team made
(configs/*.yaml copies for staging, experiments...). It edits the text line by
line, so comments, order, quoting and every other value stay exactly as they
were, and it does nothing when the key is already renamed (idempotent).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

OLD_KEY = "schema"
NEW_KEY = "schema_file"
SECTION = re.compile(r"^paths\s*:\s*(#.*)?$")
FLOW_SECTION = re.compile(r"^paths\s*:\s*\{")
BLOCK_KEY = re.compile(r"^(?P<indent>[ \t]+)(?P<q>[\"']?)(?P<key>[A-Za-z0-9_]+)(?P=q)\s*:")
FLOW_OLD = re.compile(r"(?P<lead>[{,]\s*)(?P<q>[\"']?)schema(?P=q)(?P<colon>\s*:)")
FLOW_NEW = re.compile(r"[{,]\s*[\"']?schema_file[\"']?\s*:")
CONFLICT = re.compile(
    r"^<<<<<<< before updating\r?\n(?P<ours>.*?)"
    r"(?:^\|\|\|\|\|\|\|[^\n]*\n.*?)?"  # the base, when git writes diff3 style
    r"^=======\r?\n(?P<theirs>.*?)^>>>>>>> after updating[^\n]*(?:\n|\Z)",
    re.MULTILINE | re.DOTALL,
)


def _key(line: str) -> str | None:
    match = BLOCK_KEY.match(line)
    return match["key"] if match else None


def _renamed(line: str) -> str:
    match = BLOCK_KEY.match(line)
    if match is None or match["key"] != OLD_KEY:
        return line
    prefix = f"{match['indent']}{match['q']}{OLD_KEY}{match['q']}"
    return f"{match['indent']}{match['q']}{NEW_KEY}{match['q']}" + line[len(prefix) :]


def resolve_rename_conflicts(text: str) -> str:
    """Resolve the update conflicts that only this rename caused, keeping the user's value."""

    def resolve(block: re.Match[str]) -> str:
        ours = block["ours"].splitlines(keepends=True)
        theirs = block["theirs"].splitlines(keepends=True)
        if not any(_key(line) == OLD_KEY for line in ours):
            return block[0]
        renamed = [_renamed(line) for line in ours]
        mine = [line for line in renamed if _key(line) == NEW_KEY]
        at = [i for i, line in enumerate(theirs) if _key(line) == NEW_KEY]
        others = [line for line in renamed if _key(line) != NEW_KEY]
        if len(mine) != 1 or len(at) != 1 or any(line not in theirs for line in others):
            return block[0]  # the user changed more than the value: theirs to decide
        theirs[at[0]] = mine[0] if mine[0].endswith("\n") else mine[0] + "\n"
        return "".join(theirs)

    return CONFLICT.sub(resolve, text)


def rename_in_text(text: str) -> tuple[str, str | None]:
    """Return (new text, warning). The text is unchanged when nothing needs doing."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if FLOW_SECTION.match(body):
            if FLOW_NEW.search(body):
                return text, _both_warning(body) if FLOW_OLD.search(body) else None
            lines[index] = FLOW_OLD.sub(
                lambda m: f"{m['lead']}{m['q']}{NEW_KEY}{m['q']}{m['colon']}", line, count=1
            )
            return "".join(lines), None
        if SECTION.match(body):
            return _rename_in_block(lines, index + 1)
    return text, None


def _rename_in_block(lines: list[str], start: int) -> tuple[str, str | None]:
    key_indent: str | None = None
    old_at: int | None = None
    has_new = False
    for index in range(start, len(lines)):
        body = lines[index].rstrip("\r\n")
        stripped = body.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not body[0].isspace():
            break  # the next top-level key: the section ended
        match = BLOCK_KEY.match(body)
        if match is None:
            continue
        if key_indent is None:
            key_indent = match["indent"]
        if match["indent"] != key_indent:
            continue  # a nested value, not a key of `paths`
        if match["key"] == OLD_KEY:
            old_at = index
        elif match["key"] == NEW_KEY:
            has_new = True
    text = "".join(lines)
    if old_at is None:
        return text, None
    if has_new:
        return text, _both_warning(lines[old_at].strip())
    lines[old_at] = _renamed(lines[old_at])
    return "".join(lines), None


def _both_warning(line: str) -> str:
    return (
        f"both paths.{OLD_KEY} and paths.{NEW_KEY} are set ({line!r}); "
        f"left as is, delete the one you do not want"
    )


def config_files(project: Path) -> list[Path]:
    folder = project / "configs"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def migrate(project: Path, *, dry_run: bool = False) -> list[str]:
    """Rename the key in every project config under configs/; the changed paths."""
    changed = []
    for path in config_files(project):
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        new_text, warning = rename_in_text(resolve_rename_conflicts(text))
        relative = path.relative_to(project).as_posix()
        if warning:
            print(f"warning: {relative}: {warning}", file=sys.stderr)
        if new_text != text:
            changed.append(relative)
            if "<<<<<<< before updating" in text and "<<<<<<< before updating" not in new_text:
                print(
                    f"resolved the paths.schema conflict in {relative}; `git add` it",
                    file=sys.stderr,
                )
            if not dry_run:
                path.write_bytes(new_text.encode("utf-8"))
    return changed


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd()
    for name in migrate(target):
        print(f"renamed paths.{OLD_KEY} -> paths.{NEW_KEY} in {name}")
