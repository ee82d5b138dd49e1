"""A finished batch's lists as the console offers them: as stored, or converted for Excel.

The stored lists (``OUTPUT`` and ``ERRORS`` of :mod:`purl.links.batch.uploads`) keep the
input's separator and the contract's column names (``purl_url``, ``purl_code``, …,
``line;reason``): the plain download sends them as they are. The Excel download converts them
while it streams: ``;``-separated, UTF-8 with a BOM (German Excel opens that in columns with
its umlauts), the contract's columns named in the campaign's language. Nothing here holds a
whole list in memory, and the cells are copied as they are: :func:`purl.spreadsheet.safe_cell`
ran when the list was written, so quoting them again would only add a second quote.

Also the first rejected rows for the results page, read from the same stored file.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import Engine

from purl import files
from purl.campaigns.offers import OFFER_COLUMNS
from purl.links.batch.columns import OUTPUT_COLUMNS, QR_COLUMN
from purl.links.batch.rows import N_, reasons_in

log = logging.getLogger(__name__)

EXCEL_DELIMITER = ";"
# Separators a stored list may use (the input's, kept by ``generate``).
_SEPARATORS = (",", ";", "\t", "|")
# The errors file's own first two columns, before the input's.
ERROR_COLUMNS = ("line", "reason")
# The contract's column names and how a spreadsheet user reads them.
COLUMN_LABELS = {
    "purl_url": N_("Personal link"),
    "purl_code": N_("Code"),
    "salutation_line": N_("Salutation line"),
    QR_COLUMN: N_("QR file"),
    "offer_code": N_("Discount code"),
    "offer_text": N_("Offer text"),
}
ERROR_LABELS = {"line": N_("Row"), "reason": N_("Reason")}
# How many characters the converter gathers before it hands a piece of the body out.
_PIECE = 64 * 1024
SHOWN_REJECTIONS = 200

assert set(COLUMN_LABELS) == {*OUTPUT_COLUMNS, *OFFER_COLUMNS, QR_COLUMN}


class _ChunkStream(io.RawIOBase):
    """An iterator of byte chunks as a readable raw file (for ``TextIOWrapper``)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._left = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            nxt = next(self._chunks, None)
            if nxt is None:
                return 0
            self._left = memoryview(nxt)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _text(raw: IO[bytes]) -> io.TextIOWrapper:
    # generate writes UTF-8, with a BOM or without; utf-8-sig reads both.
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def _separator(header_line: str, errors: bool) -> str:
    """The separator of a stored list, from its header line: the one that splits it into the
    columns generate wrote (``line``, ``reason`` first in an errors file; ``purl_url``
    somewhere in a list with links)."""
    best, most = ",", 0
    for sep in _SEPARATORS:
        cells = next(csv.reader([header_line], delimiter=sep), [])
        if (tuple(cells[:2]) == ERROR_COLUMNS) if errors else ("purl_url" in cells):
            return sep
        if len(cells) > most:
            best, most = sep, len(cells)
    return best


def excel_header(header: list[str], locale: str, errors: bool) -> list[str]:
    """The header row for Excel: the contract's columns named in ``locale``, the input's
    columns as they were."""
    _ = reasons_in(locale)
    labels = {**COLUMN_LABELS, **(ERROR_LABELS if errors else {})}
    named = [_(labels[c]) if c in labels else c for c in header]
    if errors:  # only the first two are ours; an input column may be called "line" too
        named[2:] = [_(COLUMN_LABELS[c]) if c in COLUMN_LABELS else c for c in header[2:]]
    return named


def for_excel(chunks: Iterable[bytes], locale: str, errors: bool = False) -> Iterator[bytes]:
    """A stored list (its bytes, chunk by chunk) as German Excel opens it: ``;``-separated,
    UTF-8 with a BOM, the header in ``locale``. Streams: holds one record and one piece of
    output at a time."""
    text = _text(io.BufferedReader(_ChunkStream(chunks), buffer_size=_PIECE))
    header_line = text.readline()
    if not header_line:
        return
    sep = _separator(header_line.rstrip("\r\n"), errors)
    header = next(csv.reader([header_line], delimiter=sep), [])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=EXCEL_DELIMITER)
    out.write("\ufeff")
    writer.writerow(excel_header(header, locale, errors))
    for record in csv.reader(text, delimiter=sep):
        writer.writerow(record)
        if out.tell() >= _PIECE:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    if out.tell():
        yield out.getvalue().encode("utf-8")


def stream(engine: Engine, file_id: int, locale: str | None = None,
           errors: bool = False) -> Iterator[bytes]:
    """A stored list for a download: as stored (``locale`` None), or for Excel in ``locale``.
    Reads on connections of its own (see :func:`purl.files.iter_chunks`)."""
    chunks = files.iter_chunks(engine, file_id)
    return chunks if locale is None else for_excel(chunks, locale, errors)


def first_link(stream: IO[bytes]) -> str | None:
    """The first ``purl_url`` of a stored list with links (what its letters carry), or None
    when it holds no row."""
    text = _text(stream)
    header_line = text.readline()
    sep = _separator(header_line.rstrip("\r\n"), errors=False)
    header = next(csv.reader([header_line], delimiter=sep), [])
    found = None
    if "purl_url" in header:
        column = header.index("purl_url")
        for record in csv.reader(text, delimiter=sep):
            if len(record) > column and record[column]:
                found = record[column]
                break
    text.detach()  # the caller closes its stream
    return found


@dataclass
class Rejections:
    """The first rejected rows of a batch: row number (as the reader wrote it), reason and
    the row's first cells; ``total`` is how many the batch rejected."""

    rows: list[tuple[str, str, list[str]]] = field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return max(self.total - len(self.rows), 0)


def rejections(stream: IO[bytes], total: int, limit: int = SHOWN_REJECTIONS) -> Rejections:
    """The first ``limit`` rejected rows of a batch's errors file (``stream``, read as far as
    needed: a file of 500,000 rejected rows is not read beyond them)."""
    found = Rejections(total=total)
    text = _text(stream)
    header_line = text.readline()
    sep = _separator(header_line.rstrip("\r\n"), errors=True)
    for record in csv.reader(text, delimiter=sep):
        if len(found.rows) >= limit:
            break
        if not record:
            continue
        line, reason, *cells = [*record, ""] if len(record) < 2 else record
        found.rows.append((line, reason, [c for c in cells if c.strip()]))
    text.detach()  # the caller closes its stream
    # The file is the truth when the counts were not kept (an older batch).
    found.total = max(total, len(found.rows))
    return found
