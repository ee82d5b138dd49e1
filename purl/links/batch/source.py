"""A recipient list as the console shows it before minting: how the file reads (the shared
reader, :mod:`purl.spreadsheet.reading`) and how its columns will be mapped."""

from __future__ import annotations

import csv
import io
import itertools
import os
from dataclasses import dataclass, field
from typing import IO

from purl.links.batch.columns import map_header, private_columns
from purl.spreadsheet.reading import read_columns, scan


@dataclass
class Preview:
    """What the console shows before minting: how the file reads and how it will be mapped."""

    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str]  # column -> field, as ``generate`` would map it
    rows: list[list[str]]
    lines: int
    ignored: list[str] = field(default_factory=list)  # IP or location columns, left out
    sheets: list[str] = field(default_factory=list)  # a workbook's sheets
    sheet: str = ""  # the one read


def preview(source: str | os.PathLike | IO[bytes], rows: int = 5,
            sheet: str | None = None) -> Preview:
    """Read the file as ``generate`` will: encoding, delimiter, header mapping, first rows."""
    # A workbook is converted only as far as the preview reads (blank rows are skipped).
    scanned = scan(source, sheet, rows=rows * 20 + 1)
    try:
        encoding, delimiter, header = read_columns(scanned)
        found = map_header(header, {})
        text = io.TextIOWrapper(scanned.binary, encoding=encoding, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        sample = list(itertools.islice((r for r in reader if any(r)), rows))
        text.detach()
    finally:
        scanned.close(source)
    by_index = {i: f for f, i in found.items()}
    private = private_columns(header, {})
    by_index.update(dict.fromkeys(private, "ignore"))
    return Preview(scanned.encoding, delimiter, header,
                   {name: by_index.get(i, "attribute") for i, name in enumerate(header)},
                   sample, max(scanned.lines - 1, 0), [header[i] for i in private],
                   scanned.sheets, scanned.sheet)
