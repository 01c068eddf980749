"""`data check`: every way a data file breaks the schema, by column, before training.

Training stops at the first broken column (`validation.validate_frame`); this
check runs the same rules (`validation.check_rows`) over the whole file and
lists every broken rule with its row count and the first rows, so a team fixes
its export once instead of once per `train`. The rules live in
`configs/schema.yaml`; the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from rich.table import Table

from .config import ProjectConfig
from .console import new_table
from .data import dataset_path, parse_times, with_label_column
from .schema import SchemaError
from .tables import DataError, read_table
from .validation import Finding, check_rows


@dataclass(frozen=True)
class DataCheckReport:
    """What `data check` found in one file."""

    source: Path
    schema_file: Path
    rows: int
    findings: list[Finding] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and not self.missing_columns

    def table(self) -> Table:
        """Every broken rule: column, problem, rows, the first rows with their values."""
        table = new_table(
            f"{self.source}: {self.rows} rows against {self.schema_file}",
            *("column", "problem", "rows", "first rows (row from 0: value)"),
        )
        for name in self.missing_columns:
            table.add_row(name, "column missing from the file", str(self.rows), "")
        for finding in self.findings:
            examples = ", ".join(f"{row}: {value!r}" for row, value in finding.examples)
            table.add_row(finding.column, finding.problem, str(finding.rows), examples)
        return table


def check_data_file(config: ProjectConfig, source: Path | None = None) -> DataCheckReport:
    """Check `source` (default: `data.source`, else the sample) against the schema.

    Raises `DataError` when the file cannot be read at all.
    """
    path = source or dataset_path(config)
    schema = config.feature_schema
    frame = with_label_column(read_table(path), schema)
    schema_file = config.path(config.paths.schema_file)
    if frame.empty:
        raise DataError(f"{path} has a header but no rows")
    needed = [*schema.input_columns, schema.label.name, *schema.id_columns]
    missing = [name for name in needed if name not in frame.columns]
    known = set(needed)
    extra = [str(name) for name in frame.columns if name not in known]
    findings: list[Finding] = []
    notes: list[str] = []
    if schema.time_column and schema.time_column in frame.columns:
        try:
            frame[schema.time_column] = parse_times(frame[schema.time_column], schema)
        except SchemaError as error:
            findings.append(Finding(schema.time_column, str(error), len(frame), []))
    present = {name: frame[name] for name in frame.columns if name in known}
    for name in missing:  # checked as all-missing, so the rules still run on the rest
        present[name] = pd.Series([None] * len(frame), dtype=object)
    check = check_rows(present, schema, require_label=True, require_time=True)
    findings += [f for f in check.findings if f.column not in missing]
    findings += _label_findings(config, frame, missing)
    if extra:
        notes.append(f"columns not in the schema (ignored): {extra[:20]}")
    return DataCheckReport(path, schema_file, len(frame), findings, missing, extra, notes)


def _label_findings(
    config: ProjectConfig, frame: pd.DataFrame, missing: list[str]
) -> list[Finding]:
    """Classes that never appear: a model cannot learn a class it never sees.

    Not for a problem type that learns without labels (anomaly detection):
    there an empty or one-class label column is a normal state, and training
    names what its learner needs.
    """
    label = config.feature_schema.label
    count = label.class_count
    if label.name in missing or count is None or config.problem_type.labels_optional:
        return []
    try:
        codes = label.encode(frame[label.name])
    except SchemaError:
        return []  # the row rules already name the unknown values
    seen = set(np.unique(codes[~np.isnan(codes)]).astype(int).tolist())
    absent = [c for c in range(count) if c not in seen]
    if not absent:
        return []
    names = [label.classes[c] if label.classes else c for c in absent]
    return [Finding(label.name, f"class(es) {names} never appear", len(frame), [])]
