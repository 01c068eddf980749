"""Reading a table from disk: Parquet, a folder of Parquet files, or CSV in any common dialect.

Teams export CSV from many tools: semicolons and decimal commas from a
European spreadsheet, tabs, a byte-order mark, Windows-1252 text. The
dialect is worked out from the first 64 KB of the file each time it is
read; the same bytes always give the same dialect, so training, evaluation
and `data infer` see the same columns without a stored setting.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SAMPLE_FILE = "sample.parquet"
# The period the sample data covers (every problem type's sample world).
SAMPLE_START = pd.Timestamp("2025-01-01", tz="UTC")
SAMPLE_DAYS = 180
PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
QUOTE_CHARS = ('"', "'")
# Tried in order when a file is not UTF-8; latin-1 reads any byte, so it is last.
FALLBACK_ENCODINGS = ("cp1252", "latin-1")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_POINT_DECIMAL = re.compile(r"^[+-]?\d+\.\d+$")


class DataError(ValueError):
    """The data source is missing, unreadable or too small."""


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written: what pandas needs to read it."""

    delimiter: str = ","
    quotechar: str = '"'
    decimal: str = "."
    encoding: str = "utf-8"


def read_table(path: Path) -> pd.DataFrame:
    """Read a Parquet file, a folder of Parquet files or a CSV file (`.csv`, `.tsv`, `.txt`, `.gz`).

    Raises `DataError` with a sentence for a missing, empty or unreadable
    file, a file without rows or without a header line, and other suffixes.
    """
    if not path.exists():
        hint = " (run `data sample` first)" if path.name == SAMPLE_FILE else ""
        raise DataError(f"data source {path} does not exist{hint}")
    suffixes = [suffix.lower() for suffix in path.suffixes[-2:]]
    if path.is_dir() or (suffixes and suffixes[-1] in PARQUET_SUFFIXES):
        frame = _read_parquet(path)
    elif suffixes and (suffixes[-1] in CSV_SUFFIXES or suffixes[-1] == ".gz"):
        frame = _read_csv(path)
    else:
        suffix = "".join(path.suffixes) or "(none)"
        raise DataError(
            f"{path}: unsupported file type '{suffix}'; use Parquet (.parquet, or a folder of "
            "them) or CSV (.csv, .tsv, .txt, optionally .gz)"
        )
    if frame.empty:
        raise DataError(f"{path} has no rows (columns: {list(frame.columns)[:10]})")
    return frame


def sniff_csv(path: Path) -> CsvDialect:
    """The dialect of a CSV file, from its first `SNIFF_BYTES` bytes.

    >>> sniff_csv(Path("prices.csv"))  # doctest: +SKIP
    CsvDialect(delimiter=';', quotechar='"', decimal=',', encoding='utf-8')
    """
    head = _head_bytes(path)
    if not head.strip():
        raise DataError(f"{path} is empty")
    encoding, text = _decode(head)
    lines = text.splitlines()
    if len(head) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    lines = [line for line in lines if line.strip()]
    delimiter, quotechar, rows = _best_split(lines)
    return CsvDialect(delimiter, quotechar, _decimal(rows, delimiter), encoding)


def _read_parquet(path: Path) -> pd.DataFrame:
    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise DataError(f"{path} is a folder without .parquet files")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read {path} as Parquet: {error}") from None


def _read_csv(path: Path) -> pd.DataFrame:
    dialect = sniff_csv(path)
    encodings = [dialect.encoding, *(e for e in FALLBACK_ENCODINGS if e != dialect.encoding)]
    for encoding in encodings:
        try:
            frame = pd.read_csv(
                path,
                sep=dialect.delimiter,
                quotechar=dialect.quotechar,
                decimal=dialect.decimal,
                encoding=encoding,
                low_memory=False,
            )
        except UnicodeDecodeError:
            continue  # a later block of the file is not in this encoding
        except pd.errors.EmptyDataError:
            raise DataError(f"{path} is empty") from None
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read {path} as CSV: {error}") from None
        _check_header(frame, path)
        return frame
    raise DataError(f"cannot read {path}: its text is in none of {encodings}")


def _check_header(frame: pd.DataFrame, path: Path) -> None:
    """Refuse a CSV whose first line is data, or that was split at the wrong character."""
    names = [str(name) for name in frame.columns]
    if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
        raise DataError(
            f"{path} was read as one column named {names[0][:60]!r}: the delimiter looks "
            "wrong (it holds ';' or tabs); check the file is one table with a header line"
        )
    unnamed = all(name.startswith("Unnamed: ") for name in names)
    if unnamed or all(_is_number(name) for name in names):
        raise DataError(
            f"{path} has no header line: its first line {names[:5]} holds no column names; "
            "add a line with the names"
        )


def _head_bytes(path: Path) -> bytes:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            return bytes(handle.read(SNIFF_BYTES))
    except (OSError, EOFError) as error:
        raise DataError(f"cannot read {path}: {error}") from None


def _decode(head: bytes) -> tuple[str, str]:
    """(encoding, text): UTF-8 with or without a byte-order mark, else the fallbacks."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", head[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    try:
        # final=False: a character cut at the end of the sample is not an error
        return "utf-8", codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        pass
    for encoding in FALLBACK_ENCODINGS:
        try:
            return encoding, head.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _best_split(lines: list[str]) -> tuple[str, str, list[list[str]]]:
    """The delimiter and quote character that split the lines into the most consistent table.

    A candidate scores by the share of lines with as many fields as the
    header, then by the number of fields; ties go to the earlier candidate
    (comma, double quote), so the choice never depends on anything but the text.
    """
    best: tuple[float, int] = (-1.0, 0)
    chosen: tuple[str, str, list[list[str]]] = (",", '"', [])
    for delimiter in DELIMITERS:
        for quotechar in QUOTE_CHARS:
            try:
                rows = list(csv.reader(lines, delimiter=delimiter, quotechar=quotechar))
            except csv.Error:
                continue  # not text (a NUL byte): pandas then says what is wrong
            if not rows:
                continue
            width = len(rows[0])
            consistent = sum(len(row) == width for row in rows) / len(rows)
            score = (consistent if width > 1 else 0.0, width)
            if score > best:
                best, chosen = score, (delimiter, quotechar, rows)
    return chosen


def _decimal(rows: list[list[str]], delimiter: str) -> str:
    """',' when numbers are written 1,5 (only possible when ',' is not the delimiter)."""
    if delimiter == ",":
        return "."
    fields = Counter(
        "comma" if _COMMA_DECIMAL.match(value) else "point"
        for row in rows[1:]
        for value in (field.strip() for field in row)
        if _COMMA_DECIMAL.match(value) or _POINT_DECIMAL.match(value)
    )
    return "," if fields["comma"] > fields["point"] else "."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
