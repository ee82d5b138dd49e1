"""A marketer uploads a list with rejected rows in a real browser (JavaScript on and off), reads
each reason on the results page and opens the Excel download as German Excel would."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.browser.conftest import screenshot, sign_in

# A Mailchimp export (comma, UTF-8 without BOM): three people, three rows that get no link.
AUDIENCE = (
    "Email Address,First Name,Last Name\r\n"
    "jorg@example.org,Jörg,Şahin\r\n"
    "kaputt-at-example,Otto,Keller\r\n"
    "anna@example.org,Anna,\"Groß; Weiß\"\r\n"
    "jorg@example.org,Jörg,Doppelt\r\n"
    "zoe@example.org,Zoë,Weiß\r\n"
    "noch-kaputt@,Emil,Brandt\r\n"
).encode()
REJECTED = {"3": "kaputt-at-example", "5": "Doppelt", "7": "noch-kaputt@"}


@pytest.fixture
def app(make_app, tmp_path):  # noqa: ANN001, ANN201
    # The batch runs inside the request that queues it, as a worker would run it: this test
    # is about what the pages show, the worker has its own browser test.
    return make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), CONSOLE_BATCH_WAIT=True)


def _download(page, name: str) -> bytes:  # noqa: ANN001
    with page.expect_download() as info:
        page.get_by_role("link", name=name).click()
    return info.value.path().read_bytes()


def as_german_excel(data: bytes) -> list[list[str]]:
    """What German Excel does with a double-clicked .csv: a BOM means UTF-8 (without one it
    would read Windows-1252), and the list separator of a German Windows is ";"."""
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would read Windows-1252"
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline=""), delimiter=";"))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_rejected_rows_are_listed_and_the_excel_download_opens_in_columns(
        app, demo, live_server, new_page, javascript):
    mode = "js" if javascript else "nojs"
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    page.goto(live_server + "/console/campaigns/winter-2026")
    page.get_by_label("CSV-Datei").set_input_files(files=[{
        "name": "audience.csv", "mimeType": "text/csv", "buffer": AUDIENCE}])
    page.get_by_role("button", name="Liste hochladen").click()
    page.wait_for_url(re.compile(r"/batches/\d+$"))
    batch_url = page.url
    page.get_by_label("Feld für die Spalte Email Address").select_option("email")
    page.get_by_label("Feld für die Spalte First Name").select_option("first_name")
    page.get_by_label("Feld für die Spalte Last Name").select_option("last_name")

    # First the check: what minting would do, with nothing minted yet.
    screenshot(page, f"console-intake-mapping-desktop-{mode}.png")
    page.get_by_role("button", name="Prüfen", exact=True).click()
    page.wait_for_url(batch_url + "/check")
    page.get_by_text("Geprüft – es wurde noch nichts erzeugt.").wait_for()
    assert page.locator(".check-counts .kpi-value").all_inner_texts() == ["3", "0", "3"]
    checked = [row.locator("td").first.inner_text().split()[0]
               for row in page.locator("table.rejections tbody tr").all()]
    assert checked == list(REJECTED)
    screenshot(page, f"console-intake-check-desktop-{mode}.png")
    phone = new_page(javascript=javascript)
    sign_in(phone, live_server)
    phone.goto(batch_url + "/check")
    assert phone.locator("table.rejections tbody tr").count() == len(REJECTED)
    screenshot(phone, f"console-intake-check-phone-{mode}.png")
    box = phone.get_by_role("button", name="Links erzeugen").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.goto(live_server + "/console/campaigns/winter-2026")
    assert "geprüft, noch keine Links" in page.locator(".batch-list").inner_text()
    page.go_back()

    page.get_by_role("button", name="Links erzeugen").click()
    page.wait_for_url(batch_url)
    page.get_by_text("Fertig.").wait_for()

    assert page.locator(".batch-counts").inner_text().split()[:2] == ["3", "neue"]
    assert page.get_by_role("heading", name="Abgelehnte Zeilen").is_visible()
    table = page.locator("table.rejections")
    assert table.locator("th").all_inner_texts() == ["Zeile", "Grund", "Inhalt"]
    cells = [row.locator("td").all_inner_texts() for row in table.locator("tbody tr").all()]
    assert [c[0].split()[0] for c in cells] == list(REJECTED)
    for (line, reason, content), (number, shown) in zip(cells, REJECTED.items(), strict=True):
        assert line.startswith(number) and shown in content and reason.strip()
    # Each reason as the rejected-rows file states it, in German.
    stored = list(csv.reader(io.StringIO(page.request.get(
        batch_url + "/errors.csv").text()), delimiter=","))[1:]
    assert [c[1] for c in cells] == [r[1] for r in stored]
    assert "keine gültige E-Mail-Adresse" in cells[0][1] and "doppelt" in cells[1][1]
    screenshot(page, f"console-intake-results-desktop-{mode}.png")

    rows = as_german_excel(_download(page, "Liste mit Links für Excel herunterladen"))
    assert rows[0] == ["Email Address", "First Name", "Last Name", "Persönlicher Link", "Code",
                       "Briefanrede"]
    assert all(len(r) == len(rows[0]) for r in rows)
    assert [r[1] for r in rows[1:]] == ["Jörg", "Anna", "Zoë"]
    assert rows[2][2] == "Groß; Weiß" and rows[1][2] == "Şahin"
    errors = as_german_excel(_download(page, "Abgelehnte Zeilen für Excel herunterladen"))
    assert errors[0][:2] == ["Zeile", "Grund"]
    assert [r[0].split()[0] for r in errors[1:]] == list(REJECTED)
    # The plain CSV keeps the contract's column names, for mail merge and import tools.
    plain = _download(page, "Liste mit Links herunterladen (CSV)").decode("utf-8")
    assert plain.split("\r\n", 1)[0].endswith(",purl_url,purl_code,salutation_line")
    assert page.csp_violations == []

    phone = new_page(javascript=javascript)
    sign_in(phone, live_server)
    phone.goto(batch_url)
    assert phone.locator("table.rejections tbody tr").count() == len(REJECTED)
    screenshot(phone, f"console-intake-results-phone-{mode}.png")
    # On a phone each rejected row is a card: nothing sticks out of the page.
    box = phone.locator("table.rejections tbody tr").first.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_print_list_under_a_local_address_is_warned_about_and_the_upload_deleted(
        app, demo, live_server, new_page, javascript):
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    page.goto(live_server + "/console/campaigns/winter-2026")
    page.get_by_label("CSV-Datei").set_input_files(files=[{
        "name": "brief.csv", "mimeType": "text/csv", "buffer": AUDIENCE}])
    page.get_by_role("button", name="Liste hochladen").click()
    page.wait_for_url(re.compile(r"/batches/\d+$"))
    warning = page.get_by_role("alert").filter(has_text="http://localhost")
    assert warning.is_visible() and "QR-Code" in warning.inner_text()
    screenshot(page, f"console-intake-print-warning-{'js' if javascript else 'nojs'}.png")

    page.get_by_role("link", name="Diesen Upload löschen …").click()
    page.wait_for_url(re.compile(r"/delete$"))
    page.get_by_role("button", name="Löschen").click()
    page.wait_for_url(re.compile(r"/console/campaigns/winter-2026$"))
    assert page.get_by_text("Der Upload „brief.csv“ wurde gelöscht.").is_visible()
    assert page.get_by_role("link", name="brief.csv").count() == 0
    assert page.csp_violations == []



def test_the_check_page_follows_a_check_run_by_a_worker(app, demo, live_server, new_page):
    """With JavaScript the check page polls: a check a worker runs shows its result without
    a reload."""
    from sqlalchemy import select

    from purl import jobs
    from purl.extensions import db
    from purl.links.batch import uploads
    from purl.models import Batch

    app.config["CONSOLE_BATCH_WAIT"] = False  # queued: no worker runs it until the test does
    page = new_page(javascript=True, width=1280, height=900)
    sign_in(page, live_server)
    page.goto(live_server + "/console/campaigns/winter-2026")
    page.get_by_label("CSV-Datei").set_input_files(files=[{
        "name": "audience.csv", "mimeType": "text/csv", "buffer": AUDIENCE}])
    page.get_by_role("button", name="Liste hochladen").click()
    page.wait_for_url(re.compile(r"/batches/\d+$"))
    page.get_by_role("button", name="Prüfen", exact=True).click()
    page.wait_for_url(re.compile(r"/check$"))
    page.get_by_text("Die Liste wird geprüft").wait_for()
    with app.app_context():
        batch = db.session.scalar(select(Batch).order_by(Batch.id.desc()))
        assert jobs.run_check_here(batch.id, uploads.check_of(batch)["id"]) == "done"
        db.session.remove()
    # No reload: htmx swaps the result in.
    page.get_by_text("Geprüft – es wurde noch nichts erzeugt.").wait_for()
    assert page.locator(".check-counts .kpi-value").all_inner_texts() == ["3", "0", "3"]
    assert page.csp_violations == []
