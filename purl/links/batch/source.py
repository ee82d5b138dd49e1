"""Reading a recipient list: its encoding, delimiter and header, a preview of its first
rows, and the rest cut into blocks of whole records for the workers."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from purl.links.batch.columns import BatchError, map_header, private_columns
from purl.links.batch.rows import N_


@dataclass
class Input:
    binary: IO[bytes]
    sha256: str
    lines: int
    encoding: str
    name: str
    size: int


def scan(source: str | os.PathLike | IO[bytes]) -> Input:
    """First pass: hash, count lines, and tell UTF-8 from Windows-1252 over the whole file."""
    if isinstance(source, (str, os.PathLike)):
        binary: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by generate
        name, copy = Path(source).name, None
    else:
        name = Path(getattr(source, "name", "upload.csv") or "upload.csv").name
        seekable = getattr(source, "seekable", lambda: False)()
        binary = source if seekable else tempfile.TemporaryFile()  # noqa: SIM115
        copy = None if seekable else binary
        if seekable:
            source.seek(0)
    reader = source if copy is not None else binary
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines, head = True, 0, b""
    while block := reader.read(1 << 20):
        if copy is not None:
            copy.write(block)
        if not head:
            head = block[:3]
        digest.update(block)
        lines += block.count(b"\n")
        if utf8:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8 = False
    size = binary.seek(0, 2)
    binary.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif utf8:
        encoding = "utf-8"
    else:
        # Excel on Windows saves "CSV" in the ANSI code page, cp1252 in Germany.
        encoding = "cp1252"
    return Input(binary, digest.hexdigest(), lines, encoding, name, size)


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


def preview(source: str | os.PathLike | IO[bytes], rows: int = 5) -> Preview:
    """Read the file as ``generate`` will: encoding, delimiter, header mapping, first rows."""
    scanned = scan(source)
    with scanned.binary:
        encoding, delimiter, header = read_columns(scanned)
        found = map_header(header, {})
        with io.TextIOWrapper(scanned.binary, encoding=encoding, errors="replace",
                              newline="") as text:
            reader = csv.reader(text, delimiter=delimiter)
            sample = list(itertools.islice((r for r in reader if any(r)), rows))
    by_index = {i: f for f, i in found.items()}
    private = private_columns(header, {})
    by_index.update(dict.fromkeys(private, "ignore"))
    return Preview(scanned.encoding, delimiter, header,
                   {name: by_index.get(i, "attribute") for i, name in enumerate(header)},
                   sample, max(scanned.lines - 1, 0), [header[i] for i in private])


def _sniff_delimiter(first_line: str) -> str:
    best, most = ",", 1
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        if len(cells) > most:
            best, most = delimiter, len(cells)
    return best


def read_columns(scanned: Input) -> tuple[str, str, list[str]]:
    """(encoding of the rest, delimiter, column names) from the first line; leaves the file
    at the first byte after it, where the records start."""
    encoding = "utf-8" if scanned.encoding == "utf-8-sig" else scanned.encoding
    start = len(codecs.BOM_UTF8) if scanned.encoding == "utf-8-sig" else 0
    binary = scanned.binary
    binary.seek(start)
    probe = binary.read(1 << 20)
    ends = [i for i in (probe.find(b"\n"), probe.find(b"\r")) if i >= 0]
    cut = min(ends) + 1 if ends else len(probe)
    if probe[cut - 1:cut + 1] == b"\r\n":
        cut += 1
    binary.seek(start + cut)
    first_line = probe[:cut].decode(encoding, errors="replace")
    if not first_line.strip():
        raise BatchError(N_("the file is empty: the first line must name the columns"))
    delimiter = _sniff_delimiter(first_line)
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter))]
    return encoding, delimiter, header


def _line_breaks(block: bytes, end: int) -> int:
    breaks = block.count(b"\n", 0, end)
    returns = block.count(b"\r", 0, end)
    return breaks + returns - block.count(b"\r\n", 0, end) if returns else breaks


# --- cutting a file into blocks of whole records ------------------------------------------

def _records_pattern(delimiter: str) -> re.Pattern[bytes]:
    """Any run of complete records, the way the csv module reads them.

    A field is quoted (doubled quotes inside; after its closing quote, anything up to the
    next delimiter belongs to it too) or unquoted (a quote inside it is just a character).
    Possessive quantifiers keep the engine from trying other readings.
    """
    d = re.escape(delimiter.encode())
    field_ = (rb'(?:"(?:[^"]|"")*+"[^' + d + rb'\r\n]*+|[^"' + d + rb'\r\n][^' + d
              + rb'\r\n]*+)?')
    # Records end as the csv module sees it: \r\n, \n, or a lone \r (old Mac Excel).
    return re.compile(rb"(?:" + field_ + rb"(?:" + d + field_ + rb")*+(?:\r\n?|\n))*+")


def record_blocks(binary: IO[bytes], delimiter: str, size: int,
                  first_line: int) -> Iterator[tuple[bytes, int]]:
    """Blocks of about ``size`` bytes that each end at a record boundary, with the line
    number of each block's first line. A quoted field may hold line breaks, so a block
    never ends where the csv module would still be inside quotes."""
    complete = _records_pattern(delimiter).match
    carry = b""
    line = first_line
    while True:
        data = binary.read(size)
        if not data:
            break
        block = carry + data
        # A read may stop between the \r and \n of one line end: never cut after a last \r.
        limit = len(block) - block.endswith(b"\r")
        if b'"' in block:
            end = complete(block, 0, limit).end()
        else:  # no quoted field (most exports): every line break ends a record
            end = max(block.rfind(b"\n", 0, limit), block.rfind(b"\r", 0, limit)) + 1
        if end == 0:  # not one whole record yet (a huge quoted field): read on
            carry = block
            continue
        yield block[:end], line
        line += _line_breaks(block, end)
        carry = block[end:]
    if carry:
        yield carry, line
