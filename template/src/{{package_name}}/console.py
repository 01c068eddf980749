"""Rich output that reads whole in a terminal and in a log (CI, `| tee`, a file).

Off a terminal Rich assumes 80 columns and cuts table cells to fit ("1,000…").
A log has no width, so there the console is `LOG_WIDTH` columns wide ($COLUMNS
when set), and table cells that still do not fit fold onto the next line
instead of ending in "…".
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Collection

from rich.console import Console
from rich.table import Table

LOG_WIDTH = 200


def make_console() -> Console:
    """The terminal's own (live) width on a terminal; elsewhere $COLUMNS, else `LOG_WIDTH`."""
    if sys.stdout.isatty():
        return Console()
    return Console(width=shutil.get_terminal_size(fallback=(LOG_WIDTH, 25)).columns)


def new_table(title: str, *columns: str, right: Collection[str] = ()) -> Table:
    """A table whose cells fold rather than end in "…"; `right` names right-aligned columns."""
    table = Table(title=title)
    for name in columns:
        table.add_column(name, justify="right" if name in right else "left", overflow="fold")
    return table
