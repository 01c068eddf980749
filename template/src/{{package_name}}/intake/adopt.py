"""Adopting an inferred schema: prove it on the table, back up the configs, then write them.

`data infer` must leave the project either fully switched to the team's data
or untouched. So the new `configs/schema.yaml` and the edited
`configs/project.yaml` are first written to a scratch folder, loaded with
`load_config` and used to read, split and check the table exactly as
training will; only when that works are the old files backed up and the
new ones written. project.yaml is edited line by line, so its comments stay.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import textwrap
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from ..config import DEFAULT_CONFIG, ConfigError, ProjectConfig, load_config
from ..data import prepare_dataset, split_dataset
from ..problems import ProblemError
from ..recipe import TrainingError, group_sizes, labels_of
from ..schema import SchemaError
from ..tables import DataError
from .infer import Inference

SCHEMA_SCRATCH = Path("configs") / "schema.yaml"
COMMENT_WIDTH = 96
# Sizing serving.max_body_bytes: the longest number as JSON text
# (-2.2250738585072014e-308), an id or time value, a row's own braces and a
# candidate's id, and the step the limit rounds up to.
NUMBER_BYTES = 24
KEY_BYTES = 64
ROW_OVERHEAD_BYTES = 64
BODY_LIMIT_STEP = 65_536


class AdoptError(ValueError):
    """The inferred configs would not work on the table (nothing was written)."""


@dataclass(frozen=True)
class Adoption:
    """What was (or, on a dry run, would be) written."""

    schema_file: Path
    project_file: Path
    schema_text: str
    changes: tuple[str, ...]  # "data.source: data/shop.csv", ...
    backups: tuple[Path, ...] = ()
    written: bool = False


def adopt_inference(
    config: ProjectConfig,
    inference: Inference,
    frame: pd.DataFrame,
    *,
    source: Path,
    config_file: Path,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Adoption:
    """Check the inferred configs on `frame` (read from `source`), then write them.

    Raises `AdoptError` naming what fails; no file is touched then, nor on a dry run.
    """
    now = now or datetime.now().astimezone()
    source_text = _source_text(source, config.root)
    schema_text = render_schema(inference, config=config, source=source_text, now=now)
    settings: list[tuple[str, str, Any]] = [("data", "source", source_text)]
    if inference.threshold is not None:
        settings.append(("metric", "threshold", inference.threshold.value))
    if inference.n_classes is not None:
        settings.append(("problem", "n_classes", inference.n_classes))
    if inference.schema["label"].get("nullable") and not inference.labelled_rows:
        # nothing to supervise: the learner that needs no labels
        settings.append(("problem", "labels_available", "none"))
        settings.append(("problem", "learner", "isolation_forest"))
    if config.serving.mode == "online":
        needed = request_body_limit(config, inference.schema)
        if needed > config.serving.max_body_bytes:
            settings.append(("serving", "max_body_bytes", needed))
    project_text = config_file.read_text(encoding="utf-8")
    for section, key, value in settings:
        project_text = set_yaml_value(project_text, section, key, value)
    _prove(config, project_text, schema_text, frame)
    schema_file = config.path(config.paths.schema_file)
    adoption = Adoption(
        schema_file=schema_file,
        project_file=config_file,
        schema_text=schema_text,
        changes=tuple(f"{section}.{key}: {value}" for section, key, value in settings),
    )
    if dry_run:
        return adoption
    backups = tuple(back_up(path, now) for path in (schema_file, config_file) if path.exists())
    replace_text(schema_file, schema_text)
    replace_text(config_file, project_text)
    return replace(adoption, backups=backups, written=True)


def request_body_limit(config: ProjectConfig, schema: dict[str, Any]) -> int:
    """Bytes for the largest request the service accepts under `schema`, in 64 KiB steps.

    A request may hold `max_rows_per_request` rows (ranking: `max_candidates`
    candidates), each a JSON object of every feature plus the id and time
    columns. A wide schema's legal request can outgrow the default body limit,
    and the service would answer 413 to a request its row limit allows. The
    bound is the schema's, not the table's: a number at its longest as JSON
    (`NUMBER_BYTES`), a category at its longest, an id or a time as a
    `KEY_BYTES` string, separators with a space as most JSON libraries write
    them, and a quarter of headroom.
    """
    serving = config.serving
    rows = serving.max_candidates if config.problem_type.grouped else serving.max_rows_per_request
    fields: list[tuple[str, int]] = []
    for feature in schema["features"]:
        if feature["kind"] == "numeric":
            width = NUMBER_BYTES
        else:
            width = max((len(json.dumps(str(c))) for c in feature.get("categories", [])), default=4)
        fields.append((feature["name"], width))
    keys = [*schema.get("id_columns", []), schema.get("time_column")]
    fields += [(name, KEY_BYTES) for name in keys if name]
    row = sum(len(json.dumps(name)) + len(": ") + width + len(", ") for name, width in fields)
    needed = rows * (row + ROW_OVERHEAD_BYTES) * 5 // 4
    return -(-needed // BODY_LIMIT_STEP) * BODY_LIMIT_STEP


def render_schema(
    inference: Inference, *, config: ProjectConfig, source: str, now: datetime
) -> str:
    """configs/schema.yaml for the inference: a header, the schema, the left-out columns."""
    schema = inference.schema
    header = (
        f"Feature schema of {config.project.name}, inferred by `{config.project.slug} data "
        f"infer` from {source} on {now:%Y-%m-%d} ({inference.rows:,} rows; distinct values "
        f"judged on {inference.profiled_rows:,}). Review it before training: the guesses to "
        "check are listed below, the columns left out are at the end with the reason, and "
        "the previous schema is in a .bak file beside this one. Numeric features keep values "
        "within min..max, categorical ones list their categories, nullable says whether a "
        "value may be missing."
    )
    lines = _comment(header)
    if inference.review:
        lines += ["#", "# Review:"]
        for note in inference.review:
            lines += _comment(note, first="#   - ", rest="#     ")
    lines.append("")
    for key in ("time_column", "time_format", "group_column", "id_columns", "label"):
        if key in schema and (schema[key] is not None or key == "time_column"):
            lines.append(f"{key}: {_flow(schema[key])}")
    lines.append("features:")
    lines += [f"  - {_flow(feature)}" for feature in schema["features"]]
    if inference.dropped:
        lines += ["", "# Columns left out (add one back as a feature once its reason is gone):"]
        for column in inference.dropped:
            note = f"{column.name} ({column.decision}): {column.reason}"
            lines += _comment(note, first="#   ", rest="#       ")
    return "\n".join(lines) + "\n"


def set_yaml_value(text: str, section: str, key: str, value: Any) -> str:
    """`text` with `section.key` set to `value`; other lines (comments too) stay as they are.

    Only for a top-level section of key: value lines (as in configs/project.yaml).
    A missing key is added at the end of its section.
    """
    lines = text.splitlines(keepends=True)
    header = re.compile(rf"^{re.escape(section)}:[ \t]*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line.rstrip("\r\n"))), None)
    if start is None:
        raise AdoptError(f"configs/project.yaml has no '{section}:' section to set {key} in")
    end, indent, last = start + 1, "", start
    while end < len(lines):
        line = lines[end].rstrip("\r\n")
        if line and not line[0].isspace() and not line.startswith("#"):
            break
        if line.strip() and not line.lstrip().startswith("#"):
            # the section's keys sit at its first line's indent; deeper lines are block values
            indent = indent or line[: len(line) - len(line.lstrip())]
            last = end
        end += 1
    indent = indent or "  "
    entry = re.compile(
        rf"^{re.escape(indent)}{re.escape(key)}:(?P<value>[^#\n]*?)(?P<note>[ \t]+#.*)?$"
    )
    rendered = f"{indent}{key}: {_flow(value)}"
    for i in range(start + 1, end):
        found = entry.match(lines[i].rstrip("\r\n"))
        if found:
            lines[i] = f"{rendered}{found.group('note') or ''}\n"
            if not found.group("value").strip():  # a block value below the key goes with it
                nested = i + 1
                while nested < end and _deeper(lines[nested], indent):
                    nested += 1
                del lines[i + 1 : nested]
            return "".join(lines)
    lines.insert(last + 1, f"{rendered}\n")
    return "".join(lines)


def _deeper(line: str, indent: str) -> bool:
    """Whether `line` belongs to a block value at `indent` (a list item or a nested key)."""
    text = line.rstrip("\r\n")
    if text.startswith(f"{indent}- "):
        return True
    return bool(text.strip()) and len(text) - len(text.lstrip()) > len(indent)


def _prove(config: ProjectConfig, project_text: str, schema_text: str, frame: pd.DataFrame) -> None:
    """Load the new configs from a scratch folder and prepare the table as training does."""
    with tempfile.TemporaryDirectory(prefix="infer-") as scratch:
        root = Path(scratch)
        schema_path = config.paths.schema_file
        if schema_path.is_absolute():
            schema_path = SCHEMA_SCRATCH
            project_text = set_yaml_value(project_text, "paths", "schema_file", str(schema_path))
        for path, text in ((schema_path, schema_text), (DEFAULT_CONFIG, project_text)):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
        try:
            scratch_config = load_config(root / DEFAULT_CONFIG)
            schema = scratch_config.feature_schema
            prepared = prepare_dataset(frame.copy(), schema)
            splits = split_dataset(prepared, scratch_config)
            scratch_config.problem_type.check_training_labels(
                labels_of(splits.train, scratch_config)
            )
            if schema.group_column:
                group_sizes(splits.train[schema.group_column].to_numpy())
        except (ConfigError, SchemaError, DataError, ProblemError, TrainingError) as error:
            message = str(error).replace(f"{root / DEFAULT_CONFIG}", "the new project.yaml")
            raise AdoptError(f"the inferred configs do not work on this table: {message}") from None


def _source_text(source: Path, root: Path) -> str:
    """`source` relative to the project root when it is inside it, else absolute."""
    resolved = source.resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(resolved)


def back_up(path: Path, now: datetime) -> Path:
    """Copy `path` to `<name>.bak`, or a timestamped name when that is taken; never overwrite."""
    candidates = [path.with_name(f"{path.name}.bak")]
    candidates += [path.with_name(f"{path.name}.{now:%Y%m%d-%H%M%S}.bak")]
    candidates += [
        path.with_name(f"{path.name}.{now:%Y%m%d-%H%M%S}-{n}.bak") for n in range(2, 100)
    ]
    for backup in candidates:
        if not backup.exists():
            shutil.copy2(path, backup)
            return backup
    raise AdoptError(f"too many backups of {path}; remove old .bak files")


def replace_text(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, so a crash leaves the old file whole."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _flow(value: Any) -> str:
    """One YAML value on one line: `{name: x, kind: numeric}`, `'yes'`, `data/x.csv`."""
    dumped = yaml.safe_dump(
        [value], default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**9
    )
    return dumped.strip()[1:-1]


def _comment(text: str, *, first: str = "# ", rest: str = "# ") -> list[str]:
    """`text` as YAML comment lines of at most `COMMENT_WIDTH` characters (one line per line)."""
    flat = " ".join(str(text).split())  # a newline in a column name must not end the comment
    return textwrap.wrap(
        flat, width=COMMENT_WIDTH, initial_indent=first, subsequent_indent=rest
    ) or [first.rstrip()]
