"""Batches from real exports: reading, validation, idempotency, crash safety, codes and QR."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from purl.extensions import db
from purl.links import batch, codes, qr, tokens
from purl.links.recipients import NewRecipient, identity_of, mint
from purl.models import Batch, Campaign, Recipient
from tests.conftest import TEST_KEYS

ROOT = Path(__file__).resolve().parents[2]

GERMAN = (
    "Vorname;Nachname;Anrede;E-Mail;Kundennummer;Haustier\r\n"
    "Jürgen;Müller;Herr;juergen.mueller@example.de;10001;Hund\r\n"
    "Ayşe;Şahin;Frau;;10002;Katze\r\n"  # Ş is not in Windows-1252: only in the UTF-8 copy
    "Anna;Schäfer;Frau;anna.schaefer@example.de;10003;\r\n"
    "Kim;Weiß;Divers;kim@example;10004;Vogel\r\n"
    "Jürgen;Müller;Herr;j.mueller@example.de;10001;Hund\r\n"
    ";;;;;\r\n"
    "Zoë;Ölmann;Frau;zoe@example.de;10005;Fisch\r\n"
)
MAILCHIMP = (
    '"Email Address","First Name","Last Name",Address,"Phone Number",MEMBER_RATING,'
    "OPTIN_TIME,LEID,EUID,TAGS\n"
    'anna@example.de,Anna,Schäfer,"Hauptstr. 1, Berlin",+49 30 1234,2,2026-01-02,1,abc,"VIP"\n'
    'BEN@example.de,Ben,Braun,,,3,2026-01-03,2,def,\n'
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    return rows[0], [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def run(app, campaign_id, source, out, progress=None, **options):  # noqa: ANN001, ANN201
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        return batch.generate(db.session, c, source, out, keys=TEST_KEYS,
                              base_url="http://localhost", options=batch.Options(**options),
                              progress=progress)


def recipients(app) -> list[Recipient]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
        db.session.expunge_all()
        return rows


def test_german_excel_export_and_its_utf8_bom_copy_give_the_same_links(app, campaign, tmp_path):
    latin = GERMAN.replace("Ayşe;Şahin", "Ayse;Sahin")
    excel = write(tmp_path / "kunden.csv", latin, "cp1252")
    bom = write(tmp_path / "kunden-bom.csv", latin, "utf-8-sig")
    first = run(app, campaign, excel, tmp_path / "a.csv")
    assert (first.encoding, first.delimiter) == ("cp1252", ";")
    assert first.mapping == {"first_name": "Vorname", "last_name": "Nachname", "gender": "Anrede",
                             "email": "E-Mail", "external_id": "Kundennummer"}
    assert first.summary() == "minted 4, reused 0, rejected 2"
    second = run(app, campaign, bom, tmp_path / "b.csv")
    assert second.encoding == "utf-8-sig"
    assert second.summary() == "minted 0, reused 4 (updated 0), rejected 2"
    header, rows_a = read(tmp_path / "a.csv")
    _, rows_b = read(tmp_path / "b.csv")
    assert header == ["Vorname", "Nachname", "Anrede", "E-Mail", "Kundennummer", "Haustier",
                      "purl_url", "purl_code", "salutation_line"]
    assert rows_a == rows_b
    assert [r["salutation_line"] for r in rows_a] == [
        "Lieber Jürgen,", "Liebe Ayse,", "Liebe Anna,", "Liebe Zoë,"]
    # Excel gets UTF-8 with a BOM back, so the umlauts survive.
    assert (tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    people = recipients(app)
    assert [(p.first_name, p.gender, p.external_id, p.attributes) for p in people] == [
        ("Jürgen", "m", "10001", {"Haustier": "Hund"}),
        ("Ayse", "f", "10002", {"Haustier": "Katze"}),
        ("Anna", "f", "10003", {}),
        ("Zoë", "f", "10005", {"Haustier": "Fisch"}),
    ]


def test_every_row_is_in_the_output_or_the_errors_with_its_line(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)
    result = run(app, campaign, source, tmp_path / "out.csv")
    assert result.summary() == "minted 4, reused 0, rejected 2"
    _, rows = read(tmp_path / "out.csv")
    _, errors = read(tmp_path / "out.errors.csv")
    assert [r["Kundennummer"] for r in rows] == ["10001", "10002", "10003", "10005"]
    assert all(r["purl_url"].startswith("http://localhost/p/") for r in rows)
    assert [(e["line"], e["reason"]) for e in errors] == [
        ("5", "E-Mail 'kim@example' ist keine gültige E-Mail-Adresse"),
        ("6", "doppelt, wie Zeile 2: gleiche Kundennummer '10001'"),
    ]
    assert errors[0]["Vorname"] == "Kim"
    # Line 7 is Excel's empty trailing row: no one, so neither output nor error.
    assert result.total_rows == 6


def test_rerun_reuses_every_link_and_an_overlapping_list_only_adds(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)
    run(app, campaign, source, tmp_path / "one.csv")
    again = run(app, campaign, source, tmp_path / "two.csv")
    assert again.summary() == "minted 0, reused 4 (updated 0), rejected 2"
    assert read(tmp_path / "one.csv") == read(tmp_path / "two.csv")
    lines = GERMAN.split("\r\n")
    more = write(tmp_path / "more.csv", "\r\n".join(
        [lines[0], lines[1], "Neu;Kundin;Frau;neu@example.de;20001;", lines[3]]))
    overlap = run(app, campaign, more, tmp_path / "three.csv")
    assert overlap.summary() == "minted 1, reused 2 (updated 0), rejected 0"
    assert len(recipients(app)) == 5


def test_mailchimp_export_maps_without_help(app, campaign, tmp_path):
    source = write(tmp_path / "members_export.csv", MAILCHIMP)
    result = run(app, campaign, source, tmp_path / "out.csv")
    assert result.mapping == {"email": "Email Address", "first_name": "First Name",
                              "last_name": "Last Name"}
    assert result.summary() == "minted 2, reused 0, rejected 0"
    header, rows = read(tmp_path / "out.csv")
    assert header[:10] == MAILCHIMP.split("\n")[0].replace('"', "").split(",")
    # A phone number starting with + would be a formula in Excel: neutralised.
    assert rows[0]["Phone Number"] == "'+49 30 1234"
    assert rows[0]["Address"] == "Hauptstr. 1, Berlin"
    people = recipients(app)
    assert people[1].identity == "email:ben@example.de"
    assert people[0].attributes["TAGS"] == "VIP"


def test_map_overrides_and_unknown_columns_are_named(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", "Kontakt,Rufname,Mail\nX-1,Anna,anna@example.de\n")
    with pytest.raises(batch.BatchError, match="--map Nope=email: the header has no column"):
        run(app, campaign, source, tmp_path / "o.csv", mapping={"Nope": "email"})
    with pytest.raises(batch.BatchError, match="unknown field 'vorname'"):
        run(app, campaign, source, tmp_path / "o.csv", mapping={"Rufname": "vorname"})
    result = run(app, campaign, source, tmp_path / "o.csv",
                 mapping={"Kontakt": "external_id", "Rufname": "first_name"})
    assert result.mapping == {"external_id": "Kontakt", "first_name": "Rufname",
                              "email": "Mail"}
    assert recipients(app)[0].identity == "id:X-1"


def test_rejects_too_long_fields_no_identity_and_ragged_rows(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", "First Name,Email,Segment\n"
                   f"{'A' * 101},a@example.de,x\n,,VIP\nAnna,b@example.de,x,surplus\n"
                   "Anna,c@example.de,x,,\n")
    result = run(app, campaign, source, tmp_path / "o.csv")
    _, errors = read(tmp_path / "o.errors.csv")
    assert [(e["line"], e["reason"]) for e in errors] == [
        ("2", "First Name ist länger als 100 Zeichen"),
        ("3", "nicht zuzuordnen: weder Kundennummer noch E-Mail-Adresse noch Name"),
        ("4", "hat 4 Zellen, die Kopfzeile aber 3"),
    ]
    assert result.summary() == "minted 1, reused 0, rejected 3"


def test_nothing_usable_exits_non_zero(app, campaign, runner, tmp_path):
    source = write(tmp_path / "in.csv", "Email\nnot-an-address\n")
    out = tmp_path / "o.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out)])
    assert result.exit_code == 1
    assert "minted 0, reused 0, rejected 1" in result.output
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out),
                                 "--map", "Email=nothing"])
    assert result.exit_code != 0 and "unknown field 'nothing'" in result.output


def test_cli_generate_dry_run_mints_nothing(app, campaign, runner, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out),
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: would have minted 4, reused 0, rejected 2" in result.output
    assert "Kundennummer → external_id" in result.output
    assert not out.exists() and (tmp_path / "out.errors.csv").exists()
    assert recipients(app) == []
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    assert manifest["dry_run"] is True and manifest["counts"]["rejected"] == 2


def test_manifest_names_campaign_input_hash_counts_and_key(app, campaign, runner, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out)])
    assert result.output.strip().endswith("minted 4, reused 0, rejected 2")
    manifest = json.loads((tmp_path / "out.manifest.json").read_text())
    import hashlib

    assert manifest["campaign"] == "herbst"
    assert manifest["input"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["counts"] == {"rows": 6, "minted": 4, "reused": 0, "updated": 0,
                                  "rejected": 2, "accounted": True,
                                  "rule": "minted + reused + rejected = rows"}
    assert manifest["key_id"] == tokens.key_id(TEST_KEYS)
    assert TEST_KEYS[0] not in json.dumps(manifest)
    with app.app_context():
        done = db.session.scalar(select(Batch))
        assert (done.status, done.minted, done.rejected) == ("done", 4, 2)


def test_seeds_channels_and_attributes(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", "E-Mail;Vorname;Seed;Segment\n"
                   "anna@example.de;Anna;;A\nqa@shop.de;QA;ja;\nchef@shop.de;Chef;;B\n")
    run(app, campaign, source, tmp_path / "mail.csv", seed_emails=["Chef@Shop.de"])
    printed = run(app, campaign, source, tmp_path / "print.csv", channel="print")
    assert printed.summary() == "minted 3, reused 0, rejected 0"
    people = recipients(app)
    assert [(p.channel, p.first_name, p.is_seed) for p in people] == [
        ("email", "Anna", False), ("email", "QA", True), ("email", "Chef", True),
        ("print", "Anna", False), ("print", "QA", True), ("print", "Chef", False),
    ]
    assert people[0].attributes == {"Segment": "A"}
    # One link per person and channel: the two links differ.
    _, mail = read(tmp_path / "mail.csv")
    _, printed_rows = read(tmp_path / "print.csv")
    assert mail[0]["purl_url"] != printed_rows[0]["purl_url"]
    with pytest.raises(batch.BatchError, match="unknown channel"):
        run(app, campaign, source, tmp_path / "x.csv", channel="fax")


def test_variants_split_evenly_in_bulk(app, campaign, tmp_path):
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        c.variants = [{"key": "a"}, {"key": "b"}]
        db.session.commit()
    lines = "".join(f"p{i}@example.de\n" for i in range(10))
    run(app, campaign, write(tmp_path / "in.csv", "Email\n" + lines), tmp_path / "o.csv",
        chunk_size=3)
    assert sorted(p.variant for p in recipients(app)) == ["a"] * 5 + ["b"] * 5


def test_links_carry_no_personal_data_and_resolve(app, client, campaign, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)
    run(app, campaign, source, tmp_path / "out.csv")
    _, rows = read(tmp_path / "out.csv")
    for row in rows:
        token = row["purl_url"].rsplit("/", 1)[1]
        # What the token carries, decoded as the server does: the random printed code.
        payload = tokens.unsign(token, TEST_KEYS)
        assert payload == row["purl_code"].replace("-", "")
        signature = base64.urlsafe_b64decode(token.split(".")[1] + "=").decode("latin-1")
        for secret in (row["Vorname"], row["Nachname"], row["E-Mail"], row["Kundennummer"]):
            if secret:
                assert secret.lower() not in token.lower()
                assert secret.lower() not in signature.lower()
        page = client.get(f"/p/{token}")
        assert page.status_code == 200
        assert row["salutation_line"] in page.get_data(as_text=True)
    # A single changed character anywhere in the token is rejected.
    token = rows[0]["purl_url"].rsplit("/", 1)[1]
    for i in range(len(token)):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert client.get(f"/p/{changed}").status_code == 404


def test_batch_signer_matches_the_reference_signer():
    sign = tokens.signer_for_batch(TEST_KEYS)
    for _ in range(50):
        code = codes.new_code()
        assert sign(code) == tokens.sign(code, TEST_KEYS)


def test_small_mint_shares_identity_rules_and_gets_a_code(app, campaign):
    person = NewRecipient(first_name="Anna", email=" Anna@Example.DE ")
    assert identity_of(person) == batch.identity_for("", "Anna@Example.DE", "Anna", "", "")
    with app.app_context():
        c = db.session.get(Campaign, campaign)
        (first,) = mint(db.session, c, [person])
        (again,) = mint(db.session, c, [person])
        assert first.id == again.id and codes.normalise(first.code) == first.code


# --- crash safety ---------------------------------------------------------------------------

def test_kill_9_half_way_then_rerun_completes_without_duplicates(
        app, campaign, database_url, tmp_path):
    total = 60_000
    source = tmp_path / "big.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Kundennummer;Vorname;Nachname;E-Mail\n")
        for i in range(total):
            fh.write(f"K{i};Vorname{i};Nachname{i};person{i}@example.de\n")
    out = tmp_path / "out.csv"
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEYS": ",".join(TEST_KEYS),
           "PURL_BASE_URL": "http://localhost"}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "purl", "generate", "herbst",
               str(source), "--out", str(out), "--chunk-size", "2000"]
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline:
        with app.app_context():
            done = db.session.scalar(select(func.count()).select_from(Recipient))
            db.session.remove()
        if done >= 6_000:
            break
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    with app.app_context():
        done = db.session.scalar(select(func.count()).select_from(Recipient))
    assert 0 < done < total, "the run must be killed half-way"
    assert not out.exists(), "a killed run leaves no half-written output"
    with app.app_context():  # the console tells a killed run from a slow one
        killed = db.session.scalar(select(Batch))
        assert killed.status == "running" and killed.updated_at is not None
        assert not killed.stalled()
        assert killed.stalled(now=killed.updated_at.replace(tzinfo=dt.UTC)
                              + dt.timedelta(minutes=11))

    finish = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            check=False)
    assert finish.returncode == 0, finish.stderr
    assert finish.stdout.strip() == f"minted {total - done}, reused {done} (updated 0), rejected 0"
    with app.app_context():
        count, distinct = db.session.execute(
            select(func.count(), func.count(func.distinct(Recipient.identity)))
        ).one()
        assert count == distinct == total
    _, rows = read(out)
    assert len(rows) == total
    assert len({r["purl_url"] for r in rows}) == total
    assert len({r["purl_code"] for r in rows}) == total


# --- typeable codes -------------------------------------------------------------------------

def test_codes_have_60_random_bits_and_a_check_symbol():
    many = list(codes.new_codes(2000))
    assert len(set(many)) == 2000
    for code in many[:50]:
        assert len(code) == 13 and set(code) <= set(codes.ALPHABET)
        assert codes.normalise(code) == code
        assert codes.display(code).count("-") == 3
    # Every symbol position takes every value: the bits are really random.
    for position in range(12):
        assert len({c[position] for c in many}) == 32


def test_any_single_mistyped_symbol_is_caught():
    for code in codes.new_codes(30):
        for i, original in enumerate(code):
            for replacement in codes.ALPHABET:
                if replacement != original:
                    changed = code[:i] + replacement + code[i + 1:]
                    assert codes.normalise(changed) is None, (code, i, replacement)
        for i in range(12):  # and neighbours swapped
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2:]
            if swapped != code:
                assert codes.normalise(swapped) is None


def test_lower_case_code_with_o_for_zero_resolves(app, client, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "in.csv", GERMAN), tmp_path / "out.csv")
    _, rows = read(tmp_path / "out.csv")
    with app.app_context():
        for person in db.session.scalars(select(Recipient)):
            person.code = "0123456789AB" + codes.check_symbol("0123456789AB") \
                if person.external_id == "10001" else person.code
        db.session.commit()
    typed = "o123-4567-89ab-" + codes.check_symbol("0123456789AB").lower()
    page = client.get(f"/c/{typed}")
    assert page.status_code == 303
    target = page.headers["Location"]
    assert client.get(target).get_data(as_text=True).count("Lieber Jürgen,") >= 1
    # The printed code from the output works as written.
    assert client.get(f"/c/{rows[1]['purl_code']}").status_code == 303
    mistyped = typed[:3] + ("5" if typed[3] != "5" else "6") + typed[4:]
    assert client.get(f"/c/{mistyped}").status_code == 404


def test_code_misses_are_rate_limited_but_hits_are_not(app, client, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "in.csv", GERMAN), tmp_path / "out.csv")
    _, rows = read(tmp_path / "out.csv")
    for _ in range(15):
        assert client.get(f"/c/{rows[0]['purl_code']}").status_code == 303
    statuses = [client.get(f"/c/{c}").status_code for c in codes.new_codes(12)]
    assert statuses[:10] == [404] * 10 and statuses[10:] == [429, 429]


def test_revoke_cli_by_code_recipient_and_all(app, client, runner, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "in.csv", GERMAN), tmp_path / "out.csv")
    _, rows = read(tmp_path / "out.csv")
    result = runner.invoke(args=["purl", "revoke", "herbst", "--code",
                                 rows[0]["purl_code"].lower()])
    assert result.output.strip() == "revoked 1 link"
    assert client.get(rows[0]["purl_url"].replace("http://localhost", "")).status_code == 410
    assert client.get(f"/c/{rows[0]['purl_code']}").status_code == 410
    assert client.get(rows[1]["purl_url"].replace("http://localhost", "")).status_code == 200
    result = runner.invoke(args=["purl", "revoke", "herbst"])
    assert result.exit_code != 0 and "--all" in result.output
    result = runner.invoke(args=["purl", "revoke", "herbst", "--all"])
    assert result.output.strip() == "revoked 3 links"
    assert client.get(rows[1]["purl_url"].replace("http://localhost", "")).status_code == 410


# --- QR codes -------------------------------------------------------------------------------

def test_a_qr_folder_with_the_delimiter_in_its_name_keeps_the_csv_intact(
        app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)  # semicolons
    run(app, campaign, source, tmp_path / "out.csv", qr_dir=tmp_path / "Druck;Herbst")
    header, rows = read(tmp_path / "out.csv")
    assert header[-1] == "qr_file" and all(len(r) == len(header) for r in rows)
    assert [r["qr_file"].split("/")[0] for r in rows] == ["Druck;Herbst"] * 4
    assert all((tmp_path / r["qr_file"]).exists() for r in rows)


def test_qr_files_per_recipient_named_by_customer_number(app, campaign, runner, tmp_path):
    source = write(tmp_path / "in.csv", GERMAN)
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out),
                                 "--qr-dir", str(tmp_path / "qr")])
    assert result.exit_code == 0, result.output
    _, rows = read(out)
    assert [r["qr_file"] for r in rows] == ["qr/10001.svg", "qr/10002.svg", "qr/10003.svg",
                                            "qr/10005.svg"]
    assert sorted(p.name for p in (tmp_path / "qr").iterdir()) == [
        "10001.svg", "10002.svg", "10003.svg", "10005.svg"]
    image = (tmp_path / rows[0]["qr_file"]).read_text()
    assert image.startswith("<svg") and 'width="' in image and "mm" in image
    # PNG, zipped: a re-run reuses the links and draws the same codes, under the same names.
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out),
                                 "--qr-dir", str(tmp_path / "qr"), "--qr-format", "png",
                                 "--qr-zip"])
    assert "reused 4" in result.output
    _, rows = read(out)
    with zipfile.ZipFile(tmp_path / "qr.zip") as archive:
        names = archive.namelist()
        assert names == [r["qr_file"] for r in rows] == [
            f"{r['Kundennummer']}.png" for r in rows]
        for row in rows:
            assert png_modules(archive.read(row["qr_file"])) in drawings(row["purl_url"])


def png_modules(data: bytes) -> list[list[bool]]:
    """The modules of one of our QR PNGs (1-bit greyscale, 6 px a module, a quiet zone of 4),
    read back from its pixels: no QR decoder is installed, so this stands in for one."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    chunks, at = {}, 8
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        body = data[at + 8:at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0] == zlib.crc32(
            kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert width == height and (depth, colour) == (1, 0) and b"IEND" in chunks
    stride = (width + 7) // 8 + 1
    pixels = zlib.decompress(chunks[b"IDAT"])
    assert len(pixels) == stride * height
    size = width // qr.PNG_MODULE_PX - 2 * qr.QUIET_ZONE
    assert width % qr.PNG_MODULE_PX == 0 and (size - 21) % 4 == 0  # a QR size: 21 + 4 per version

    def dark(x: int, y: int) -> bool:
        row = pixels[y * stride + 1:(y + 1) * stride]
        return not row[x // 8] >> (7 - x % 8) & 1

    middle = qr.PNG_MODULE_PX // 2
    return [[dark((qr.QUIET_ZONE + c) * qr.PNG_MODULE_PX + middle,
                  (qr.QUIET_ZONE + r) * qr.PNG_MODULE_PX + middle) for c in range(size)]
            for r in range(size)]


def drawings(url: str) -> list[list[list[bool]]]:
    """Every way the library draws ``url`` at its version (any of the eight masks)."""
    version, _mask = qr.choose(url)
    return [qr.modules(url, version, mask) for mask in range(8)]


HOSTILE = ("Kundennummer;E-Mail\r\n"
           "../x;a@example.org\r\n"
           "CON;b@example.org\r\n"
           "a/b;c@example.org\r\n"
           ";d@example.org\r\n"
           "a_b;e@example.org\r\n"
           "Müller Weiß;f@example.org\r\n"
           "con;g@example.org\r\n"
           "\\\\srv\\share\\LPT1;h@example.org\r\n")


def test_qr_files_of_hostile_customer_numbers_get_safe_names(app, campaign, runner, tmp_path):
    source = write(tmp_path / "in.csv", HOSTILE)
    out = tmp_path / "out.csv"
    result = runner.invoke(args=["purl", "generate", "herbst", str(source), "--out", str(out),
                                 "--qr-dir", str(tmp_path / "qr"), "--qr-zip"])
    assert result.exit_code == 0, result.output
    _, rows = read(out)
    names = [r["qr_file"] for r in rows]
    no_number = rows[3]["purl_code"]  # an empty customer number: the code as printed
    assert names == ["x.svg", "CON_.svg", "a_b.svg", f"{no_number}.svg", "a_b-2.svg",
                     "Mueller_Weiss.svg", "con_-2.svg", "srv_share_LPT1.svg"]
    with zipfile.ZipFile(tmp_path / "qr.zip") as archive:
        assert archive.namelist() == names
    assert not (tmp_path / "x.svg").exists()  # nothing written beside the folder


@pytest.mark.parametrize(("value", "code", "name"), [
    ("../x", "7KQ2-M9XD-4RTB-F", "x.png"), ("CON", "", "CON_.png"), ("nul", "", "nul_.png"),
    ("COM1", "", "COM1_.png"), ("a/b", "", "a_b.png"), ("a\\b\x00c\n", "", "a_b_c.png"),
    ("", "7KQ2-M9XD-4RTB-F", "7KQ2-M9XD-4RTB-F.png"), (None, "", "qr.png"),
    ("...", "7KQ2-M9XD-4RTB-F", "7KQ2-M9XD-4RTB-F.png"), ("Ärger-Ölmann", "", "Aerger-Oelmann.png"),
    ("Zoë Straße", "", "Zoe_Strasse.png"), ("客户", "ABCD-EFGH-JKLM-N", "ABCD-EFGH-JKLM-N.png"),
    ("x" * 300, "", "x" * 80 + ".png"),
])
def test_qr_file_names_are_safe_everywhere(value, code, name):
    assert qr.file_name(value, code, "png") == name


def test_qr_file_names_collide_without_regard_to_case(tmp_path):
    writer = qr.QrWriter(tmp_path / "qr", "svg", processes=1)
    assert [writer.name(v, "C") for v in ("12345", "12345", "12345-2", "ABC", "abc")] == [
        "12345.svg", "12345-2.svg", "12345-2-2.svg", "ABC.svg", "abc-2.svg"]
    writer.close()


@pytest.mark.parametrize("base", ["http://localhost/p/", "https://www.example-shop.de/herbst/p/",
                                  "https://" + "a" * 150 + "/p/"])
def test_fast_qr_path_draws_exactly_what_the_library_draws(base):
    import qrcode
    from qrcode.util import MODE_8BIT_BYTE, QRData

    urls = [base + tokens.sign(codes.new_code(), TEST_KEYS) for _ in range(20)]
    version, mask = qr.choose(urls[0])
    for url in urls:
        # The library's own (slow) rendering with the same version and mask.
        reference = qrcode.QRCode(version=version, border=0, mask_pattern=mask,
                                  error_correction=qrcode.constants.ERROR_CORRECT_M)
        reference.add_data(QRData(url.encode(), mode=MODE_8BIT_BYTE))
        reference.make(fit=False)
        assert qr.modules(url, version, mask) == [[bool(m) for m in row]
                                                  for row in reference.modules]
    # For the link they were chosen for, version and mask are the library's own choice.
    assert qr.modules(urls[0], version, mask) == qr.modules(urls[0])


def test_qr_code_served_on_demand(app, client, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "in.csv", GERMAN), tmp_path / "out.csv")
    _, rows = read(tmp_path / "out.csv")
    path = rows[0]["purl_url"].replace("http://localhost", "")
    image = client.get(path + "/qr.svg")
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
    assert image.get_data() == qr.image(rows[0]["purl_url"])
    assert client.get(path + "/qr.png").get_data().startswith(b"\x89PNG")
    assert client.get(path[:-1] + "x/qr.svg").status_code in (404,)
    assert client.get(path + "/qr.gif").status_code == 404


def test_tab_separated_utf8_with_excel_flag_and_content_identity(app, campaign, tmp_path):
    # No id, no email: two Anna Müllers at different addresses are two people, the same one
    # twice is a duplicate.
    source = write(tmp_path / "in.tsv", "Vorname\tNachname\tStraße\n"
                   "Anna\tMüller\tHauptstr. 1\nAnna\tMüller\tBahnhofstr. 2\n"
                   "Anna\tMüller\tHauptstr. 1\n")
    result = run(app, campaign, source, tmp_path / "out.csv", excel=True)
    assert (result.delimiter, result.encoding) == ("\t", "utf-8")
    assert result.summary() == "minted 2, reused 0, rejected 1"
    assert (tmp_path / "out.csv").read_bytes().startswith(b"\xef\xbb\xbfVorname\t")
    assert "doppelt, wie Zeile 2: gleicher Name, gleiche Angaben" in (
        tmp_path / "out.errors.csv").read_text("utf-8-sig")
    assert [p.attributes for p in recipients(app)] == [{"Straße": "Hauptstr. 1"},
                                                       {"Straße": "Bahnhofstr. 2"}]
    assert run(app, campaign, source, tmp_path / "again.csv").summary() == \
        "minted 0, reused 2 (updated 0), rejected 1"


def test_a_run_that_fails_half_way_keeps_its_chunks_and_says_so(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", "Email\n" + "".join(f"p{i}@example.de\n" for i in range(9)))

    def stop_after_first_chunk(done: int, total: int) -> None:
        if done >= 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(app, campaign, source, tmp_path / "out.csv", chunk_size=3, commit_rows=3,
            progress=stop_after_first_chunk)
    assert not (tmp_path / "out.csv").exists()
    with app.app_context():
        failed = db.session.scalar(select(Batch))
        assert (failed.status, failed.error) == ("failed", "KeyboardInterrupt: ")
    kept = len(recipients(app))
    assert 0 < kept < 9
    assert run(app, campaign, source, tmp_path / "out.csv").summary() == \
        f"minted {9 - kept}, reused {kept} (updated 0), rejected 0"


# --- blocks on every core -------------------------------------------------------------------

# Real exports hold quoted line breaks (addresses), doubled quotes, inch marks in unquoted
# cells, and CRLF line ends; a block must never end inside a record.
NASTY_ROWS = [
    'K{i};"Anna {i}";Schäfer;a{i}@example.de;"Hauptstr. {i}\r\n10115 Berlin"',
    'K{i};Ben;"Braun ""der Jüngere""";b{i}@example.de;27" Monitor',
    'K{i};Kim;Weiß;k{i}@example.de;"zwei\nZeilen ""und"" mehr"',
    'K{i};Zoë;Ölmann;z{i}@example.de;=SUMME(A1)',
    'K{i};;;kaputt{i}@;ohne Namen',
]


def nasty_export(rows: int) -> str:
    lines = ["Kundennummer;Vorname;Nachname;E-Mail;Notiz"]
    lines += [NASTY_ROWS[i % len(NASTY_ROWS)].format(i=i) for i in range(rows)]
    return "\r\n".join(lines) + "\r\n"


def test_record_blocks_end_only_between_records():
    from purl.spreadsheet.reading import record_blocks

    data = nasty_export(200).encode()
    body = io.BytesIO(data[data.index(b"\n") + 1:])
    blocks = list(record_blocks(body, ";", 97, 2))
    assert len(blocks) > 20
    assert b"".join(b for b, _ in blocks) == data[data.index(b"\n") + 1:]
    whole = list(csv.reader(io.StringIO(data.decode(), newline=""), delimiter=";"))[1:]
    pieces = [r for b, _ in blocks
              for r in csv.reader(io.StringIO(b.decode(), newline=""), delimiter=";")]
    assert pieces == whole
    # Each block knows the input line it starts on.
    for block, line in blocks:
        first = next(csv.reader(io.StringIO(block.decode(), newline=""), delimiter=";"))
        text = data.decode().replace("\r\n", "\n")
        assert text.split("\n")[line - 1].startswith(first[0] + ";")


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", "mixed"])
def test_record_blocks_without_quotes_cut_at_every_kind_of_line_end(ending):
    """Blocks with no quote in them take the short way (the last line break): at every
    block size, reading the blocks gives what reading the whole file gives."""
    from purl.spreadsheet.reading import record_blocks

    endings = ["\n", "\r\n", "\r"] if ending == "mixed" else [ending]
    body = "".join(f"K{i};Anna;;x{i}@example.de{endings[i % len(endings)]}"
                   for i in range(60)).encode()
    whole = list(csv.reader(io.StringIO(body.decode(), newline=""), delimiter=";"))
    for size in (1, 2, 3, 7, 13, 64):
        blocks = list(record_blocks(io.BytesIO(body), ";", size, 2))
        assert b"".join(b for b, _ in blocks) == body
        pieces = [r for b, _ in blocks
                  for r in csv.reader(io.StringIO(b.decode(), newline=""), delimiter=";")]
        assert pieces == whole, size
        # Each block starts on the line a text editor shows for its first record.
        for block, line in blocks:
            assert block.startswith(f"K{line - 2};".encode())


def test_every_core_gives_what_one_core_gives(app, campaign, tmp_path):
    source = write(tmp_path / "in.csv", nasty_export(300))
    with app.app_context():
        other = Campaign(slug="winter", name="Winter", quiz_slug="zoohandlung", locale="de",
                         tone="du", variants=[])
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    alone = run(app, other_id, source, tmp_path / "one.csv", workers=0)
    shared = run(app, campaign, source, tmp_path / "many.csv", workers=2, chunk_size=7)
    assert alone.summary() == shared.summary() == "minted 240, reused 0, rejected 60"
    header, one = read(tmp_path / "one.csv")
    _, many = read(tmp_path / "many.csv")
    strip = [c for c in header if c not in ("purl_url", "purl_code")]
    assert [[r[c] for c in strip] for r in one] == [[r[c] for c in strip] for r in many]
    assert many[0]["Notiz"] == "Hauptstr. 0\r\n10115 Berlin"
    assert many[3]["Notiz"] == "'=SUMME(A1)"
    assert (tmp_path / "one.errors.csv").read_bytes() == (tmp_path / "many.errors.csv").read_bytes()
    _, errors = read(tmp_path / "many.errors.csv")
    # Rows count as a spreadsheet shows them; the text line (counting the line breaks inside
    # quoted cells, as an editor shows them) follows when it differs.
    assert errors[0]["line"] == "6 (Textzeile 8)" and "kaputt4@" in errors[0]["reason"]


def test_a_person_twice_in_different_blocks_keeps_the_first_link(app, campaign, tmp_path):
    lines = [f"K{i};p{i}@example.de" for i in range(40)] + ["K3;again@example.de"]
    source = write(tmp_path / "in.csv", "Kundennummer;E-Mail\n" + "\n".join(lines) + "\n")
    result = run(app, campaign, source, tmp_path / "out.csv", workers=2, chunk_size=5)
    assert result.summary() == "minted 40, reused 0, rejected 1"
    _, errors = read(tmp_path / "out.errors.csv")
    assert [(e["line"], e["reason"], e["E-Mail"]) for e in errors] == [
        ("42", "doppelt, wie eine frühere Zeile: gleiche Kundennummer 'K3'",
         "again@example.de")]
    _, rows = read(tmp_path / "out.csv")
    assert rows[3]["E-Mail"] == "p3@example.de" and len(rows) == 40
    # Run again: everyone is known now, and the repeat is still a repeat, not a second reuse.
    again = run(app, campaign, source, tmp_path / "again.csv", workers=2, chunk_size=5)
    assert again.summary() == "minted 0, reused 40 (updated 0), rejected 1"
    _, second = read(tmp_path / "again.csv")
    assert [r["purl_url"] for r in second] == [r["purl_url"] for r in rows]
    assert [r["purl_code"] for r in second] == [r["purl_code"] for r in rows]
    dry = run(app, campaign, source, tmp_path / "dry.csv", workers=2, chunk_size=5,
              dry_run=True)
    assert dry.summary() == "dry run: would have minted 0, reused 40 (updated 0), rejected 1"


def test_old_mac_line_ends_read_with_their_line_numbers(app, campaign, tmp_path):
    rows = [f"p{i}@example.de" for i in range(12)] + ["kaputt@", "p0@example.de"]
    source = write(tmp_path / "in.csv", "Email\r" + "\r".join(rows) + "\r")
    result = run(app, campaign, source, tmp_path / "out.csv", workers=2, chunk_size=3)
    assert result.summary() == "minted 12, reused 0, rejected 2"
    _, errors = read(tmp_path / "out.errors.csv")
    assert [e["line"] for e in errors] == ["14", "15"]


def test_reasons_are_in_the_campaigns_language(app, campaign, tmp_path):
    with app.app_context():
        db.session.get(Campaign, campaign).locale = "en"
        db.session.commit()
    source = write(tmp_path / "in.csv", GERMAN)
    run(app, campaign, source, tmp_path / "out.csv")
    _, errors = read(tmp_path / "out.errors.csv")
    assert [e["reason"] for e in errors] == [
        "E-Mail 'kim@example' is not a valid email address",
        "duplicate of row 2: same customer id '10001'",
    ]


def test_a_re_run_on_postgresql_plans_its_lookups_from_fresh_statistics(
    app, campaign, tmp_path, caplog
):
    """Right after a big first run the table's statistics still say the campaign is empty,
    and PostgreSQL then planned each block's lookup of known people as a scan of the whole
    campaign (a minute per block at a million rows). A re-run refreshes them first."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL plans from statistics; SQLite needs none here")
    lines = [f"K{i};p{i}@example.de" for i in range(3000)]
    source = write(tmp_path / "in.csv", "Kundennummer;E-Mail\n" + "\n".join(lines) + "\n")
    first = run(app, campaign, source, tmp_path / "a.csv")
    assert first.summary() == "minted 3000, reused 0, rejected 0"
    with app.app_context():
        db.engine.dispose()  # a backend reports its counts when it ends
        before = db.session.scalar(text("SELECT now()"))
        db.session.rollback()
    caplog.set_level(logging.INFO, logger="purl.links.batch")
    again = run(app, campaign, source, tmp_path / "b.csv")
    assert again.summary() == "minted 0, reused 3000 (updated 0), rejected 0"
    assert "refreshing the recipient table's statistics" in caplog.text
    with app.app_context():
        analyzed = db.session.scalar(text(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'recipient'"))
    assert analyzed is not None and analyzed >= before
