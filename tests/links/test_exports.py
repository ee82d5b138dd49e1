"""Lists as the tools marketers use export them (tests/fixtures/recipients): every record is
linked or reported with the row Excel shows, no mojibake is stored, no IP or location column
is kept, and a title in the salutation column stays in the greeting."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from purl.extensions import db
from purl.links import batch
from purl.models import Campaign, Recipient
from tests.conftest import TEST_KEYS

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "recipients"
# What each file holds: its encoding, the people who get a link (as stored: first name, last
# name, title), and each refused row (as Excel numbers it) with the start of its reason.
EXPECTED = {
    "mailchimp-audience.csv": ("utf-8", [
        ("Jörg", "Weiß", None), ("Ayşe", "Şahin", None),
        ('=HYPERLINK("http://evil.example","Klick")', "Formel", None),
        ("Zoë", "Müller-Lüdenscheidt", None)], {
        "4 (Textzeile 5)": "Email Address 'kaputt-at-example.de' ist keine gültige "
                           "E-Mail-Adresse",
        "7 (Textzeile 8)": "doppelt, wie Zeile 2: gleiche E-Mail-Adresse "
                           "'joerg.weiss@example.de'"}),
    "hubspot-contacts.csv": ("utf-8-sig", [
        ("Klaus", "Bäcker", None), ("Sabine", "Groß", "Dr."), (None, None, None),
        ("Émile", "Lefèvre", None)], {}),
    "excel-de-cp1252.csv": ("cp1252", [
        ("Jürgen", "Schäfer", None), ("Renate", "Öztürk-Weiß", "Prof. Dr."),
        ("Peter", "Groß", "Dr."), (None, None, None)], {
        "6 (Textzeile 7)": "E-Mail 'kim@example' ist keine gültige E-Mail-Adresse"}),
    "excel-de-utf8-bom.csv": ("utf-8-sig", [
        ("Jürgen", "Schäfer", None), ("Renate", "Öztürk-Weiß", "Prof. Dr."),
        ("Peter", "Groß", "Dr."), (None, None, None)], {
        "6 (Textzeile 7)": "E-Mail 'kim@example' ist keine gültige E-Mail-Adresse"}),
}
PRIVATE = {"OPTIN_IP", "CONFIRM_IP", "LATITUDE", "LONGITUDE", "CC", "REGION", "TIMEZONE",
           "GMTOFF", "DSTOFF", "IP City", "IP Country", "IP State/Region"}


def errors_of(out: Path) -> dict[str, str]:
    text = out.with_name(out.stem + ".errors.csv").read_bytes().decode("utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
    return {r[0]: r[1] for r in list(csv.reader(io.StringIO(text, newline=""),
                                                delimiter=delimiter))[1:]}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_export_is_linked_or_reported_row_by_row(app, campaign, tmp_path, name):
    encoding, people, refused = EXPECTED[name]
    out = tmp_path / "out.csv"
    with app.app_context():
        result = batch.generate(db.session, db.session.get(Campaign, campaign), EXPORTS / name,
                                out, keys=TEST_KEYS, base_url="https://shop.example")
        stored = db.session.scalars(select(Recipient).order_by(Recipient.id)).all()
        assert [(p.first_name, p.last_name, p.title) for p in stored] == people
        for person in stored:
            assert not PRIVATE & set(person.attributes), person.attributes
            text = json.dumps([person.first_name, person.last_name, person.attributes],
                              ensure_ascii=False)
            assert not any(sign in text for sign in ("Ã", "Â", "\ufffd", "\x00")), text
    assert result.encoding == encoding
    assert result.minted + result.reused + result.rejected == result.total_rows
    assert (result.minted, result.rejected) == (len(people), len(refused))
    errors = errors_of(out)
    assert errors.keys() == refused.keys()
    for row, reason in refused.items():
        assert errors[row].startswith(reason), (row, errors[row])
    manifest = json.loads(out.with_name("out.manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["accounted"] is True


def test_a_title_from_the_salutation_column_is_in_the_greeting(app, tmp_path):
    out = tmp_path / "out.csv"
    with app.app_context():
        formal = Campaign(slug="formell", name="Formell", quiz_slug="zoohandlung", locale="de",
                          tone="sie", variants=[])
        db.session.add(formal)
        db.session.commit()
        batch.generate(db.session, formal, EXPORTS / "hubspot-contacts.csv", out,
                       keys=TEST_KEYS, base_url="https://shop.example")
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [r["salutation_line"] for r in rows][:2] == [
        "Sehr geehrter Herr Bäcker,", "Sehr geehrte Frau Dr. Groß,"]
