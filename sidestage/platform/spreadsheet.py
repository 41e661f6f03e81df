"""CSV files for spreadsheets, written one way for every export.

People's names, questions and poll options go into these files as they typed them. A
spreadsheet reads a cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula, so a name like ``=HYPERLINK(...)`` would run in the
organizer's Excel. Following the OWASP guidance on CSV injection, such a cell gets a
leading single quote, which makes it text; numbers stay numbers. The file starts with a
UTF-8 byte order mark, without which Excel reads UTF-8 as the local code page and shows
Arabic names as mojibake.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def safe_cell(value: object) -> object:
    """The value as a spreadsheet should take it: text that looks like a formula quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not NUMBER.match(value):
        return "'" + value
    return value


def csv_document(rows: Iterable[Sequence[object]]) -> str:
    """The rows as a CSV document, byte order mark first, every cell through ``safe_cell``."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
