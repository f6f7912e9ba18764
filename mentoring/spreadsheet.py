"""CSV files that open cleanly and safely in Excel: UTF-8 with a byte order mark, CRLF line ends,
and no cell that a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """The text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]],
             cell: Callable[[Any], str] = lambda value: "" if value is None else str(value),
             delimiter: str = ",") -> str:
    """`rows` as CSV text: every value through `cell` (formatting), then made formula-safe.
    `delimiter` lets a file go back in the separator it came in (";" from European Excel)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n", delimiter=delimiter)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(cell(value)) for value in row])
    return out.getvalue()
