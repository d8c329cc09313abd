"""Spreadsheet formula safety for every exported cell (CSV and XLSX).

Follows the OWASP "CSV injection" guidance: a text cell starting with `=`, `+`, `-`, `@`, a tab
or a carriage return could be run as a formula by a spreadsheet, so it gets a leading `'`.
Numbers (int, float, bool) stay numbers: a negative *number* is data, while the *string*
"-1+2" is neutralised. `None` stays `None` (an empty cell). Anything else is written as its
`str()` and neutralised the same way. Pure module: no ORM.
"""

from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` made safe for a spreadsheet cell; guaranteed never to start a formula."""
    if value is None or isinstance(value, bool | int | float | datetime | date):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_row(values: list[Any]) -> list[Any]:
    """Every cell of a row through `safe_cell`."""
    return [safe_cell(v) for v in values]
