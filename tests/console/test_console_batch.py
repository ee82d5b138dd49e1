"""Recipient lists in the console: upload, check the columns, mint, download, follow a link."""

from __future__ import annotations

import csv
import io
import zipfile

from sqlalchemy import select

from purl import files
from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from purl.extensions import db
from purl.models import Batch, Campaign, Recipient
from tests.conftest import EXCEL_ROWS, HX, csrf_token, excel_export, login


def upload(client, content: bytes, name: str = "kunden.csv"):  # noqa: ANN001, ANN201
    page = client.get("/console/campaigns/winter-2026").get_data(as_text=True)
    return client.post("/console/campaigns/winter-2026/batches", data={
        "csrf_token": csrf_token(page), "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data")


def test_upload_preview_mint_download_and_follow_a_link(console, tmp_path):
    response = upload(console, excel_export())
    assert response.status_code == 303
    batch_url = response.location
    assert batch_url.startswith("/console/campaigns/winter-2026/batches/")
    # Kept in the database, where a worker on any machine reads it; nothing on this disk.
    assert not (tmp_path / "uploads").exists()
    with console.application.app_context():
        found = db.session.scalar(select(Batch))
        with files.open_file(db.session, found.input_file_id) as stored:
            assert stored.read() == excel_export()

    page = console.get(batch_url).get_data(as_text=True)
    assert "Windows-1252 (Excel)" in page and "Semikolon" in page
    assert "Jürgen" in page and "Groß" in page  # the first rows, decoded
    # Detected: Kundennummer is the customer number; the unknown column stays an extra column.
    assert 'name="map-4"' in page
    choices = _selected(page)
    assert choices[:5] == ["first_name", "last_name", "gender", "email", "external_id"]
    assert choices[5] == "attribute"

    # The marketer corrects one mapping: the shop's own number, not the CRM's, identifies.
    form = {f"map-{i}": v for i, v in enumerate(choices)}
    form.update({"map-4": "attribute", "map-5": "external_id", "channel": "print", "qr": "1",
                 "csrf_token": csrf_token(page)})
    response = console.post(batch_url, data=form)
    assert response.status_code == 303 and response.location == batch_url
    again = console.post(batch_url, data=form)  # a double click mints nothing twice
    assert again.status_code == 303 and again.location == batch_url

    page = console.get(batch_url).get_data(as_text=True)
    assert "Fertig." in page and "<progress" in page
    app = console.application
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        assert (batch.status, batch.minted, batch.reused, batch.rejected) == ("done", 3, 0, 1)
        assert batch.channel == "print"
        ids = set(db.session.scalars(select(Recipient.external_id).where(
            Recipient.batch_id == batch.id)))
        assert ids == {"A1", "A2", "A3"}

    links = console.get(batch_url + "/links.csv")
    assert links.status_code == 200 and "attachment" in links.headers["Content-Disposition"]
    text = links.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Vorname"] for r in rows] == ["Jürgen", "Anna", "Zoë"]
    assert all(r["qr_file"] for r in rows)
    errors = console.get(batch_url + "/errors.csv").data.decode("utf-8-sig")
    assert "kaputt-at-example" in errors and "E-Mail" in errors
    archive = zipfile.ZipFile(io.BytesIO(console.get(batch_url + "/qr.zip").data))
    assert sorted(archive.namelist()) == sorted(r["qr_file"] for r in rows)

    shopper = app.test_client()
    for row in rows:
        path = row["purl_url"].removeprefix("http://localhost")
        landing = shopper.get(path)
        assert landing.status_code == 200, path
        assert row["Vorname"] in landing.get_data(as_text=True)
    assert "Jürgen" in rows[0]["salutation_line"]


def _selected(page: str) -> list[str]:
    import re

    found = []
    for select_html in re.findall(r'<select id="map-\d+".*?</select>', page, re.S):
        found.append(re.search(r'<option value="([a-z_]+)" selected', select_html).group(1))
    return found


def test_progress_is_a_fragment_for_htmx_and_a_page_without(console):
    batch_url = upload(console, excel_export()).location
    app = console.application
    with app.app_context():  # half-way, as another worker would have written it
        batch = db.session.scalar(select(Batch))
        batch.status, batch.total_rows, batch.processed_rows, batch.minted = (
            "running", 200_000, 60_000, 59_000)
        db.session.commit()
    fragment = console.get(batch_url, headers=HX)
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "</html>" not in body
    assert '<progress max="200000" value="60000"' in body
    assert f'hx-get="{batch_url}"' in body and f'href="{batch_url}"' in body
    assert "HX-Request" in fragment.headers["Vary"]
    full = console.get(batch_url).get_data(as_text=True)
    assert "</html>" in full and '<progress max="200000" value="60000"' in full
    assert "Neu laden" in full and "60000 von etwa 200000" in full.replace(".", "")
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        batch.status = "done"
        db.session.commit()
    done = console.get(batch_url, headers=HX).get_data(as_text=True)
    assert "hx-get" not in done  # polling stops


def test_a_run_silent_for_ten_minutes_shows_as_stopped_and_stops_polling(console):
    import datetime as dt

    batch_url = upload(console, excel_export()).location
    app = console.application
    with app.app_context():  # a CLI run killed half-way leaves its batch "running"
        batch = db.session.scalar(select(Batch))
        batch.status, batch.total_rows, batch.processed_rows = "running", 200_000, 100_000
        batch.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=9)
        db.session.commit()
        slug = db.session.get(Campaign, batch.campaign_id).slug
    assert "hx-trigger" in console.get(batch_url, headers=HX).get_data(as_text=True)
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        batch.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
        db.session.commit()
    fragment = console.get(batch_url, headers=HX).get_data(as_text=True)
    assert "</html>" not in fragment and "hx-trigger" not in fragment
    assert "ist bei 100.000 von etwa 200.000 Zeilen stehen geblieben" in fragment
    assert "wenn Sie die Liste erneut hochladen, werden sie wiederverwendet" in fragment
    full = console.get(batch_url).get_data(as_text=True)
    assert "</html>" in full and "stehen geblieben" in full
    assert "abgebrochen" in console.get(f"/console/campaigns/{slug}").get_data(as_text=True)


def test_a_job_whose_worker_died_says_so_and_that_it_goes_on_by_itself(console):
    """A console batch is a job: when its worker is gone, the page says it was interrupted
    and will be taken over (not "upload it again"), and keeps polling for that."""
    import datetime as dt

    batch_url = upload(console, excel_export()).location
    app = console.application
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        batch.status, batch.total_rows, batch.processed_rows = "running", 200_000, 100_000
        batch.options = {"mapping": {}, "channel": "email", "qr": False}
        batch.updated_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        db.session.commit()
    fresh = console.get(batch_url, headers=HX).get_data(as_text=True)
    assert "Links werden erzeugt" in fresh and "Unterbrochen" not in fresh
    for silent in (dt.timedelta(seconds=45), dt.timedelta(minutes=30)):
        with app.app_context():
            db.session.scalar(select(Batch)).updated_at = dt.datetime.now(dt.UTC) - silent
            db.session.commit()
        fragment = console.get(batch_url, headers=HX).get_data(as_text=True)
        assert "Unterbrochen bei 100.000 Zeilen" in fragment
        assert "sobald wieder ein Worker läuft" in fragment
        assert "hx-trigger" in fragment and "erneut hochladen" not in fragment


def test_a_mapping_without_identity_or_with_a_field_twice_is_refused(console):
    batch_url = upload(console, excel_export()).location
    page = console.get(batch_url).get_data(as_text=True)
    token = csrf_token(page)
    twice = {"map-0": "email", "map-1": "last_name", "map-2": "gender", "map-3": "email",
             "map-4": "external_id", "map-5": "ignore", "csrf_token": token}
    response = console.post(batch_url, data=twice)
    assert response.status_code == 422
    assert "Die Spalten „Vorname“ und „E-Mail“ sind demselben Feld zugeordnet" in \
        response.get_data(as_text=True)
    nobody = {f"map-{i}": "attribute" for i in range(6)} | {"csrf_token": token}
    response = console.post(batch_url, data=nobody)
    assert response.status_code == 422
    assert "Kundennummer, eine E-Mail-Adresse oder einen Namen" in response.get_data(
        as_text=True)
    with console.application.app_context():
        assert db.session.scalar(select(Batch.status)) == "uploaded"
        assert db.session.scalar(select(Recipient).where(Recipient.batch_id.is_not(None))) is None


def test_a_too_large_file_gets_a_friendly_page(make_app, demo, tmp_path):
    app = make_app(UPLOAD_FOLDER=str(tmp_path), MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    login(client, DEMO_USER, DEMO_PASSWORD)
    response = upload(client, excel_export(EXCEL_ROWS + ["Max;Mustermann;Herr;m@x.de;K;A"] * 200))
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert "</html>" in body and "zu groß" in body and "MB" in body
    with app.app_context():
        assert db.session.scalar(select(Batch)) is None


def test_batches_of_another_campaign_are_not_found(console):
    batch_url = upload(console, excel_export()).location
    app = console.application
    with app.app_context():
        db.session.add(Campaign(slug="other", name="Andere", quiz_slug="zoohandlung"))
        db.session.commit()
    other = batch_url.replace("/winter-2026/", "/other/")
    assert console.get(other).status_code == 404
    assert console.get(other + "/links.csv").status_code == 404
    # Not minted yet: nothing to download.
    assert console.get(batch_url + "/links.csv").status_code == 404


def test_an_unreadable_upload_says_so(console):
    batch_url = upload(console, b"\r\n").location
    response = console.get(batch_url)
    assert response.status_code == 422
    assert "kann nicht gelesen werden: die Datei ist leer: die erste Zeile muss die Spalten " \
        "benennen" in response.get_data(as_text=True)


def test_an_ignored_column_is_neither_a_field_nor_kept(console):
    batch_url = upload(console, excel_export()).location
    page = console.get(batch_url).get_data(as_text=True)
    form = {f"map-{i}": v for i, v in enumerate(_selected(page))}
    form.update({"map-2": "ignore", "map-5": "ignore", "csrf_token": csrf_token(page)})
    assert console.post(batch_url, data=form).status_code == 303
    with console.application.app_context():
        anna = db.session.scalar(select(Recipient).where(Recipient.external_id == "K-2"))
        assert anna.gender is None and anna.attributes == {}
        zoe = db.session.scalar(select(Recipient).where(Recipient.external_id == "K-3"))
        assert zoe.first_name == "Zoë"
    rows = console.get(batch_url + "/links.csv").data.decode("utf-8-sig")
    assert rows.splitlines()[0].startswith("Vorname;Nachname;Anrede;")  # the file stays whole
