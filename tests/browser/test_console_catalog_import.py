"""A marketer imports the shop's ERP article list in a real browser, JavaScript on and off:
upload, the detected format and columns, a refused choice named in German, then the import
run by a real job worker, its progress followed to the end."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from purl.extensions import db
from purl.models import Catalog, Product
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import FAST, worker_env

ERP = Path(__file__).resolve().parents[1] / "fixtures" / "catalog" / "erp-artikel.tsv"


@pytest.fixture
def app(make_app, tmp_path):  # noqa: ANN001, ANN201
    return make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), **FAST)


@pytest.fixture
def worker(app, database_url, start_worker):  # noqa: ANN001, ANN201
    return start_worker(worker_env(database_url, app.config["JOBS_SQLITE_PATH"]))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_erp_article_list_is_imported_from_the_console(app, demo, live_server, worker,
                                                          new_page, javascript):
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    page.get_by_role("link", name="Kataloge").click()
    page.wait_for_url(re.compile(r"/console/catalogs$"))
    page.get_by_label("Katalogdatei").set_input_files(str(ERP))
    page.get_by_label("… oder einen neuen Katalog namens").fill("Licht Laden")
    page.get_by_role("button", name="Hochladen und ansehen").click()
    page.wait_for_url(re.compile(r"/console/catalogs/imports/\d+$"))
    assert page.get_by_text("Artikelliste (CSV, TSV oder Excel)").is_visible()
    assert page.get_by_label("Feld für die Spalte Artikelnummer").input_value() == "sku"
    assert page.get_by_label("Feld für die Spalte Leistung (W)").input_value() == "attribute"

    page.get_by_role("button", name="Importieren").click()  # no links, no pattern: refused
    assert page.get_by_text("Keine Spalte enthält die Produktlinks").is_visible()
    page.get_by_label("Linkmuster für Produkte ohne Link").fill(
        "https://licht.example/artikel/{sku}")
    page.get_by_role("button", name="Importieren").click()
    page.wait_for_url(re.compile(r"/console/catalogs/imports/\d+$"))
    deadline = time.monotonic() + 30
    while not page.get_by_text("Fertig.").count():
        assert time.monotonic() < deadline, "the import did not finish"
        if javascript:
            page.wait_for_timeout(200)  # htmx polls and swaps the progress in
        else:
            with page.expect_navigation():
                page.get_by_role("link", name="Neu laden").click()
    assert page.locator(".batch-counts").inner_text().split()[:3] == ["5", "neue", "Produkte"]
    screenshot(page, f"console-catalog-import-{'js' if javascript else 'nojs'}.png")
    with app.app_context():
        skus = set(db.session.scalars(select(Product.sku).join(Catalog).where(
            Catalog.name == "licht-laden")))
    assert skus == {"LED-100", "LED-101", "LED 200/B", "LED-201", "LED-300"}
