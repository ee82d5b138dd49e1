"""Cells a spreadsheet opens safely: the one rule for every CSV purl writes.

Excel and LibreOffice run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, through
some importers, a tab, carriage return or line feed) as a formula; such a cell gets a leading
quote. Control characters are removed first (NUL, ESC, DEL, the C1 range: never data anyone
typed, and a spreadsheet may drop them on import, so ``"\\x00=cmd()"`` would otherwise open as
a formula). Tab, line feed and carriage return stay inside a cell (the CSV writer quotes them);
at its start they make it a formula like the four signs. A cell whose first visible character
is one of those signs after spaces or invisible characters is quoted too, since an import that
trims spaces would run it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

_RISKY = frozenset(FORMULA_START)
# Blank or invisible characters an importer may trim before it looks for a formula.
_BLANK = (" \t\r\n\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
          "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b\u200c\u200d\u2060")
# The first characters worth a closer look: the fast path tests only this one set.
_LOOK = _RISKY | frozenset(_BLANK)
# Those a text that passed ``isprintable`` can hold: a CSV text shows a cell starting with
# one after a comma or a line break.
_PRINTABLE_LOOK = "".join(sorted(c for c in _LOOK if c.isprintable()))
# C0 controls but tab, line feed and carriage return; DEL; the C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` (already free of control characters) as a
    formula."""
    first = text[:1]
    return first in _RISKY or (first in _LOOK and text.lstrip(_BLANK)[:1] in _RISKY)


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if not text.isprintable():  # rare: only then is the expression worth running
        text = _CONTROL.sub("", text)
    return "'" + text if _formula(text) else text


def safe_row(cells: Iterable[str]) -> list[str]:
    """A row of text cells, each made safe: :func:`safe_cell` for plain strings, fast.

    The batch's hot path (every row of a million-row list): one ``isprintable`` over the
    joined row tells almost every row has no control character, and only a cell starting with
    a sign or a blank gets a closer look.
    """
    cells = cells if isinstance(cells, list) else list(cells)
    if "".join(cells).isprintable():
        return ["'" + c if c[:1] in _LOOK and _formula(c) else c for c in cells]
    return [safe_cell(c) for c in cells]


def _starts_a_cell(char: str, text: str) -> bool:
    # Substring tests, the one-character one first (most chunks hold no "=" at all): a
    # regular expression over the chunk cost more than the rest of its export.
    return char in text and ("," + char in text or "\n" + char in text)


def csv_text(rows: Sequence[Sequence[str]]) -> str:
    """A chunk of text rows as CSV, each cell made safe by :func:`safe_row`: what
    ``csv.writer`` (its default dialect, lines ending in CRLF) writes for the safe rows.

    An export's hot path. Rows are joined with commas in one go; when the chunk then shows no
    cell the CSV writer would quote (a comma, quote or line break in it), no control
    character and no cell starting with a sign or a blank, that text is the CSV as it stands.
    Any other chunk goes through :func:`safe_row` and the CSV writer.
    """
    if not rows:
        return ""
    lines = list(map(",".join, rows))
    text = "\r\n".join(lines)
    cells = sum(map(len, rows))
    if text.count(",") == cells - len(rows) and _plain(text, "".join(lines)):
        return text + "\r\n"
    buffer = io.StringIO()
    csv.writer(buffer).writerows(safe_row(list(r)) for r in rows)
    return buffer.getvalue()


def _plain(text: str, cells: str) -> bool:
    """Whether CSV ``text`` (whose cells joined are ``cells``) holds no quoted cell, no
    control character and no cell starting with a sign or a blank: then it needs nothing."""
    return ('"' not in text and cells.isprintable() and text[:1] not in _LOOK
            and not any(_starts_a_cell(c, text) for c in _PRINTABLE_LOOK))


def safe_csv(text: str) -> str:
    """Whole lines of CSV text, ending in line feeds (as PostgreSQL's COPY writes them),
    made safe as :func:`csv_text` makes rows, and in its shape (lines ending in CRLF)."""
    if not text:
        return ""
    body = text[:-1] if text.endswith("\n") else text
    if _plain(body, body.replace("\n", "")):
        return body.replace("\n", "\r\n") + "\r\n"
    return csv_text(list(csv.reader(io.StringIO(text, newline=""))))
