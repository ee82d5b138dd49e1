"""A marketer uploads a German Excel export in a real browser, with JavaScript on and off."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile

import pytest

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import FAST, excel_export, worker_env


def reload(page) -> None:  # noqa: ANN001
    """Follow the page's own "Neu laden" link, as a marketer without JavaScript does."""
    with page.expect_navigation():
        page.get_by_role("link", name="Neu laden").click()


@pytest.fixture
def app(make_app, tmp_path):  # noqa: ANN001, ANN201
    return make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), **FAST)


@pytest.fixture
def worker(app, database_url, start_worker):  # noqa: ANN001, ANN201
    """A real job worker (`flask jobs work`) on the live server's database and queue."""
    return start_worker(worker_env(database_url, app.config["JOBS_SQLITE_PATH"]))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_create_campaign_upload_correct_mapping_mint_download_and_open_links(
        app, demo, live_server, worker, new_page, javascript, tmp_path):
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    # The whole job in one go: a new campaign for this letter, then its recipient list.
    page.get_by_role("link", name="Neue Kampagne").click()
    page.wait_for_url(re.compile(r"/console/campaigns/new$"))
    page.get_by_label("Name", exact=True).fill("Herbstbrief 2027")
    page.get_by_role("button", name="Kampagne anlegen").click()
    page.wait_for_url(re.compile(r"/console/campaigns/herbstbrief-2027$"))
    page.get_by_label("CSV-Datei").set_input_files(files=[{
        "name": "kunden.csv", "mimeType": "text/csv", "buffer": excel_export()}])
    page.get_by_role("button", name="Liste hochladen").click()
    page.wait_for_url(re.compile(r"/batches/\d+$"))
    assert page.get_by_text("Windows-1252 (Excel)").is_visible()
    assert page.get_by_role("cell", name="Jürgen").is_visible()
    screenshot(page, f"console-batch-preview-{'js' if javascript else 'nojs'}.png")
    customer_number = page.get_by_label("Feld für die Spalte Kundennummer")
    assert customer_number.input_value() == "external_id"
    # The marketer's correction: the shop's own number identifies, the CRM's is kept.
    customer_number.select_option("attribute")
    page.get_by_label("Feld für die Spalte Kunden-Nr.").select_option("external_id")
    page.get_by_label("Kanal").select_option("print")
    page.get_by_label("QR-Codes für den Druck").check()
    page.get_by_role("button", name="Links erzeugen").click()
    page.wait_for_url(re.compile(r"/batches/\d+$"))

    deadline = time.monotonic() + 20
    while not page.get_by_text("Fertig.").count():
        assert time.monotonic() < deadline, "the batch did not finish"
        if javascript:
            page.wait_for_timeout(200)  # htmx polls and swaps the progress in
        else:
            reload(page)
    assert page.locator("progress").count() == 1
    assert page.locator(".batch-counts").inner_text().split()[:2] == ["3", "neue"]
    assert page.get_by_role("link", name="Neu laden").count() == 0
    screenshot(page, f"console-batch-done-{'js' if javascript else 'nojs'}.png")

    with page.expect_download() as info:
        page.get_by_role("link", name="Liste mit Links herunterladen (CSV)").click()
    links_csv = info.value.path().read_bytes().decode("utf-8-sig")
    with page.expect_download() as info:
        page.get_by_role("link", name="QR-Codes herunterladen (ZIP)").click()
    names = zipfile.ZipFile(info.value.path()).namelist()
    rows = list(csv.DictReader(io.StringIO(links_csv), delimiter=";"))
    assert [r["Kunden-Nr."] for r in rows] == ["A1", "A2", "A3"]
    assert sorted(names) == sorted(r["qr_file"] for r in rows)
    assert page.csp_violations == []

    shopper = new_page(javascript=javascript)
    for row in rows:
        shopper.goto(live_server + row["purl_url"].removeprefix("http://localhost"))
        assert row["Vorname"] in shopper.locator("h1, .greeting, main").first.inner_text()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_progress_moves_while_another_worker_mints(app, demo, live_server, new_page, javascript):
    """The page shows the Batch row as it is; with JS it follows along until done."""
    from purl.extensions import db
    from purl.models import Batch

    with app.app_context():
        batch = Batch(campaign_id=demo.campaign_id, filename="kunden-200k.csv",
                      status="running", total_rows=200_000, processed_rows=40_000,
                      minted=39_990, reused=10)
        db.session.add(batch)
        db.session.commit()
        batch_id = batch.id
    page = new_page(javascript=javascript)
    sign_in(page, live_server)
    page.goto(f"{live_server}/console/campaigns/winter-2026/batches/{batch_id}")
    assert page.locator("progress").get_attribute("value") == "40000"
    assert page.get_by_text("40.000 von etwa 200.000 Zeilen").is_visible()
    screenshot(page, f"console-batch-running-phone-{'js' if javascript else 'nojs'}.png")
    with app.app_context():
        db.session.get(Batch, batch_id).processed_rows = 120_000
        db.session.commit()
    if javascript:
        page.get_by_text("120.000 von etwa 200.000 Zeilen").wait_for(timeout=5000)
    else:
        reload(page)
        assert page.locator("progress").get_attribute("value") == "120000"
    with app.app_context():
        done = db.session.get(Batch, batch_id)
        done.status, done.processed_rows, done.minted = "done", 200_000, 199_990
        db.session.commit()
    if javascript:
        page.get_by_text("Fertig.").wait_for(timeout=5000)
    else:
        reload(page)
    # German thousands separator
    assert page.locator(".batch-counts").inner_text().split()[0] == "199.990"
    assert page.get_by_role("link", name="Neu laden").count() == 0
    assert page.csp_violations == []
