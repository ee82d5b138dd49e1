"""A minimal .xlsx writer for tests and the benchmark (no spreadsheet library needed to write):
strings inline, numbers as numbers, dates as date-formatted serials, as Excel stores them."""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_TYPE = "application/vnd.openxmlformats-"
_SHEET_TYPE = _TYPE + "officedocument.spreadsheetml."
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    f'<Default Extension="rels" ContentType="{_TYPE}package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}sheet.main+xml"/>'
    "{sheets}"
    f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_TYPE}styles+xml"/>'
    "</Types>")
_SHEET_PART = ('<Override PartName="/xl/worksheets/sheet{n}.xml" '
               f'ContentType="{_SHEET_TYPE}worksheet+xml"/>')
_RELS = (
    _XML + f'<Relationships xmlns="{_RELS_NS}">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>")
_WORKBOOK = (
    _XML + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    f'xmlns:r="{_REL}"><sheets>{{sheets}}</sheets></workbook>')
_WORKBOOK_SHEET = '<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>'
_WORKBOOK_RELS = (
    _XML + f'<Relationships xmlns="{_RELS_NS}">{{sheets}}'
    f'<Relationship Id="rIdStyles" Type="{_REL}/styles" Target="styles.xml"/>'
    "</Relationships>")
_SHEET_REL = (f'<Relationship Id="rId{{n}}" Type="{_REL}/worksheet" '
              'Target="worksheets/sheet{n}.xml"/>')
# Style 1: Excel's built-in date format 14 (shown as dd.mm.yyyy in a German Excel).
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" xfId="0"/>'
    '<xf numFmtId="14" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>')
_EPOCH = dt.date(1899, 12, 30)


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(ref: str, value: object) -> str:
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="1"><v>{(value - _EPOCH).days}</v></c>'
    text = escape(str(value))
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def write_xlsx(path: Path, rows: Iterable[Sequence[object]] = (), sheet: str = "Tabelle1",
               sheets: dict[str, Iterable[Sequence[object]]] | None = None) -> Path:
    """A workbook of one sheet (``rows``), or of ``sheets`` (name -> rows) in their order."""
    sheets = sheets if sheets is not None else {sheet: rows}
    numbers = range(1, len(sheets) + 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES.format(
            sheets="".join(_SHEET_PART.format(n=n) for n in numbers)))
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK.format(sheets="".join(
            _WORKBOOK_SHEET.format(name=escape(name, {'"': "&quot;"}), n=n)
            for n, name in zip(numbers, sheets, strict=True))))
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.format(
            sheets="".join(_SHEET_REL.format(n=n) for n in numbers)))
        book.writestr("xl/styles.xml", _STYLES)
        for n, sheet_rows in zip(numbers, sheets.values(), strict=True):
            _write_sheet(book, n, sheet_rows)
    return path


def _write_sheet(book: zipfile.ZipFile, n: int, rows: Iterable[Sequence[object]]) -> None:
    with book.open(f"xl/worksheets/sheet{n}.xml", "w") as out:
        out.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                  b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                  b'2006/main"><sheetData>')
        for r, row in enumerate(rows, 1):
            cells = "".join(_cell(f"{_column(c)}{r}", v) for c, v in enumerate(row)
                            if v is not None and v != "")
            out.write(f'<row r="{r}">{cells}</row>'.encode())
        out.write(b"</sheetData></worksheet>")


# The same rows as the spreadsheet programs themselves write them, through the libraries that
# write their formats: Excel's .xlsx (shared strings, styles), old Excel's .xls (BIFF8) and
# LibreOffice's .ods. Dates get a date format, numbers stay numbers.

def write_excel(path: Path, rows: Iterable[Sequence[object]], sheet: str = "Tabelle1") -> Path:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    page = book.add_worksheet(sheet)
    date = book.add_format({"num_format": "dd.mm.yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                page.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date)
            elif value is not None:
                page.write(r, c, value)
    book.close()
    return path


def write_xls(path: Path, rows: Iterable[Sequence[object]], sheet: str = "Tabelle1") -> Path:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    page = book.add_sheet(sheet)
    date = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                page.write(r, c, value, date)
            elif value is not None:
                page.write(r, c, value)
    book.save(str(path))
    return path


def write_ods(path: Path, rows: Iterable[Sequence[object]], sheet: str = "Tabelle1") -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    table = Table(name=sheet)
    for row in rows:
        line = TableRow()
        for value in row:
            if isinstance(value, bool) or value is None:
                cell = TableCell()
            elif isinstance(value, dt.date):
                cell = TableCell(valuetype="date", datevalue=value.isoformat())
                cell.addElement(P(text=value.strftime("%d.%m.%Y")))
            elif isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=value)
                cell.addElement(P(text=str(value)))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=str(value)))
            line.addElement(cell)
        table.addElement(line)
    document.spreadsheet.addElement(table)
    document.save(str(path))
    return path
