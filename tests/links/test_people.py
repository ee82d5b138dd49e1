"""The people on a list: a corrected re-run updates them, titles in the salutation column,
names worth a warning, and IP and geolocation columns left out unless asked for."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from purl.extensions import db
from purl.links import batch
from purl.links.batch.store import Store
from purl.models import Batch, Campaign, Recipient
from tests.conftest import TEST_KEYS

FIRST = (
    "Kundennummer;Anrede;Vorname;Nachname;E-Mail;Haustier;Farbe\r\n"
    "10001;Frau;Ayşe;?ahin;ayse@example.de;Katze;rot\r\n"
    "10002;Herr;Jürgen;Müller;juergen@example.de;Hund;\r\n"
    "10003;Frau;Anna;Schäfer;anna@example.de;;blau\r\n"
)
# The same people, corrected: a name, a salutation and an email address, a pet.
CORRECTED = (
    "Kundennummer;Anrede;Vorname;Nachname;E-Mail;Haustier;Farbe\r\n"
    "10001;Frau;Ayşe;Şahin;ayse@example.de;Katze;rot\r\n"
    "10002;Herr;Jürgen;Müller;j.mueller@example.de;Hund;\r\n"
    "10003;Divers;Anna;Schäfer;anna@example.de;Vogel;blau\r\n"
)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def read(path: Path) -> list[dict[str, str]]:
    text = path.read_bytes().decode("utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


@pytest.fixture
def campaign(app):  # noqa: ANN001, ANN201
    with app.app_context():
        c = Campaign(slug="winter", name="Winter", quiz_slug="zoohandlung", locale="de",
                     tone="sie", variants=[])
        db.session.add(c)
        db.session.commit()
        return c.id


def run(app, campaign_id, source, out, **options):  # noqa: ANN001, ANN201
    with app.app_context():
        c = db.session.get(Campaign, campaign_id)
        return batch.generate(db.session, c, source, out, keys=TEST_KEYS,
                              base_url="http://localhost", options=batch.Options(**options))


def people(app) -> dict[str, Recipient]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
        db.session.expunge_all()
        return {r.external_id: r for r in rows}


# --- a corrected re-run ---------------------------------------------------------------------


def test_a_corrected_rerun_updates_the_people_and_keeps_their_links(
        app, client, campaign, tmp_path):
    first = run(app, campaign, write(tmp_path / "v1.csv", FIRST), tmp_path / "v1-out.csv")
    assert first.summary() == "minted 3, reused 0, rejected 0"
    before = people(app)
    token = read(tmp_path / "v1-out.csv")[0]["purl_url"].rsplit("/", 1)[1]
    assert "Sehr geehrte Frau ?ahin," in client.get(f"/p/{token}").get_data(as_text=True)

    again = run(app, campaign, write(tmp_path / "v2.csv", CORRECTED), tmp_path / "v2-out.csv")
    assert again.summary() == "minted 0, reused 3 (updated 3), rejected 0"
    after = people(app)
    assert {k: (r.id, r.code) for k, r in after.items()} == {
        k: (r.id, r.code) for k, r in before.items()}
    assert after["10001"].last_name == "Şahin"
    assert after["10002"].email == "j.mueller@example.de"
    assert after["10003"].gender == "d"
    assert after["10003"].attributes == {"Haustier": "Vogel", "Farbe": "blau"}
    # The same link, now greeting the corrected name, and the new file says the same.
    out = read(tmp_path / "v2-out.csv")
    assert out[0]["purl_url"].rsplit("/", 1)[1] == token
    assert out[0]["salutation_line"] == "Sehr geehrte Frau Şahin,"
    page = client.get(f"/p/{token}").get_data(as_text=True)
    assert "Sehr geehrte Frau Şahin," in page and "?ahin" not in page

    manifest = json.loads(again.manifest_path.read_text(encoding="utf-8"))
    assert manifest["counts"] == {"rows": 3, "minted": 0, "reused": 3, "updated": 3,
                                  "rejected": 0, "accounted": True,
                                  "rule": "minted + reused + rejected = rows"}
    with app.app_context():
        assert db.session.get(Batch, again.batch_id).updated == 3
        assert db.session.get(Batch, first.batch_id).updated == 0


def test_only_rows_that_changed_are_updated(app, campaign, tmp_path):
    source = write(tmp_path / "v1.csv", FIRST)
    run(app, campaign, source, tmp_path / "out.csv")
    same = run(app, campaign, source, tmp_path / "again.csv")
    assert same.summary() == "minted 0, reused 3 (updated 0), rejected 0"
    one = FIRST.replace("?ahin", "Şahin")
    assert run(app, campaign, write(tmp_path / "v2.csv", one),
               tmp_path / "v2-out.csv").summary() == "minted 0, reused 3 (updated 1), rejected 0"


def test_a_list_without_a_column_keeps_what_is_stored_for_it(app, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "v1.csv", FIRST.replace(";Farbe", ";Titel")
                             .replace(";rot", ";Dr.")), tmp_path / "out.csv")
    # No salutation, title or "Farbe" column this time; "Haustier" emptied for one.
    narrow = ("Kundennummer;Vorname;Nachname;Haustier\r\n"
              "10001;Ayşe;Şahin;\r\n"
              "10002;Jürgen;Müller;Hund\r\n")
    result = run(app, campaign, write(tmp_path / "v2.csv", narrow), tmp_path / "v2-out.csv")
    assert result.summary() == "minted 0, reused 2 (updated 1), rejected 0"
    ayse = people(app)["10001"]
    assert (ayse.last_name, ayse.gender, ayse.title, ayse.email) == (
        "Şahin", "f", "Dr.", "ayse@example.de")
    assert ayse.attributes == {}  # "Haustier" was a column of both lists, and is empty now


def test_attributes_of_columns_the_list_does_not_have_stay(app, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "v1.csv", FIRST), tmp_path / "out.csv")
    other = "Kundennummer;Nachname;Größe\r\n10001;?ahin;M\r\n"
    result = run(app, campaign, write(tmp_path / "v2.csv", other), tmp_path / "v2-out.csv")
    assert result.summary() == "minted 0, reused 1 (updated 1), rejected 0"
    assert people(app)["10001"].attributes == {"Haustier": "Katze", "Farbe": "rot", "Größe": "M"}
    # Nothing new the second time: the merged attributes compare equal.
    assert run(app, campaign, tmp_path / "v2.csv", tmp_path / "v3-out.csv").updated == 0


def test_a_dry_run_says_who_would_be_updated(app, campaign, runner, tmp_path):
    run(app, campaign, write(tmp_path / "v1.csv", FIRST), tmp_path / "out.csv")
    corrected = write(tmp_path / "v2.csv", CORRECTED)
    result = runner.invoke(args=["purl", "generate", "winter", str(corrected),
                                 "--out", str(tmp_path / "dry.csv"), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run: would have minted 0, reused 3 (updated 3), rejected 0" in result.output
    assert people(app)["10001"].last_name == "?ahin"
    result = runner.invoke(args=["purl", "generate", "winter", str(corrected),
                                 "--out", str(tmp_path / "v2-out.csv")])
    assert result.output.strip().endswith("minted 0, reused 3 (updated 3), rejected 0")


@pytest.mark.parametrize("workers", [0, 2])
def test_corrections_are_written_block_by_block(app, campaign, tmp_path, workers,
                                                monkeypatch):
    header = "Kundennummer;Vorname;Nachname;Anrede;Segment\r\n"
    rows = [f"K{i:04d};Vor{i};Nach{i};{'Frau' if i % 2 else 'Herr'};S{i % 3}\r\n"
            for i in range(300)]
    run(app, campaign, write(tmp_path / "v1.csv", header + "".join(rows)), tmp_path / "o.csv",
        chunk_size=17, workers=workers)
    changed = [r.replace(";Nach", ";Neu") if i % 3 == 0 else r for i, r in enumerate(rows)]
    writes: list[int] = []
    update = Store.update

    def counted(self, changes):  # noqa: ANN001, ANN202 - the real update, counted
        writes.append(len(changes))
        return update(self, changes)

    monkeypatch.setattr(Store, "update", counted)
    result = run(app, campaign, write(tmp_path / "v2.csv", header + "".join(changed)),
                 tmp_path / "o2.csv", chunk_size=17, workers=workers)
    assert result.summary() == "minted 0, reused 300 (updated 100), rejected 0"
    # One statement per block that has corrections, holding only the rows that changed.
    assert len(writes) < 25 and sum(writes) == 100 and 0 not in writes  # ~18 blocks
    found = people(app)
    assert found["K0003"].last_name == "Neu3" and found["K0004"].last_name == "Nach4"
    assert found["K0003"].attributes == {"Segment": "S0"}


# --- titles inside the salutation column ----------------------------------------------------

TITLED = (
    "Anrede;Titel;Vorname;Nachname;E-Mail\r\n"
    "Frau Dr.;;Ayşe;Şahin;a@example.de\r\n"
    "Herr Prof. Dr.;;Jan;Keller;j@example.de\r\n"
    "Dr.;;Kim;Weiß;k@example.de\r\n"
    "Mr;;Tom;Brown;t@example.de\r\n"
    "Mrs;;Ann;Smith;s@example.de\r\n"
    "Ms;;Eve;Stone;e@example.de\r\n"
    "Dr;;Max;Ernst;m@example.de\r\n"
    "Herr;Dr.;Ole;Berg;o@example.de\r\n"
    "Herrn Dr. med.;;Uwe;Lang;u@example.de\r\n"
    "Herr und Frau;;Eva;Roth;r@example.de\r\n"
)


@pytest.mark.parametrize(("locale", "tone", "expected"), [
    ("de", "sie", ["Sehr geehrte Frau Dr. Şahin,", "Sehr geehrter Herr Prof. Dr. Keller,",
                   "Guten Tag Dr. Kim Weiß,", "Sehr geehrter Herr Brown,",
                   "Sehr geehrte Frau Smith,", "Sehr geehrte Frau Stone,",
                   "Guten Tag Dr Max Ernst,", "Sehr geehrter Herr Dr. Berg,",
                   "Sehr geehrter Herr Dr. med. Lang,", "Sehr geehrter Herr Roth,"]),
    ("de", "du", ["Liebe Ayşe,", "Lieber Jan,", "Hallo Kim,", "Lieber Tom,", "Liebe Ann,",
                  "Liebe Eve,", "Hallo Max,", "Lieber Ole,", "Lieber Uwe,", "Lieber Eva,"]),
    ("en", "sie", ["Dear Ms Dr. Şahin,", "Dear Mr Prof. Dr. Keller,", "Dear Kim,",
                   "Dear Mr Brown,", "Dear Ms Smith,", "Dear Ms Stone,", "Dear Max,",
                   "Dear Mr Dr. Berg,", "Dear Mr Dr. med. Lang,", "Dear Mr Roth,"]),
])
def test_titles_in_the_salutation_column_are_kept(app, tmp_path, locale, tone, expected):
    with app.app_context():
        c = Campaign(slug="titel", name="Titel", quiz_slug="zoohandlung", locale=locale,
                     tone=tone, variants=[])
        db.session.add(c)
        db.session.commit()
        campaign_id = c.id
    result = run(app, campaign_id, write(tmp_path / "in.csv", TITLED), tmp_path / "out.csv")
    assert result.summary() == "minted 10, reused 0, rejected 0"
    assert [r["salutation_line"] for r in read(tmp_path / "out.csv")] == expected
    with app.app_context():
        stored = db.session.execute(select(Recipient.gender, Recipient.title)
                                    .order_by(Recipient.id)).all()
    assert [tuple(r) for r in stored[:4]] == [("f", "Dr."), ("m", "Prof. Dr."), (None, "Dr."),
                                              ("m", None)]


def test_the_landing_page_greets_with_the_title(app, client, campaign, tmp_path):
    run(app, campaign, write(tmp_path / "in.csv", TITLED), tmp_path / "out.csv")
    token = read(tmp_path / "out.csv")[1]["purl_url"].rsplit("/", 1)[1]
    assert "Sehr geehrter Herr Prof. Dr. Keller," in client.get(f"/p/{token}").get_data(
        as_text=True)


# --- names worth a warning ------------------------------------------------------------------

ODD = (
    "Kundennummer;Vorname;Nachname\r\n"
    "1;Anna;Schäfer\r\n"
    "2;+491701234567;Braun\r\n"
    '3;"=HYPERLINK(""http://x"")";Weiß\r\n'
    "4;Kim;<script>alert(1)</script>\r\n"
    "5;@kim;-Lang\r\n"
    "6;Jean-Luc;O'Neil\r\n"
)


def test_suspicious_names_are_minted_and_listed_with_their_rows(app, campaign, runner,
                                                                 tmp_path):
    source = write(tmp_path / "odd.csv", ODD)
    result = runner.invoke(args=["purl", "generate", "winter", str(source),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("minted 6, reused 0, rejected 0, warnings 5")
    assert "warning: row 3, Vorname '+491701234567': nur Ziffern, kein Name" in result.output
    assert "warning: row 5, Nachname '<script>alert(1)</script>': enthält HTML-Code wie " \
           "<script>" in result.output
    manifest = json.loads((tmp_path / "out.manifest.json").read_text(encoding="utf-8"))
    assert manifest["warnings"]["count"] == 5
    assert [(w["row"], w["column"], w["value"]) for w in manifest["warnings"]["rows"]] == [
        # Row labels as the rejected rows have them: as the spreadsheet shows the row.
        ("3", "Vorname", "+491701234567"), ("4", "Vorname", '=HYPERLINK("http://x")'),
        ("5", "Nachname", "<script>alert(1)</script>"), ("6", "Vorname", "@kim"),
        ("6", "Nachname", "-Lang")]
    assert manifest["warnings"]["rows"][1]["reason"] == \
        "beginnt mit = wie eine Tabellenformel"
    with app.app_context():
        done = db.session.scalar(select(Batch))
        assert done.warnings == manifest["warnings"]
        assert db.session.scalar(select(Recipient.first_name).where(
            Recipient.external_id == "2")) == "+491701234567"


def test_warnings_are_counted_all_and_listed_up_to_200(app, campaign, tmp_path):
    rows = "".join(f"{i};=SUMME({i});Name\r\n" for i in range(450))
    source = write(tmp_path / "many.csv", "Kundennummer;Vorname;Nachname\r\n" + rows)
    result = run(app, campaign, source, tmp_path / "out.csv", chunk_size=64, workers=2)
    assert (result.warned, len(result.warnings)) == (450, 200)
    assert [w["row"] for w in result.warnings] == [str(row) for row in range(2, 202)]
    dry = run(app, campaign, source, tmp_path / "dry.csv", dry_run=True)
    assert dry.summary() == "dry run: would have minted 0, reused 450 (updated 0), " \
                            "rejected 0, warnings 450"


# --- IP addresses and geolocation left out --------------------------------------------------

MAILCHIMP = (
    '"Email Address","First Name","Last Name",Address,"Phone Number",MEMBER_RATING,OPTIN_TIME,'
    "OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,"
    "LAST_CHANGED,LEID,EUID,NOTES,TAGS\n"
    'anna@example.de,Anna,Schäfer,"Hauptstr. 1, Berlin",+49 30 1234,2,2026-01-02 10:00:00,'
    "203.0.113.7,2026-01-02 10:05:00,203.0.113.8,52.52,13.40,1,2,Europe/Berlin,DE,BE,"
    '2026-02-01,123,abc,,"VIP"\n'
)
MAILCHIMP_PRIVATE = ["OPTIN_IP", "CONFIRM_IP", "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF",
                     "TIMEZONE", "CC", "REGION"]
HUBSPOT = (
    "Record ID,First Name,Last Name,Email,IP City,IP Country,IP State/Region,IP Country Code,"
    "IP Timezone,Create Date,Lifecycle Stage\n"
    "501,Ben,Braun,ben@example.de,Hamburg,Germany,Hamburg,de,Europe/Berlin,2026-01-05,lead\n"
)


def test_a_mailchimp_export_keeps_no_ip_or_geo_column_unless_mapped(app, campaign, runner,
                                                                     tmp_path):
    source = write(tmp_path / "mc.csv", MAILCHIMP)
    result = runner.invoke(args=["purl", "generate", "winter", str(source),
                                 "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    assert f"left out as IP or location data: {', '.join(MAILCHIMP_PRIVATE)}" in result.output
    with app.app_context():
        stored = db.session.scalar(select(Recipient.attributes))
    assert set(stored) == {"Address", "Phone Number", "MEMBER_RATING", "OPTIN_TIME",
                           "CONFIRM_TIME", "LAST_CHANGED", "LEID", "EUID", "TAGS"}
    manifest = json.loads((tmp_path / "out.manifest.json").read_text(encoding="utf-8"))
    assert manifest["ignored"] == MAILCHIMP_PRIVATE
    assert not set(MAILCHIMP_PRIVATE) & set(manifest["attributes"])
    # The list itself goes out as it came in: only what we store is left out.
    assert read(tmp_path / "out.csv")[0]["OPTIN_IP"] == "203.0.113.7"

    # The preview says so, and its mapping (the console form's defaults) leaves them out.
    seen = batch.preview(source)
    assert seen.ignored == MAILCHIMP_PRIVATE
    assert {c for c, target in seen.mapping.items() if target == "ignore"} == set(
        MAILCHIMP_PRIVATE)

    # Mapped explicitly (as the console's form sends every column), they are kept.
    kept = run(app, campaign, source, tmp_path / "kept.csv",
               mapping={"OPTIN_IP": "attribute", "region": "attribute", "CC": "ignore"})
    assert kept.ignored == ["CONFIRM_IP", "LATITUDE", "LONGITUDE", "GMTOFF", "DSTOFF",
                            "TIMEZONE"]
    with app.app_context():
        stored = db.session.scalar(select(Recipient.attributes))
    assert (stored["OPTIN_IP"], stored["REGION"]) == ("203.0.113.7", "BE")
    assert "CC" not in stored and "LATITUDE" not in stored
    # Left out again the next time, what was kept of them goes.
    again = run(app, campaign, source, tmp_path / "again.csv")
    assert again.summary() == "minted 0, reused 1 (updated 1), rejected 0"
    with app.app_context():
        stored = db.session.scalar(select(Recipient.attributes))
    assert not set(MAILCHIMP_PRIVATE) & set(stored) and stored["LEID"] == "123"


def test_hubspot_ip_columns_are_left_out_and_plain_ones_stay(app, campaign, tmp_path):
    result = run(app, campaign, write(tmp_path / "hs.csv", HUBSPOT), tmp_path / "out.csv")
    assert result.ignored == ["IP City", "IP Country", "IP State/Region", "IP Country Code",
                              "IP Timezone"]
    assert result.attributes == ["Create Date", "Lifecycle Stage"]
    # Outside a Mailchimp export, a "Region" or "Timezone" column is the marketer's own.
    plain = "Kundennummer;Nachname;Region;Timezone\r\n1;Braun;Nord;CET\r\n"
    other = run(app, campaign, write(tmp_path / "plain.csv", plain), tmp_path / "p.csv")
    assert (other.ignored, other.attributes) == ([], ["Region", "Timezone"])
