"""Reading a table from a file, the one reader behind every list purl takes in (recipients
from the CLI, the console and the API; catalogs): its encoding, delimiter and header, and its
records with the row numbers a spreadsheet shows.

Every file reaches the records as bytes in an ASCII-compatible encoding, so cutting them into
blocks stays a byte scan: UTF-8 (with or without BOM) and single-byte code pages are read where
they lie; a UTF-16 text (Excel's "Unicode Text") and a spreadsheet (.xlsx, .xls, .ods, read with
python-calamine) are converted once into a UTF-8 temporary file first.

Messages are catalog msgids (English, marked with :func:`N_`); a surface says them in the
user's language.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


class ReadError(ValueError):
    """The whole file cannot be read (not a single row): a message for the user.

    ``message`` is a catalog msgid (English) and ``params`` its values, so a surface can say
    it in the user's language (:meth:`translated`); ``str()`` is the English text."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params

    def translated(self, gettext: Callable[[str], str]) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


def N_(message: str) -> str:
    """Marks a message for the catalog; it is translated where it is used."""
    return message


Translate = Callable[[str], str]

# A record longer than this is rejected (its row, not the file); the csv module's own field
# limit is lifted, so a long field is this rule's to refuse and never a crash.
RECORD_LIMIT = 1 << 20
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
# NUL and the other control characters (not tab, CR, LF), and bytes that did not decode
# (surrogate escapes): never in a name or an address.
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\udc80-\udcff]")
_UNDECODED = re.compile("[\udc80-\udcff]")
_BREAK = re.compile("\r\n?|\n")


class Opened(bytes):
    """A record's first line whose quote never closes (cut off by ``record_blocks``)."""


UNCLOSED = N_('a quote (") opened in this row is never closed, so it would take in the rows '
              "below it: they were read on their own; close or remove the quote")
TOO_LONG = N_("is longer than 1 MB")
UNDECODED = N_("holds bytes that are not %(encoding)s text: save the file as CSV UTF-8")
CONTROL = N_("%(column)s holds a control character (%(char)s): remove it")


def row_label(_: Translate, row: int, line: int) -> str:
    """A row number as a spreadsheet shows it, with the text file's line when that differs
    (a cell with a line break above it)."""
    return str(row) if row == line else _("%(row)d (text line %(line)d)") % {
        "row": row, "line": line}


def _swallowed(cells: list[str], delimiter: str, width: int) -> bool:
    """Whether a record running over several lines looks like an unclosed quote that took in
    the records below it: a line inside one of its cells holds a whole row's delimiters."""
    for cell in cells:
        if "\n" in cell or "\r" in cell:
            if width == 1:
                return True
            if any(part.count(delimiter) >= width - 1 for part in _BREAK.split(cell)[1:]):
                return True
    return False


def records(text: str, delimiter: str, width: int
            ) -> Iterator[tuple[int, int, list[str], str | None]]:
    """(record index, line offset, cells, reason) for each record of ``text``, blank ones too
    (a spreadsheet counts them as rows). A record whose quote never closes is cut back to
    its first line and rejected, and the lines it took in are read on their own."""
    offset, index = 0, 0
    while True:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        previous, restart = 0, -1
        for cells in reader:
            start, previous = previous, reader.line_num
            if previous - start > 1 and _swallowed(cells, delimiter, width):
                restart = start
                break
            yield index, offset + start, cells, None
            index += 1
        if restart < 0:
            return
        lines = io.StringIO(text, newline="").readlines()
        opener = next(csv.reader([lines[restart].rstrip("\r\n")], delimiter=delimiter), [])
        yield index, offset + restart, opener, UNCLOSED
        index += 1
        text = "".join(lines[restart + 1:])
        offset += restart + 1


def bad_reason(_: Translate, header: list[str], encoding: str, cells: list[str]) -> str | None:
    """Why a record holding a control character or bytes that did not decode is refused."""
    for index, cell in enumerate(cells):
        found = _BAD.search(cell)
        if found is None:
            continue
        if _UNDECODED.match(found.group()):
            return _(UNDECODED) % {"encoding": encoding.upper()}
        column = header[index] if index < len(header) else str(index + 1)
        return _(CONTROL) % {"column": column, "char": f"U+{ord(found.group()):04X}"}
    return None


def may_be_bad(text: str) -> bool:
    """Whether any record of ``text`` may hold a control character or an undecoded byte (the
    rare case: a whole block without one skips the per-row check)."""
    return _BAD.search(text) is not None


def clean(cells: list[str]) -> list[str]:
    """Cells fit to write back into an errors file (undecoded bytes as U+FFFD)."""
    return [_UNDECODED.sub("\ufffd", c) for c in cells]


SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
# What a file that is not text starts with; zip and OLE2 are what spreadsheets are.
_SHEET_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_BINARY_SIGNATURES = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!",
                      b"7z\xbc\xaf", b"BZh", b"\xfd7zXZ", b"{\\rtf")
# The code pages Excel writes for other scripts than Latin, which the charset detector may
# pick over Windows-1252 (Cyrillic, Greek, Turkish, Hebrew, Arabic, Baltic, Thai, Japanese,
# Chinese, Korean). A guess among Latin code pages is noise on German text: they put ä ö ü ß
# at the same bytes, so Windows-1252 (Excel in Germany) stays.
_OTHER_SCRIPTS = frozenset(("cp1251", "koi8_r", "koi8_u", "cp866", "mac_cyrillic", "cp1253",
                            "iso8859_7", "cp1254", "iso8859_9", "cp1255", "iso8859_8",
                            "cp1256", "iso8859_6", "cp874", "cp932", "shift_jis",
                            "shift_jis_2004", "euc_jp", "gb2312", "gbk", "gb18030", "big5",
                            "big5hkscs", "cp949", "euc_kr", "cp950"))
# Bytes of text in any ASCII-compatible encoding: all but the C0 controls (tab, CR, LF, and
# Excel's ^Z at the end stay in).
_TEXT_BYTES = bytes([9, 10, 13, 26, *range(32, 256)])
_SURROGATE = re.compile("[\udc80-\udcff]")
_MULTIBYTE = re.compile("[^\x00-\x7f\udc80-\udcff]")
NOT_A_WORKBOOK = N_("this file is a CSV text, not a workbook, so it has no sheets: leave out the "
                    "sheet")
NO_SUCH_SHEET = N_("the workbook has no sheet %(sheet)s: its sheets are %(sheets)s")
FIRST_SHEET_EMPTY = N_("the first sheet %(first)s is empty: choose the sheet that holds the "
                       "list (the workbook's sheets: %(sheets)s)")
NOT_TEXT = N_("this is not a CSV file: open it in Excel or LibreOffice and save it as "
              "CSV UTF-8 or .xlsx, then use that file")


@dataclass
class Input:
    binary: IO[bytes]  # the text to read: the file itself, or its UTF-8 conversion
    sha256: str  # of the file as given
    lines: int
    encoding: str  # what the file was: utf-8, utf-8-sig, cp1252, utf-16-le, xlsx, …
    name: str
    size: int
    text_encoding: str = ""  # what ``binary`` holds (its BOM, if any, skipped)
    skip: int = 0  # bytes of BOM before the header
    first_line: int = 2  # the physical line the records start on, after the header
    # The file as given, when ``binary`` is a conversion of it: closed with it.
    original: IO[bytes] | None = None
    sheets: list[str] = field(default_factory=list)  # a workbook's sheets, in order
    sheet: str = ""  # the one read

    def __post_init__(self) -> None:
        if not self.text_encoding:
            self.text_encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
            self.skip = len(codecs.BOM_UTF8) if self.encoding == "utf-8-sig" else 0

    def close(self, source: object) -> None:
        """Close what scanning opened (never the caller's own stream)."""
        for f in (self.binary, self.original):
            if f is not None and f is not source:
                f.close()


def _open(source: str | os.PathLike | IO[bytes]) -> tuple[IO[bytes], str, IO[bytes] | None,
                                                        IO[bytes]]:
    """(the seekable file to read, its name, a temporary copy to fill, what to read from)."""
    if isinstance(source, (str, os.PathLike)):
        binary: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by generate
        return binary, Path(source).name, None, binary
    name = Path(getattr(source, "name", "upload.csv") or "upload.csv").name
    seekable = getattr(source, "seekable", lambda: False)()
    if seekable:
        source.seek(0)
        return source, name, None, source
    copy = tempfile.TemporaryFile()  # noqa: SIM115
    return copy, name, copy, source


def scan(source: str | os.PathLike | IO[bytes], sheet: str | None = None,
         rows: int | None = None) -> Input:
    """First pass: hash, count lines, and find what the file is and its encoding. ``sheet``
    names a workbook's sheet (or its number, from 1) to read instead of the first; ``rows``
    converts only that many rows of it (a preview: converting a whole sheet is most of the
    time a workbook costs), its ``lines`` then the sheet's height."""
    binary, name, copy, reader = _open(source)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    lines, head, valid, invalid, broken = 0, b"", 0, 0, False
    while block := reader.read(1 << 20):
        if copy is not None:
            copy.write(block)
        if len(head) < 1 << 16:
            head += block[:(1 << 16) - len(head)]
        digest.update(block)
        lines += block.count(b"\n")
        text = decoder.decode(block)
        if broken or _SURROGATE.search(text):
            # Not all UTF-8: how much of it is, to tell UTF-8 with a few broken rows from a
            # file in another encoding.
            broken = True
            invalid += len(_SURROGATE.findall(text))
            valid += len(_MULTIBYTE.findall(text))
    text = decoder.decode(b"", final=True)
    invalid += len(_SURROGATE.findall(text))
    size = binary.seek(0, 2)
    binary.seek(0)
    scanned = Input(binary, digest.hexdigest(), lines, "utf-8", name, size)
    try:
        found = _identify(scanned, head, broken, valid, invalid, sheet, rows)
        if sheet and not found.sheets:
            raise ReadError(NOT_A_WORKBOOK)
        return found
    except BaseException:
        if binary is not source:
            binary.close()
        raise


def _identify(scanned: Input, head: bytes, broken: bool, valid: int, invalid: int,
              sheet: str | None = None, rows: int | None = None) -> Input:
    """What the scanned file is, from its first 64 KiB and how much of it was UTF-8: a
    workbook or UTF-16 (converted), UTF-8, a code page, or not text at all (refused)."""
    # By its bytes, not its name: old CRMs export tab-separated text as ".xls".
    if head.startswith(_SHEET_SIGNATURES):
        return _from_sheet(scanned, sheet, rows)
    if head.startswith(_BINARY_SIGNATURES):
        raise ReadError(NOT_TEXT)
    if head.startswith(codecs.BOM_UTF16_LE) and not head.startswith(codecs.BOM_UTF32_LE):
        return _transcode(scanned, "utf-16", "utf-16-le")
    if head.startswith(codecs.BOM_UTF16_BE):
        return _transcode(scanned, "utf-16", "utf-16-be")
    if head.count(b"\0") * 8 > len(head):
        # Many NULs: UTF-16 without its BOM (every other byte of Latin text is 0), or binary.
        even, odd = head[0::2].count(b"\0"), head[1::2].count(b"\0")
        encoding = "utf-16-le" if odd > 4 * even else "utf-16-be" if even > 4 * odd else ""
        if not encoding:
            raise ReadError(NOT_TEXT)
        return _transcode(scanned, encoding, encoding)
    if len(head.translate(None, _TEXT_BYTES)) * 20 > len(head):
        raise ReadError(NOT_TEXT)  # control bytes no text holds: a binary file
    if head.startswith(codecs.BOM_UTF8):
        scanned.encoding, scanned.text_encoding, scanned.skip = "utf-8-sig", "utf-8", 3
    elif not broken or 0 < invalid <= valid:
        # UTF-8, with a few rows holding bytes that are not: those rows are rejected, not the
        # whole file read as another encoding (every umlaut garbled). A file in a code page
        # has valid UTF-8 sequences only by accident (ß before a quote sign), outnumbered by
        # its umlauts.
        pass
    else:
        scanned.encoding = scanned.text_encoding = _detect(scanned.binary, scanned.size)
    return scanned


def _detect(binary: IO[bytes], size: int) -> str:
    """One encoding for a file that is not UTF-8, from charset-normalizer."""
    from charset_normalizer import from_bytes

    sample = binary.read(min(size, 1 << 21))
    binary.seek(0)
    # Excel on Windows saves "CSV" in the ANSI code page, cp1252 in Germany; the detector
    # overrides that only when it recognised a language (a few names tell it nothing) in
    # another script's code page, better than in any Latin one.
    found = [m for m in from_bytes(sample) if m.coherence > 0]
    latin = max((m.coherence for m in found if m.encoding not in _OTHER_SCRIPTS), default=0.0)
    other = [m for m in found if m.encoding in _OTHER_SCRIPTS and m.coherence > latin]
    if not other:
        return "cp1252"
    best = max(other, key=lambda m: (m.coherence, -m.chaos))
    return codecs.lookup(best.encoding).name


def _converted(scanned: Input, write: Callable[[IO[bytes]], None], label: str) -> Input:
    """``scanned`` with its text replaced by what ``write`` puts into a UTF-8 temporary file."""
    converted = tempfile.TemporaryFile()  # noqa: SIM115 - closed by Input.close
    try:
        write(converted)
    except BaseException:
        converted.close()
        raise
    size = converted.seek(0, 2)
    converted.seek(0)
    lines = 0
    while block := converted.read(1 << 20):
        lines += block.count(b"\n")
    converted.seek(0)
    return Input(converted, scanned.sha256, lines, label, scanned.name, size, "utf-8", 0,
                 original=scanned.binary)


def _transcode(scanned: Input, encoding: str, label: str) -> Input:
    """UTF-16 text into UTF-8, once, so the blocks stay a byte scan."""
    def write(converted: IO[bytes]) -> None:
        decoder = codecs.getincrementaldecoder(encoding)("replace")
        while block := scanned.binary.read(1 << 20):
            converted.write(decoder.decode(block).encode("utf-8", "replace"))
        converted.write(decoder.decode(b"", final=True).encode("utf-8", "replace"))

    return _converted(scanned, write, label)


def _sheet_cell(value: object) -> str:
    """A cell as the sheet shows it: 1 not 1.0, no float noise, dates as dd.mm.yyyy."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if not (value.hour or value.minute or value.second):
            return value.strftime("%d.%m.%Y")
        return value.strftime("%d.%m.%Y %H:%M" + (":%S" if value.second else ""))
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M" + (":%S" if value.second else ""))
    return str(value)


def _pick_sheet(book: object, wanted: str | None) -> object:
    """The sheet named ``wanted`` (as written, in any case, or its number from 1), else the
    first; a first sheet left empty while another holds rows is a question, not a list."""
    names = list(book.sheet_names)
    listed = ", ".join(names)
    if wanted:
        wanted = wanted.strip()
        folded = {n.casefold(): n for n in names}
        if wanted in names or wanted.casefold() in folded:
            return book.get_sheet_by_name(wanted if wanted in names else folded[wanted.casefold()])
        if wanted.isdigit() and 1 <= int(wanted) <= len(names):
            return book.get_sheet_by_index(int(wanted) - 1)
        raise ReadError(NO_SUCH_SHEET, sheet=repr(wanted), sheets=listed)
    first = book.get_sheet_by_index(0)
    if len(names) > 1 and not _holds_rows(first):
        full = [n for n in names[1:] if _holds_rows(book.get_sheet_by_name(n))]
        if full:
            raise ReadError(FIRST_SHEET_EMPTY, first=repr(names[0]), sheets=listed)
    return first


def _holds_rows(sheet: object) -> bool:
    return any(any(v not in ("", None) for v in row) for row in sheet.iter_rows())


def _from_sheet(scanned: Input, wanted: str | None = None, rows: int | None = None) -> Input:
    """A workbook's sheet (the first, or the one asked for) as a UTF-8 CSV (``;``), once,
    then read like any CSV."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(scanned.binary)
        if not book.sheet_names:
            raise ReadError(N_("the workbook has no sheet: put the list on its first sheet"))
        sheet = _pick_sheet(book, wanted)
    except ReadError:
        raise
    except Exception as exc:  # calamine's errors: not a workbook it can read
        raise ReadError(NOT_TEXT) from exc
    suffix = Path(scanned.name).suffix.lower().lstrip(".")
    label = suffix if "." + suffix in SHEET_SUFFIXES else "xlsx"

    def write(converted: IO[bytes]) -> None:
        text = io.TextIOWrapper(converted, encoding="utf-8", errors="replace", newline="")
        out = csv.writer(text, delimiter=";")
        cell = _sheet_cell
        for row in itertools.islice(sheet.iter_rows(), None if rows is None else rows + 1):
            out.writerow([cell(v) for v in row])
        text.flush()
        text.detach()

    converted = _converted(scanned, write, label)
    converted.sheets, converted.sheet = list(book.sheet_names), sheet.name
    if rows is not None:
        converted.lines = sheet.height
    return converted


def _sniff_delimiter(first_line: str) -> str:
    best, most = ",", 1
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        if len(cells) > most:
            best, most = delimiter, len(cells)
    return best


def read_columns(scanned: Input) -> tuple[str, str, list[str]]:
    """(encoding of the rest, delimiter, column names) from the header; leaves the file
    at the first byte after it, where the records start."""
    encoding, start, binary = scanned.text_encoding, scanned.skip, scanned.binary
    binary.seek(start)
    probe = binary.read(1 << 20)
    ends = [i for i in (probe.find(b"\n"), probe.find(b"\r")) if i >= 0]
    cut = min(ends) + 1 if ends else len(probe)
    if probe[cut - 1:cut + 1] == b"\r\n":
        cut += 1
    first_line = probe[:cut].decode(encoding, errors="replace")
    if not first_line.strip():
        raise ReadError(N_("the file is empty: the first line must name the columns"))
    delimiter = _sniff_delimiter(first_line)
    if '"' in first_line:
        # A quoted column name may hold a line break (a sheet's wrapped header cell).
        whole = _records_pattern(delimiter).match(probe, 0, len(probe))
        first = re.match(rb"(?:[^\r\n\"]|\"(?:[^\"]|\"\")*+\")*+(?:\r\n?|\n)?", probe)
        if whole.end() and first is not None and first.end() > cut:
            cut = first.end()
            first_line = probe[:cut].decode(encoding, errors="replace")
    binary.seek(start + cut)
    scanned.first_line = 1 + _line_breaks(probe, cut)
    header = [h.strip() for h in next(csv.reader(io.StringIO(first_line, newline=""),
                                                 delimiter=delimiter))]
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
    never ends where the csv module would still be inside quotes.

    A quote that never closes (before the end of the file, or within :data:`RECORD_LIMIT`)
    would take every record after it into one cell: that record's first line comes as an
    :class:`Opened` block of its own, to be rejected, and the lines after it are read on
    their own."""
    complete = _records_pattern(delimiter).match
    carry = b""
    line = first_line
    eof = False
    while True:
        data = b"" if eof else binary.read(size)
        eof = not data
        if eof and not carry:
            break
        block = carry + data
        # A read may stop between the \r and \n of one line end: never cut after a last \r.
        limit = len(block) - (block.endswith(b"\r") and not eof)
        if b'"' in block:
            end = complete(block, 0, limit).end()
            if eof and end < len(block) and complete(block + b"\n", end).end() > len(block):
                end = len(block)  # the last record, without a line end
        elif eof:
            end = len(block)
        else:  # no quoted field (most exports): every line break ends a record
            end = max(block.rfind(b"\n", 0, limit), block.rfind(b"\r", 0, limit)) + 1
        if end:
            yield block[:end], line
            line += _line_breaks(block, end)
            carry = block[end:]
            continue
        if not eof and len(block) <= RECORD_LIMIT:  # not one whole record yet: read on
            carry = block
            continue
        # The record here never ends: a quote left open (or over the record limit).
        breaks = [i for i in (block.find(b"\n"), block.find(b"\r")) if i >= 0]
        if not breaks:
            if not eof:
                carry = block
                continue
            cut = len(block)
        else:
            cut = min(breaks) + 1 + (block[min(breaks):min(breaks) + 2] == b"\r\n")
        yield Opened(block[:cut]), line
        line += _line_breaks(block, cut)
        carry = block[cut:]



# --- a whole table, record by record (files read in one process: catalogs) -----------------

def _as_is(message: str) -> str:
    return message


class RowNumber(int):
    """A record's row as a spreadsheet shows it (an int: it sorts and compares as one), with
    the text line it starts on; shown as :func:`row_label` shows it."""

    line: int

    def __new__(cls, row: int, line: int) -> RowNumber:
        number = super().__new__(cls, row)
        number.line = line
        return number

    def __str__(self) -> str:
        return row_label(_as_is, int(self), self.line)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass
class Table:
    """A file's header and its records, each with its row and, if refused, why."""

    encoding: str
    delimiter: str
    header: list[str]
    rows: Iterator[tuple[RowNumber, list[str], str | None]]
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""


def read_table(path: str | os.PathLike, sheet: str | None = None,
               _: Translate = _as_is) -> Table:
    """The table in ``path`` read as every list is read: encodings, workbooks, unclosed
    quotes, control characters and records over :data:`RECORD_LIMIT` refused per row. The
    records come as they are read (blank ones too, since a spreadsheet counts them); the file
    is closed when they are all read. Raises :class:`ReadError` for a file that is no table."""
    scanned = scan(path, sheet)
    try:
        encoding, delimiter, header = read_columns(scanned)
    except BaseException:
        scanned.close(None)
        raise
    return Table(scanned.encoding, delimiter, header,
                 _table_rows(scanned, encoding, delimiter, header, _),
                 scanned.sheets, scanned.sheet)


def _table_rows(scanned: Input, encoding: str, delimiter: str, header: list[str],
                _: Translate) -> Iterator[tuple[RowNumber, list[str], str | None]]:
    row = 1  # the header's
    try:
        for block, first_line in record_blocks(scanned.binary, delimiter, 1 << 20,
                                               scanned.first_line):
            text = block.decode(encoding, errors="surrogateescape")
            if isinstance(block, Opened):
                cells = next(csv.reader([text.rstrip("\r\n")], delimiter=delimiter), [])
                row += 1
                yield RowNumber(row, first_line), clean(cells), _(UNCLOSED)
                continue
            long, bad = len(text) > RECORD_LIMIT, may_be_bad(text)
            for _index, offset, cells, reason in records(text, delimiter, len(header)):
                row += 1
                if reason is not None:
                    reason = _(reason)
                elif long and sum(map(len, cells)) > RECORD_LIMIT:
                    reason = _(TOO_LONG)
                elif bad:
                    reason = bad_reason(_, header, encoding, cells)
                yield (RowNumber(row, first_line + offset),
                       clean(cells) if reason else cells, reason)
    finally:
        scanned.close(None)
