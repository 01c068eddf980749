"""Recognising dates written as text, and the order of their day and month.

`01/02/2024` is the 1st of February in most of the world and the 2nd of
January in the US, and pandas guesses from the first value. `data infer`
therefore settles the order once, from the values themselves (a day above
12 decides it), and writes it to the schema's `time_format`, which every
later read uses.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import pandas as pd

ISO_FORMAT = "ISO8601"
# Dates are recognised from at most this many distinct values of a column.
PROBE_VALUES = 2_000
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}.*)?\s*$")
_ISO_LIKE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}")
_TIMES = ("", " %H:%M", " %H:%M:%S")


@dataclass(frozen=True)
class DateFormat:
    """How a column's dates are written: `format` for pandas (None: ISO, one layout)."""

    format: str | None
    note: str = ""  # why this order was chosen, when the values alone could not say


def detect_date_format(values: pd.Series) -> DateFormat | None:
    """The format that reads every value of `values` as a date; None when they are not dates.

    Day-first wins when a value has a day above 12 (`13/01/2024`); when none
    does, the order is a guess, said in `note`. The chosen format is checked
    on every value, not only on the ones it was chosen from.

    >>> detect_date_format(pd.Series(["13/01/2024", "02/03/2024"]))  # doctest: +SKIP
    DateFormat(format='%d/%m/%Y', note='')
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return DateFormat(None)
    if not (pd.api.types.is_string_dtype(values) or pd.api.types.is_object_dtype(values)):
        return None
    present = values.dropna()
    if present.empty or not all(isinstance(v, str) for v in present.head(PROBE_VALUES)):
        return None
    texts = present.astype(str)
    probe = pd.Series(texts.drop_duplicates().head(PROBE_VALUES).to_numpy())
    if not probe.str.match(_DATE_LIKE).all():
        return None
    if probe.str.match(_ISO_LIKE).all():
        return _iso_format(texts)
    for candidate in _candidates(probe):
        if _reads_all(texts, candidate.format):
            return candidate
    return None


def _iso_format(texts: pd.Series) -> DateFormat | None:
    """None (pandas reads one ISO layout by itself), or ISO8601 for mixed layouts."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            pd.to_datetime(texts, utc=True)
            return DateFormat(None)
        except (ValueError, TypeError, UserWarning):
            pass
    return DateFormat(ISO_FORMAT) if _reads_all(texts, ISO_FORMAT) else None


def _candidates(probe: pd.Series) -> list[DateFormat]:
    """Formats that read every probe value, the most likely first."""
    found: list[DateFormat] = []
    for separator in "/-.":
        day_first = [f"%d{separator}%m{separator}%Y{time}" for time in _TIMES]
        month_first = [f"%m{separator}%d{separator}%Y{time}" for time in _TIMES]
        year_first = [f"%Y{separator}%m{separator}%d{time}" for time in _TIMES]
        days = [f for f in day_first if _reads_all(probe, f)]
        months = [f for f in month_first if _reads_all(probe, f)]
        if days and months:
            # No day above 12 anywhere: dotted dates are day-first by convention,
            # slashes and dashes follow pandas (month first).
            guess, other = (days, months) if separator == "." else (months, days)
            note = (
                f"no day above 12 in the values, so the order is a guess: read as "
                f"'{guess[0]}'; if they are '{other[0]}', set time_format to that"
            )
            found += [DateFormat(f, note) for f in guess + other]
        else:
            found += [DateFormat(f) for f in days + months]
        found += [DateFormat(f) for f in year_first if _reads_all(probe, f)]
    return found


def _reads_all(texts: pd.Series, date_format: str | None) -> bool:
    parsed = pd.to_datetime(texts, utc=True, format=date_format, errors="coerce")
    return bool(parsed.notna().all())
