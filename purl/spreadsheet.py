"""Cells a spreadsheet opens safely: the one rule for every CSV purl writes.

Excel and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, through
some importers, a tab or carriage return) as a formula; such a cell gets a leading quote.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def safe_row(cells: Iterable[str]) -> list[str]:
    """A row of text cells, each made safe (the batch's hot path: plain strings only)."""
    return ["'" + c if c[:1] in _RISKY else c for c in cells]


_RISKY = frozenset("".join(FORMULA_START))
