"""The console's check before minting (#13, a dry run): what minting would do, with nothing
minted or counted; and QR files named after the customer number (or the code), as SVG or PNG.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.links.batch import uploads
from purl.models import Batch, Recipient
from tests.conftest import HX, csrf_token
from tests.console.test_console_intake import (
    BASE,
    MAILCHIMP,
    MAILCHIMP_MAP,
    WINTER,
    _rejection_rows,
    _token,
    mint,
    upload,
)
from tests.links.test_batch import drawings, png_modules


def check(client, batch_url: str, mapping: dict, channel: str = "email",  # noqa: ANN001
          **extra: str):
    return client.post(batch_url + "/check",
                       data={**mapping, "channel": channel, "csrf_token": _token(client),
                             **extra})


def _counts(page: str) -> list[str]:
    block = re.search(r'<ul class="kpis batch-counts check-counts">(.*?)</ul>', page, re.S)
    assert block, "no counts on the check page"
    return re.findall(r'<span class="kpi-value">([^<]*)</span>', block.group(1))


def _mint_form(page: str) -> dict[str, str]:
    """The fields of the check page's “Links erzeugen” form, as a browser would send them."""
    form = re.search(r'<form method="post" action="[^"]*/batches/\d+" class="batch-form">'
                     r'(.*?)</form>', page, re.S)
    assert form and "Links erzeugen" in form.group(1)
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">',
                           form.group(1)))


def _people(app) -> int:  # noqa: ANN001
    with app.app_context():
        camp = db.session.scalar(WINTER)
        return db.session.scalar(select(func.count()).select_from(Recipient)
                                 .where(Recipient.campaign_id == camp.id))


def test_a_check_shows_what_minting_would_do_and_mints_nothing(console):
    app = console.application
    before = _people(app)
    campaign_page = console.get(BASE).get_data(as_text=True)
    url = upload(console, MAILCHIMP, "audience.csv")
    response = check(console, url, MAILCHIMP_MAP)
    assert response.status_code == 303 and response.location == url + "/check"

    page = console.get(url + "/check")
    assert "HX-Request" in page.headers["Vary"]
    text = page.get_data(as_text=True)
    assert "</html>" in text and "Liste prüfen" in text
    assert "Geprüft – es wurde noch nichts erzeugt." in text
    assert _counts(text) == ["3", "0", "2"]  # new, reused, rejected
    assert [line.split()[0] for line, _r in _rejection_rows(text)] == ["3", "6"]
    assert "Diese Zeilen bekämen keinen Link" in text and "kaputt-at-example" in text
    assert "Zeilen zum Prüfen" in text and "HYPERLINK" in text  # the warning, row 4
    # The fragment htmx swaps in: the same, without the page around it.
    fragment = console.get(url + "/check", headers=HX)
    assert "HX-Request" in fragment.headers["Vary"]
    body = fragment.get_data(as_text=True)
    assert "</html>" not in body and "{#" not in body
    assert 'id="batch-check"' in body and _counts(body) == ["3", "0", "2"]

    # Nothing minted, nothing counted: no person, the upload still waits for its minting, and
    # the campaign lists it as checked, with no figures.
    assert _people(app) == before
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        assert (batch.status, batch.minted, batch.reused, batch.rejected,
                batch.processed_rows) == ("uploaded", 0, 0, 0, 0)
        assert batch.output_file_id is None and batch.errors_file_id is None
    overview = console.get(BASE).get_data(as_text=True)
    assert "geprüft, noch keine Links" in overview and " neu, " not in overview
    for figure in re.findall(r'class="kpi-value">([^<]*)<', campaign_page):
        assert f'class="kpi-value">{figure}<' in overview

    # "Links erzeugen" mints with the mapping checked, and does what the check said.
    response = console.post(url, data=_mint_form(text))
    assert response.status_code == 303 and response.location == url
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        assert (batch.status, batch.minted, batch.reused, batch.rejected) == ("done", 3, 0, 2)
    assert _people(app) == before + 3
    # The check is over with the minting: its page leads to the results.
    gone = console.get(url + "/check")
    assert gone.status_code == 303 and gone.location == url


def test_a_check_of_a_known_list_says_who_is_reused_and_corrected(console):
    url = upload(console, MAILCHIMP, "audience.csv")
    mint(console, url, MAILCHIMP_MAP)
    again = upload(console, MAILCHIMP.replace("Şahin".encode(), b"Sahin-Korrigiert"),
                   "audience.csv")
    check(console, again, MAILCHIMP_MAP)
    page = console.get(again + "/check").get_data(as_text=True)
    assert _counts(page) == ["0", "3", "2"]
    assert "davon 1 mit korrigierten Angaben" in page
    with console.application.app_context():  # the correction is not made by the check
        assert db.session.scalar(select(func.count()).select_from(Recipient)
                                 .where(Recipient.last_name == "Sahin-Korrigiert")) == 0


def test_a_changed_mapping_is_checked_again_and_the_mapping_page_keeps_it(console):
    url = upload(console, MAILCHIMP, "audience.csv")
    check(console, url, MAILCHIMP_MAP)
    first = console.get(url + "/check").get_data(as_text=True)
    assert _counts(first) == ["3", "0", "2"]

    # "Zuordnung ändern": the mapping page shows the mapping checked; the email column
    # becomes an extra column, so names tell people apart and no address is checked.
    assert f'href="{url}">Zuordnung ändern</a>' in first
    mapping_page = console.get(url).get_data(as_text=True)
    assert "Letzte Prüfung ansehen" in mapping_page and ">Prüfen</button>" in mapping_page
    assert f'formaction="{url}/check"' in mapping_page
    changed = {**MAILCHIMP_MAP, "map-0": "attribute"}
    response = check(console, url, changed, channel="print", qr="1", qr_format="png")
    assert response.status_code == 303
    second = console.get(url + "/check").get_data(as_text=True)
    assert _counts(second) == ["5", "0", "0"]
    assert "nichts erzeugt" in second and "PNG" in second
    assert "Link-Adresse" in second  # a printed list under http://localhost: said in red
    assert _mint_form(second) == {**changed, "csrf_token": csrf_token(second),
                                  "channel": "print", "qr": "1", "qr_format": "png"}
    page = console.get(url).get_data(as_text=True)
    assert re.search(r'<select id="map-0" name="map-0">.*?<option value="attribute" selected>',
                     page, re.S)
    assert '<option value="png" selected>' in page and 'id="qr" name="qr" value="1" checked' in page


def test_a_mapping_that_cannot_work_is_refused_before_checking(console):
    url = upload(console, MAILCHIMP, "audience.csv")
    response = check(console, url, {**MAILCHIMP_MAP, "map-1": "email"})
    assert response.status_code == 422
    assert "sind demselben Feld zugeordnet" in response.get_data(as_text=True)
    bad_format = check(console, url, MAILCHIMP_MAP, qr="1", qr_format="gif")
    assert bad_format.status_code == 422
    assert "SVG oder PNG" in bad_format.get_data(as_text=True)
    with console.application.app_context():
        assert uploads.check_of(db.session.scalar(select(Batch))) is None


def test_a_list_that_cannot_be_used_says_why_on_the_check_page(console):
    url = upload(console, b"Email Address,First Name\r\n", "leer.csv")
    check(console, url, {"map-0": "email", "map-1": "first_name"})
    page = console.get(url + "/check").get_data(as_text=True)
    assert "So kann diese Liste nicht verwendet werden:" in page
    assert "Links erzeugen</button>" not in page and "Zuordnung ändern" in page


def test_a_running_check_shows_its_progress_and_polls(console):
    url = upload(console, MAILCHIMP, "audience.csv")
    app = console.application
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        token = uploads.queue_check(db.session, batch, {}, "email", False, "svg")
        db.session.commit()
        with db.engine.begin() as conn:
            assert uploads.change_check(conn, batch.id, token,
                                        {"status": "running", "done": 2, "total": 5})
    page = console.get(url + "/check").get_data(as_text=True)
    assert "Die Liste wird geprüft" in page and '<progress max="5" value="2">' in page
    assert f'hx-get="{url}/check" hx-trigger="every 1s"' in page
    assert "Links erzeugen</button>" not in page  # not before the check is done
    fragment = console.get(url + "/check", headers=HX).get_data(as_text=True)
    assert "</html>" not in fragment and "hx-trigger" in fragment

    # A newer check wins over the one before it: the old run's reports are dropped.
    with app.app_context():
        batch = db.session.get(Batch, batch.id)
        newer = uploads.queue_check(db.session, batch, {}, "email", False, "svg")
        db.session.commit()
        with db.engine.begin() as conn:
            assert not uploads.change_check(conn, batch.id, token, {"status": "done"})
        from purl import jobs
        assert jobs.run_check_here(batch.id, token) == "skipped"
        assert uploads.check_of(db.session.get(Batch, batch.id))["id"] == newer

    # Silent for too long (its worker was stopped): said, instead of polling forever.
    with app.app_context():
        batch = db.session.get(Batch, batch.id)
        batch.options = {**batch.options, "check": {**batch.options["check"],
                                                    "status": "running",
                                                    "at": "2020-01-01T00:00:00+00:00"}}
        db.session.commit()
    page = console.get(url + "/check").get_data(as_text=True)
    assert "stehen geblieben" in page and "hx-trigger" not in page


def test_minting_drops_the_check_and_a_late_check_changes_nothing(console):
    url = upload(console, MAILCHIMP, "audience.csv")
    app = console.application
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        batch_id = batch.id
        token = uploads.queue_check(db.session, batch, MAILCHIMP_MAP, "email", False, "svg")
        db.session.commit()
    mint(console, url, MAILCHIMP_MAP)
    with app.app_context():
        from purl import jobs
        assert jobs.run_check_here(batch_id, token) == "skipped"
        done = db.session.get(Batch, batch_id)
        assert done.status == "done" and "check" not in done.options
    again = check(console, url, MAILCHIMP_MAP)
    assert again.status_code == 303 and again.location == url


# --- QR files named after the customer number -----------------------------------------------

CUSTOMERS = (
    "Kundennummer;Vorname;Nachname;E-Mail\r\n"
    "../x;Anna;Groß;anna@example.org\r\n"
    "CON;Otto;Keller;otto@example.org\r\n"
    "a/b;Eva;Braun;eva@example.org\r\n"
    ";Jörg;Şahin;jorg@example.org\r\n"
    "K-1001;Zoë;Ölmann;zoe@example.org\r\n"
    "a_b;Kim;Weiß;kim@example.org\r\n"
).encode("utf-8-sig")
CUSTOMERS_MAP = {"map-0": "external_id", "map-1": "first_name", "map-2": "last_name",
                 "map-3": "email"}


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_qr_files_are_named_after_customer_numbers_made_safe(console, fmt):
    url = upload(console, CUSTOMERS)
    response = console.post(url, data={**CUSTOMERS_MAP, "channel": "print", "qr": "1",
                                       "qr_format": fmt, "csrf_token": _token(console)})
    assert response.status_code == 303
    text = console.get(url + "/links.csv").data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    names = [r["qr_file"] for r in rows]
    assert names == [f"{n}.{fmt}" for n in ("x", "CON_", "a_b", rows[3]["purl_code"],
                                            "K-1001", "a_b-2")]
    qr = console.get(url + "/qr.zip")
    assert qr.status_code == 200 and qr.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(qr.data)) as archive:
        assert archive.namelist() == names
        for row in rows:
            data = archive.read(row["qr_file"])
            if fmt == "png":
                assert png_modules(data) in drawings(row["purl_url"])
            else:
                assert data.startswith(b"<svg") and b"mm" in data
    # The Excel download names the same files.
    excel = console.get(url + "/links.csv?for=excel").data.decode("utf-8-sig")
    assert [r["QR-Datei"] for r in csv.DictReader(io.StringIO(excel), delimiter=";")] == names


def test_the_mapping_form_offers_svg_or_png(console):
    url = upload(console, CUSTOMERS)
    page = console.get(url).get_data(as_text=True)
    assert '<select id="qr_format" name="qr_format">' in page
    assert '<option value="svg" selected>SVG' in page and '<option value="png">PNG' in page
    assert "Kundennummer" in page
