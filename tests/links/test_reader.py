"""The reader: every record of a recipient list is read right or reported with its row.

Encodings (BOM, UTF-8 with broken rows, one code page for the whole file), workbooks read
directly, binary files refused, unbalanced quotes, oversized and control-character rows, row
numbers as a spreadsheet shows them, and every record accounted for.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from purl.extensions import db
from purl.links import batch
from purl.models import Campaign, Recipient
from purl.spreadsheet import reading as reader
from purl.spreadsheet.reading import RECORD_LIMIT
from tests.conftest import TEST_KEYS
from tests.sheets import write_excel, write_ods, write_xls, write_xlsx


def run(app, source, out, **options):  # noqa: ANN001, ANN003, ANN201
    with app.app_context():
        c = db.session.scalar(db.select(Campaign))
        return batch.generate(db.session, c, source, out, keys=TEST_KEYS,
                              base_url="http://localhost", options=batch.Options(**options))


def errors_of(out: Path) -> list[tuple[str, str]]:
    text = out.with_name(out.stem + ".errors.csv").read_bytes().decode("utf-8-sig")
    delimiter = "\t" if "\t" in text.split("\n", 1)[0] else ";" if ";" in text[:200] else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return [(r[0], r[1]) for r in rows[1:]]


def names(app) -> list[tuple[str | None, str | None]]:  # noqa: ANN001
    with app.app_context():
        return [(r.first_name, r.email) for r in
                db.session.scalars(db.select(Recipient).order_by(Recipient.id))]


def manifest_of(out: Path) -> dict:
    return json.loads(out.with_name(out.stem + ".manifest.json").read_text())


# --- encodings ------------------------------------------------------------------------------

UMLAUTS = "Vorname;Nachname;E-Mail\r\nJörg;Şahin;j@example.de\r\nZoë;Weiß;z@example.de\r\n"


def test_utf16_unicode_text_from_excel_reads_with_its_umlauts(app, campaign, tmp_path):
    """Excel's "Unicode Text": UTF-16 LE with a BOM, tab-delimited."""
    source = tmp_path / "kunden.txt"
    source.write_bytes(UMLAUTS.replace(";", "\t").encode("utf-16"))
    result = run(app, source, tmp_path / "out.csv")
    assert (result.encoding, result.delimiter) == ("utf-16-le", "\t")
    assert result.summary() == "minted 2, reused 0, rejected 0"
    assert names(app) == [("Jörg", "j@example.de"), ("Zoë", "z@example.de")]
    # Excel opens the result: UTF-8 with a BOM.
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_utf16_big_endian_and_without_bom(app, campaign, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(b"\xfe\xff" + UMLAUTS.encode("utf-16-be"))
    assert run(app, big, tmp_path / "a.csv").encoding == "utf-16-be"
    bare = tmp_path / "bare.csv"
    bare.write_bytes(UMLAUTS.encode("utf-16-le"))
    result = run(app, bare, tmp_path / "b.csv")
    assert result.encoding == "utf-16-le"
    assert result.summary() == "minted 0, reused 2 (updated 0), rejected 0"
    assert names(app)[0] == ("Jörg", "j@example.de")


def test_one_broken_byte_rejects_its_row_not_the_files_umlauts(app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(UMLAUTS.encode() + b"J\xf6rn;M\xfcller;jm@example.de\r\n")
    result = run(app, source, tmp_path / "out.csv")
    assert result.encoding == "utf-8"
    assert result.summary() == "minted 2, reused 0, rejected 1"
    assert names(app) == [("Jörg", "j@example.de"), ("Zoë", "z@example.de")]
    assert errors_of(tmp_path / "out.csv") == [
        ("4", "enthält Bytes, die kein UTF-8-Text sind: speichern Sie die Datei als „CSV UTF-8“")]
    with app.app_context():
        stored = " ".join(f"{r.first_name} {r.last_name}" for r in
                          db.session.scalars(db.select(Recipient)))
    assert "Ã" not in stored and "\ufffd" not in stored


def test_windows_1252_from_german_excel_keeps_working(app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(UMLAUTS.replace("Şahin", "Sahin").encode("cp1252"))
    result = run(app, source, tmp_path / "out.csv")
    assert result.encoding == "cp1252"
    assert names(app) == [("Jörg", "j@example.de"), ("Zoë", "z@example.de")]


def test_other_code_pages_come_from_the_detector(app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    lines = ["Vorname;Nachname;E-Mail"] + [f"Иван;Смирнов;i{i}@example.ru" for i in range(20)]
    source.write_bytes("\r\n".join(lines).encode("cp1251"))
    result = run(app, source, tmp_path / "out.csv")
    assert result.encoding == "cp1251"
    assert names(app)[0] == ("Иван", "i0@example.ru")


@pytest.mark.parametrize("data", [
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    b"PK\x03\x04\x14\0\0\0\x08\0 not a workbook at all",
    bytes(range(256)) * 40,
])
def test_binary_files_are_refused_with_what_to_do(app, campaign, tmp_path, data):
    source = tmp_path / "liste.csv"
    source.write_bytes(data)
    with pytest.raises(batch.BatchError, match="save it as CSV UTF-8 or .xlsx"):
        run(app, source, tmp_path / "out.csv")


# --- workbooks ------------------------------------------------------------------------------

def test_xlsx_is_read_directly_with_numbers_and_dates_as_shown(app, campaign, tmp_path):
    source = write_xlsx(tmp_path / "kunden.xlsx", [
        ["Kundennummer", "Vorname", "E-Mail", "Geburtstag", "Umsatz", "PLZ"],
        [10001, "Jörg", "j@example.de", dt.date(1980, 5, 17), 0.1 + 0.2, 1067],
        [10002, "Ayşe", "a@example.de", dt.date(2001, 1, 2), 12.5, 80331],
    ])
    result = run(app, source, tmp_path / "out.csv")
    assert result.encoding == "xlsx"
    assert result.summary() == "minted 2, reused 0, rejected 0"
    with app.app_context():
        people = db.session.scalars(db.select(Recipient).order_by(Recipient.id)).all()
        assert [(p.external_id, p.first_name, p.attributes) for p in people] == [
            ("10001", "Jörg", {"Geburtstag": "17.05.1980", "Umsatz": "0.3", "PLZ": "1067"}),
            ("10002", "Ayşe", {"Geburtstag": "02.01.2001", "Umsatz": "12.5", "PLZ": "80331"}),
        ]
    assert manifest_of(tmp_path / "out.csv")["input"]["encoding"] == "xlsx"


CUSTOMERS = [
    ["Kundennummer", "Anrede", "Vorname", "Nachname", "E-Mail", "Kunde seit", "Umsatz"],
    [10001, "Herr", "Jörg", "Weiß", "j@example.de", dt.date(2019, 5, 17), 1234.5],
    [10002, "Frau Dr.", "Ayşe", "Şahin", "a@example.de", dt.date(2021, 1, 2), 80],
]


@pytest.mark.parametrize(("writer", "name"), [
    (write_excel, "kunden.xlsx"), (write_xls, "kunden.xls"), (write_ods, "kunden.ods")])
def test_workbooks_from_excel_old_excel_and_libreoffice_read_alike(
        app, campaign, tmp_path, writer, name):
    """Files as Excel (shared strings, styles), Excel 97-2003 (.xls) and LibreOffice (.ods)
    write them: the same people, numbers and dates as the sheet shows them."""
    source = writer(tmp_path / name, CUSTOMERS)
    result = run(app, source, tmp_path / "out.csv")
    assert (result.encoding, result.summary()) == (
        name.rsplit(".", 1)[1], "minted 2, reused 0, rejected 0")
    with app.app_context():
        people = db.session.scalars(db.select(Recipient).order_by(Recipient.id)).all()
        assert [(p.external_id, p.first_name, p.last_name, p.title, p.attributes)
                for p in people] == [
            ("10001", "Jörg", "Weiß", None, {"Kunde seit": "17.05.2019", "Umsatz": "1234.5"}),
            ("10002", "Ayşe", "Şahin", "Dr.", {"Kunde seit": "02.01.2021", "Umsatz": "80"}),
        ]


def test_a_chosen_sheet_is_read_by_name_or_number(app, campaign, runner, tmp_path):
    source = write_xlsx(tmp_path / "export.xlsx", sheets={
        "Hinweise": [["Exportiert am 1.12."]],
        "Kunden": [["E-Mail", "Vorname"], ["a@example.de", "Anna"], ["b@example.de", "Ben"]]})
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out",
                                 str(tmp_path / "out.csv"), "--sheet", "kunden"])
    assert result.exit_code == 0, result.output
    assert "minted 2, reused 0, rejected 0" in result.output
    assert manifest_of(tmp_path / "out.csv")["input"]["sheet"] == "Kunden"
    again = run(app, source, tmp_path / "again.csv", sheet="2")
    assert again.summary() == "minted 0, reused 2 (updated 0), rejected 0"
    with source.open("rb") as stream:
        seen = batch.preview(stream, sheet="Kunden")
    assert (seen.sheets, seen.sheet, seen.header) == (
        ["Hinweise", "Kunden"], "Kunden", ["E-Mail", "Vorname"])


@pytest.mark.parametrize(("sheets", "sheet", "message"), [
    ({"Leer": [], "Kunden": [["E-Mail"], ["a@example.de"]]}, None,
     "the first sheet 'Leer' is empty: choose the sheet that holds the list "
     "(the workbook's sheets: Leer, Kunden)"),
    ({"Kunden": [["E-Mail"], ["a@example.de"]]}, "Adressen",
     "the workbook has no sheet 'Adressen': its sheets are Kunden"),
    (None, "Kunden", "this file is a CSV text, not a workbook, so it has no sheets"),
])
def test_a_wrong_sheet_says_which_sheets_there_are(app, campaign, runner, tmp_path, sheets,
                                                    sheet, message):
    if sheets is None:
        source = tmp_path / "kunden.csv"
        source.write_text("E-Mail\na@example.de\n")
    else:
        source = write_xlsx(tmp_path / "kunden.xlsx", sheets=sheets)
    args = ["purl", "generate", "herbst", str(source), "--out", str(tmp_path / "out.csv")]
    result = runner.invoke(args=args + (["--sheet", sheet] if sheet else []))
    assert result.exit_code == 1
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Recipient)) == 0


def test_xlsx_preview_shows_its_columns(tmp_path):
    source = write_xlsx(tmp_path / "kunden.xlsx", [["E-Mail", "Vorname"], ["a@example.de", "Anna"]])
    with source.open("rb") as stream:
        seen = batch.preview(stream)
    assert (seen.encoding, seen.header, seen.rows, seen.lines) == (
        "xlsx", ["E-Mail", "Vorname"], [["a@example.de", "Anna"]], 1)
    assert seen.mapping == {"E-Mail": "email", "Vorname": "first_name"}


def test_a_workbooks_preview_converts_only_its_first_rows_and_counts_them_all(tmp_path):
    source = write_xlsx(tmp_path / "kunden.xlsx", [["E-Mail"]] + [
        [f"k{i}@example.de"] for i in range(3000)])
    scanned = reader.scan(source, rows=10)
    try:
        converted = scanned.binary.read().decode()
    finally:
        scanned.close(None)
    assert converted.count("\n") == 11 and scanned.lines == 3001
    assert batch.preview(source, rows=5).lines == 3000


def test_tab_separated_text_named_xls_reads_as_text(app, campaign, tmp_path):
    """Old CRMs export tab-separated text and call it ".xls": the bytes decide."""
    source = tmp_path / "export.xls"
    source.write_bytes(UMLAUTS.replace(";", "\t").encode("cp1252", "replace"))
    result = run(app, source, tmp_path / "out.csv")
    assert (result.encoding, result.delimiter, result.minted) == ("cp1252", "\t", 2)


def test_cli_generate_takes_an_xlsx(app, campaign, runner, tmp_path):
    source = write_xlsx(tmp_path / "kunden.xlsx", [["E-Mail"], ["a@example.de"], ["kaputt@"]])
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "minted 1, reused 0, rejected 1" in result.output


# --- bad records ----------------------------------------------------------------------------

def test_an_unclosed_quote_rejects_its_row_and_reads_the_rows_below(app, campaign, tmp_path):
    """The issue's 4-row file: the quote in row 3 took rows 4 and 5 into one cell."""
    source = tmp_path / "in.csv"
    source.write_bytes(b'Vorname;E-Mail\nAnna;a@example.de\n"Ben;b@example.de\n'
                       b"Cem;c@example.de\nDora;d@example.de\n")
    result = run(app, source, tmp_path / "out.csv")
    assert result.summary() == "minted 3, reused 0, rejected 1"
    assert [e for _, e in names(app)] == ["a@example.de", "c@example.de", "d@example.de"]
    [(row, reason)] = errors_of(tmp_path / "out.csv")
    assert row == "3" and reason.startswith("ein Anführungszeichen (\") in dieser Zeile")
    assert manifest_of(tmp_path / "out.csv")["counts"]["rows"] == 4


def test_an_unclosed_quote_closed_by_a_later_quote_is_caught_too(app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b'Vorname;E-Mail;Ort\nAnna;a@example.de;Berlin\n"Ben;b@example.de;Bonn\n'
                       b'Cem;c@example.de;"Halle, Saale"\nDora;d@example.de;Kiel\n')
    result = run(app, source, tmp_path / "out.csv")
    assert result.summary() == "minted 3, reused 0, rejected 1"
    assert errors_of(tmp_path / "out.csv")[0][0] == "3"
    with app.app_context():
        cem = db.session.scalar(db.select(Recipient).where(Recipient.email == "c@example.de"))
        assert cem.attributes == {"Ort": "Halle, Saale"}


def test_an_unclosed_quote_past_the_record_limit_on_every_core(app, campaign, tmp_path):
    lines = [f"K{i};p{i}@example.de" for i in range(3000)]
    lines[10] = '"' + lines[10]
    body = "Kundennummer;E-Mail\n" + "\n".join(lines) + "\n"
    body += "".join(f"L{i};q{i}@example.de;{'x' * 300}\n" for i in range(4000))
    source = tmp_path / "in.csv"
    source.write_text(body)
    assert len(body) > RECORD_LIMIT
    result = run(app, source, tmp_path / "out.csv", workers=2, chunk_size=500)
    assert result.minted + result.reused + result.rejected == result.total_rows == 7000
    assert errors_of(tmp_path / "out.csv")[0][0] == "12"
    assert result.minted == 2999  # the L rows: one cell too many, each rejected with its row


def test_a_field_over_the_csv_limit_is_read_and_a_record_over_1_mb_refused(
        app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("E-Mail;Notiz\n"
                      f"a@example.de;{'n' * 200_000}\n"
                      f"b@example.de;\"{'m' * (RECORD_LIMIT + 10)}\"\n"
                      "c@example.de;kurz\n")
    result = run(app, source, tmp_path / "out.csv")
    assert result.summary() == "minted 2, reused 0, rejected 1"
    assert errors_of(tmp_path / "out.csv") == [("3", "ist länger als 1 MB")]


def test_nul_and_control_characters_reject_their_row(app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"Vorname;E-Mail\nAn\x00na;a@example.de\nBen\x1b;b@example.de\n"
                       b"Cem\tC;c@example.de\n")
    result = run(app, source, tmp_path / "out.csv")
    assert result.summary() == "minted 1, reused 0, rejected 2"
    assert errors_of(tmp_path / "out.csv") == [
        ("2", "Vorname enthält ein Steuerzeichen (U+0000): bitte entfernen"),
        ("3", "Vorname enthält ein Steuerzeichen (U+001B): bitte entfernen"),
    ]
    assert b"\x00" not in (tmp_path / "out.errors.csv").read_bytes()


# --- row numbers and what to do ---------------------------------------------------------------

def test_row_numbers_as_a_spreadsheet_shows_them_with_the_text_line(app, campaign, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b'E-Mail;Adresse\na@example.de;"Hauptstr. 1\n10115 Berlin"\n'
                       b"kaputt@;x\nb@example.de;y\nb@example.de;z\n")
    run(app, source, tmp_path / "out.csv")
    assert errors_of(tmp_path / "out.csv") == [
        ("3 (Textzeile 4)", "E-Mail 'kaputt@' ist keine gültige E-Mail-Adresse"),
        ("5 (Textzeile 6)", "doppelt, wie Zeile 4 (Textzeile 5): gleiche E-Mail-Adresse "
                            "'b@example.de'"),
    ]


def test_dry_run_prints_the_error_rows(app, campaign, runner, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("E-Mail\na@example.de\nkaputt@\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out),
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "row 3: E-Mail 'kaputt@' ist keine gültige E-Mail-Adresse" in result.output


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the file is empty"),
    (b"\r\n\r\n", "the file is empty"),
    (b"Vorname;E-Mail\r\n", "the file has its header but no rows below it"),
    (b"Vorname;E-Mail\r\n;\r\n\r\n", "the file has its header but no rows below it"),
    (b"E-Mail;Vorname;E-Mail\r\na@example.de;Anna;b@example.de\r\n",
     "the header names the column 'E-Mail' twice"),
    (b"Artikel;Preis\r\nNapf;9,99\r\n", "no column holds a customer number, an email "
     "address or a name (the columns: Artikel, Preis): say which column identifies each "
     "person"),
])
def test_files_without_people_say_what_to_do(app, campaign, runner, tmp_path, data, message):
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    result = runner.invoke(args=["purl", "generate", "herbst", str(source),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 1 and message in result.output, result.output


def test_unknown_columns_are_kept_and_the_summary_says_what_to_do(app, campaign, runner,
                                                                    tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("E-Mail;Lieblingstier;Notiz\na@example.de;Hund;ruft gern an\n")
    result = runner.invoke(args=["purl", "generate", "herbst", str(source),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert ("kept on each recipient as extra columns (not in greetings): Lieblingstier, "
            "Notiz; if one holds a name, an email or a customer number, run again "
            "with --map COLUMN=FIELD") in result.output


def test_batch_errors_speak_the_marketers_language():
    from purl.links.batch.rows import reasons_in

    with pytest.raises(batch.BatchError) as raised:
        batch.map_header(["E-Mail", "E-Mail"], {})
    assert raised.value.translated(reasons_in("de")).startswith(
        "die Kopfzeile nennt die Spalte 'E-Mail' zweimal")


# --- properties -----------------------------------------------------------------------------

# Letters only: a letter of Windows-1252 followed by one of its signs (€ „ “ – nbsp) can be a
# valid UTF-8 sequence by accident, and a short file of nothing else reads as UTF-8.
GERMAN_1252 = "äöüÄÖÜßéè"
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252"]
_cell = st.lists(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(
    ['"', ";", ",", "\t", "\n", "\r\n", " ", "ä", "ß", '""', "€", "Ş", "é"]),
    max_size=8).map("".join)


def _read_back(data: bytes, delimiter: str) -> list[list[str]]:
    scanned = reader.scan(io.BytesIO(data))
    try:
        encoding, found, header = reader.read_columns(scanned)
        assert found == delimiter
        rows = [header]
        for block, _line in reader.record_blocks(scanned.binary, found, 64,
                                                 scanned.first_line):
            text = block.decode(encoding)
            rows += list(csv.reader(io.StringIO(text, newline=""), delimiter=found))
        return rows
    finally:
        scanned.close(None)


@settings(derandomize=True, max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(encoding=st.sampled_from(ENCODINGS), delimiter=st.sampled_from([";", ",", "\t"]),
       records=st.lists(st.lists(_cell, min_size=3, max_size=3), min_size=1, max_size=12))
def test_what_csv_writer_wrote_reads_back_the_same(encoding, delimiter, records):
    if encoding == "cp1252":
        # What German Excel writes in its code page; any other letters of it alone are
        # ambiguous between code pages (the detector's call, not a round trip).
        records = [["".join(ch if ch.isascii() or ch in GERMAN_1252 else "ä" for ch in c)
                    for c in r] for r in records]
    header = ["Vorname", "Nachname", "E-Mail"]
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter).writerows([header, *records])
    data = text.getvalue().encode(encoding)
    # Cells are stripped only in the header; a record of empty cells is a blank line.
    expected = [header] + [r if any(r) else ([] if len(r) == 1 else r) for r in records]
    assert _read_back(data, delimiter) == expected


@settings(derandomize=True, max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400) | st.lists(st.sampled_from(
    [b'"', b";", b",", b"\n", b"\r", b"\0", b"\xc3\xa4", b"\xe4", b"a@b.de", b"Anna",
     b"\xff\xfe", b"PK\x03\x04"]), max_size=60).map(b"".join))
def test_random_bytes_never_raise_anything_but_a_batch_error(app, campaign, tmp_path, data):
    source = tmp_path / "random.csv"
    source.write_bytes(b"E-Mail;Vorname\n" + data if data[:1] != b"P" else data)
    try:
        result = run(app, source, tmp_path / "out.csv", dry_run=True)
    except batch.BatchError:
        return
    assert result.minted + result.reused + result.rejected == result.total_rows


def test_console_upload_previews_and_mints_an_xlsx(console, tmp_path):
    from tests.conftest import csrf_token

    page = console.get("/console/campaigns/winter-2026").get_data(as_text=True)
    assert 'accept=".csv,.txt,text/csv,.xlsx,.xls,.ods"' in page
    book = write_xlsx(tmp_path / "kunden.xlsx", [
        ["Kundennummer", "Vorname", "E-Mail", "Geburtstag"],
        [10001, "Jörg", "j@example.de", dt.date(1980, 5, 17)],
        [10002, "Ayşe", "kaputt@", dt.date(1990, 1, 2)],
    ])
    response = console.post("/console/campaigns/winter-2026/batches", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(book.read_bytes()), book.name)},
        content_type="multipart/form-data")
    assert response.status_code == 303
    page = console.get(response.location).get_data(as_text=True)
    # Cells, not the workbook's zip bytes read as text (they name their parts in plain
    # ASCII; a bare "PK", their header, turns up by chance in the page's random tokens).
    assert "Jörg" in page and "17.05.1980" in page and "[Content_Types].xml" not in page
    assert "Excel-Arbeitsmappe (.xlsx), erstes Tabellenblatt" in page
    form = {f"map-{i}": v for i, v in enumerate(
        ["external_id", "first_name", "email", "attribute"])}
    form.update({"channel": "email", "csrf_token": csrf_token(page)})
    assert console.post(response.location, data=form).status_code == 303
    with console.application.app_context():
        from purl.models import Batch

        done = db.session.scalar(db.select(Batch))
        assert (done.status, done.minted, done.rejected) == ("done", 1, 1)


def test_preview_reads_a_field_over_the_csv_modules_limit(tmp_path):
    """It answered 500 in the console (``field larger than field limit``)."""
    source = tmp_path / "in.csv"
    source.write_text(f"E-Mail;Notiz\na@example.de;{'n' * 200_000}\n")
    seen = batch.preview(source)
    assert seen.rows[0][0] == "a@example.de" and len(seen.rows[0][1]) == 200_000
