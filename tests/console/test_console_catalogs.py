"""Catalog files imported from the console: upload, preview of the detected format, the
column mapping and the shop's choices, the import as a job with its progress, every skipped
row with its reason in German, and a re-import that changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from purl.catalog import importing, store
from purl.catalog.recommend import recommend_showroom
from purl.extensions import db
from purl.models import Catalog, CatalogImport, Product
from purl.quiz.flow import preferences
from purl.quiz.format import parse_quiz
from tests.conftest import csrf_token, form_fields

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
ERP = FIXTURES / "erp-artikel.tsv"
PATTERN = "https://licht.example/artikel/{sku}"

WATT_QUIZ = """
slug: licht-console
title: Deine Leuchte
catalog: licht-laden
questions:
  - id: watt
    type: range
    match: must
    min: 1
    max: 20
    unit: W
    maps_to: {attribute: "leistung (w)", bound: min}
    text: Wie viel Watt mindestens?
"""


def upload(console, data: bytes, filename: str, **form: str):  # noqa: ANN001, ANN003, ANN201
    page = console.get("/console/catalogs")
    assert page.status_code == 200
    fields = {"csrf_token": csrf_token(page.get_data(as_text=True)),
              "file": (io.BytesIO(data), filename), **form}
    return console.post("/console/catalogs/imports", data=fields,
                        content_type="multipart/form-data")


def start(console, url: str, **changes: str):  # noqa: ANN001, ANN003, ANN201
    """Send the preview's form as the page fills it, with ``changes``."""
    page = console.get(url).get_data(as_text=True)
    fields = form_fields(page, url)
    for key, value in changes.items():
        fields[key.replace("_", "-") if key.startswith("map_") else key] = value
    return console.post(url, data=fields)


def column_field(html: str, index: int) -> str:
    select_html = re.search(rf'<select id="map-{index}".*?</select>', html, re.S).group()
    return re.search(r'<option value="([^"]+)" selected', select_html).group(1)


def stored(app, catalog: str) -> dict[str, Product]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.scalars(select(Product).join(Catalog).where(
            Catalog.name == catalog)).all()
        db.session.expunge_all()
        return {p.sku: p for p in rows}


def latest(app) -> CatalogImport:  # noqa: ANN001
    with app.app_context():
        found = db.session.scalar(select(CatalogImport).order_by(CatalogImport.id.desc()))
        db.session.expunge(found)
        return found


def test_the_german_erp_list_imports_from_the_console_and_its_watts_filter_a_quiz(console):
    app = console.application
    response = upload(console, ERP.read_bytes(), "Artikel.tsv", new_title="Licht Laden")
    assert response.status_code == 303
    url = response.location
    page = console.get(url).get_data(as_text=True)
    # The preview: the format found, the German header names recognised, the first rows.
    assert "Artikelliste (CSV, TSV oder Excel)" in page
    assert "licht-laden" in page and "LED-Strahler Kubus" in page
    assert [column_field(page, i) for i in range(6)] == [
        "sku", "title", "price", "category", "attribute", "attribute"]
    assert not stored(app, "licht-laden")  # nothing imported before the marketer says so

    done = start(console, url, url_pattern=PATTERN)
    assert done.status_code == 303 and done.location == url
    result = console.get(url).get_data(as_text=True)
    assert "Fertig." in result
    assert re.search(r'kpi-value">5</span> <span class="kpi-label">neue Produkte', result)
    products = stored(app, "licht-laden")
    assert set(products) == {"LED-100", "LED-101", "LED 200/B", "LED-201", "LED-300"}
    assert products["LED-201"].price == Decimal("1249.00")
    assert products["LED 200/B"].price is None  # "Preis auf Anfrage"
    assert products["LED 200/B"].url == "https://licht.example/artikel/LED%20200%2FB"
    assert products["LED-201"].attributes["leistung (w)"] == 18.5

    # Its numeric attribute filters in a quiz on that catalog: at least 11 W.
    quiz = parse_quiz(WATT_QUIZ, "licht-console.yaml")
    with app.app_context():
        room = recommend_showroom(db.session, preferences(quiz, {"watt": 11}), None, 50,
                                  catalog="licht-laden")
    assert {p.sku for p in room.picks} == {"LED-101", "LED-201"}

    # The same file again, into the same catalog: nothing changes, not even updated_at.
    before = {sku: p.updated_at for sku, p in stored(app, "licht-laden").items()}
    again = upload(console, ERP.read_bytes(), "Artikel.tsv", catalog="licht-laden")
    start(console, again.location, url_pattern=PATTERN)
    second = console.get(again.location).get_data(as_text=True)
    assert re.search(r'kpi-value">0</span> <span class="kpi-label">neue Produkte', second)
    assert re.search(r'kpi-value">5</span> <span class="kpi-label">unverändert', second)
    assert {sku: p.updated_at for sku, p in stored(app, "licht-laden").items()} == before


def test_columns_the_header_names_do_not_say_are_mapped_by_the_marketer(console):
    data = ("Nummer;Kurztext;VK brutto;Warengr.;Lumen\n"
            "A-1;Tischleuchte Oslo;39,90;Tischleuchten;450\n"
            "A-2;Stehleuchte Bergen;129,00;Stehleuchten;1.800\n").encode("cp1252")
    url = upload(console, data, "export.csv", catalog="default").location
    page = console.get(url).get_data(as_text=True)
    assert [column_field(page, i) for i in range(5)] == ["attribute"] * 5
    refused = start(console, url, url_pattern=PATTERN)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "Keine Spalte enthält die Artikelnummer" in text
    assert "Keine Spalte enthält die Bezeichnung" in text
    done = start(console, url, map_0="sku", map_1="title", map_2="price", map_3="category",
                 url_pattern=PATTERN)
    assert done.status_code == 303
    products = stored(console.application, "default")
    oslo = products["A-1"]
    assert (oslo.title, oslo.price, oslo.category) == ("Tischleuchte Oslo", Decimal("39.90"),
                                                       "tischleuchten")
    assert products["A-2"].attributes["lumen"] == 1800  # a German thousands point


@pytest.mark.parametrize(("changes", "message"), [
    ({"url_pattern": "https://licht.example/artikel/"}, "fehlt {sku}"),
    ({"url_pattern": "ftp://licht.example/{sku}"}, "muss mit http:// oder https:// beginnen"),
    ({"url_pattern": "", "shop_url": ""}, "Keine Spalte enthält die Produktlinks"),
    ({"currency": "EURO"}, "Währung &#39;EURO&#39; ist kein dreibuchstabiger Code"),
    ({"map_1": "sku"}, "Die Spalten „Artikelnummer“ und „Bezeichnung“ sind demselben Feld"),
    ({"map_2": "colour"}, "Spalte „Preis“: Bitte wählen Sie ein Feld aus der Liste."),
])
def test_bad_choices_are_refused_by_name_and_nothing_is_imported(console, changes, message):
    url = upload(console, ERP.read_bytes(), "Artikel.tsv", new_title="Licht Laden").location
    refused = start(console, url, **{"url_pattern": PATTERN, **changes})
    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert latest(console.application).status == "uploaded"
    assert not stored(console.application, "licht-laden")


def test_a_shopify_export_of_a_us_shop_with_long_handles_imports_in_dollars(console, tmp_path):
    handles = [f"{i:03d}-" + "x" * 196 for i in range(4)] + ["y" * 255]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Variant Price"])
    for i, handle in enumerate(handles):
        writer.writerow([handle, f"Lamp {i}", "<p>Warm <b>light</b></p>", "Lumen", "Lamps",
                         f"{20 + i}.00"])
    url = upload(console, out.getvalue().encode(), "products_export.csv",
                 new_title="Lumen US").location
    page = console.get(url).get_data(as_text=True)
    assert "Shopify-Produktexport" in page
    refused = start(console, url)
    assert refused.status_code == 422
    assert "bitte geben Sie die Adresse des Shops an" in refused.get_data(as_text=True)
    start(console, url, shop_url="https://lumen.example", currency="USD")
    products = stored(console.application, "lumen-us")
    assert set(products) == set(handles)
    assert {p.currency for p in products.values()} == {"USD"}
    assert products[handles[0]].description == "Warm light"


def test_every_skipped_row_is_listed_with_its_reason_in_german(console):
    data = (b"Artikelnummer;Bezeichnung;Preis\n"
            b"B-1;Gute Leuchte;19,90\n"
            b"B-2;Teure Leuchte;zu teuer\n"
            b";Ohne Nummer;9,90\n"
            b"B-1;Gute Leuchte nochmal;19,90\n")
    url = upload(console, data, "liste.csv", catalog="default").location
    start(console, url, url_pattern=PATTERN)
    page = console.get(url).get_data(as_text=True)
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", page)
    assert rows == [("3", "Preis &#39;zu teuer&#39; ist kein Preis"),
                    ("4", "keine Artikelnummer"),
                    ("5", "Artikelnummer &#39;B-1&#39; schon in Zeile 2")]
    assert set(stored(console.application, "default")) >= {"B-1"}
    download = console.get(url + "/skipped.csv")
    assert download.status_code == 200
    body = download.get_data().decode("utf-8-sig")
    assert body.splitlines() == ["Zeile;Grund", "3;Preis 'zu teuer' ist kein Preis",
                                 "4;keine Artikelnummer", "5;Artikelnummer 'B-1' schon in Zeile 2"]


def test_a_file_that_is_no_table_is_refused_on_its_preview(console):
    url = upload(console, b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "logo.png",
                 catalog="default").location
    page = console.get(url)
    assert page.status_code == 422
    assert "Diese Datei kann nicht gelesen werden" in page.get_data(as_text=True)


def test_an_upload_without_a_catalog_or_file_says_what_is_missing(console):
    missing = upload(console, ERP.read_bytes(), "Artikel.tsv", catalog="gibts-nicht")
    assert missing.status_code == 422
    assert "Bitte wählen Sie einen Katalog" in missing.get_data(as_text=True)
    page = console.get("/console/catalogs").get_data(as_text=True)
    empty = console.post("/console/catalogs/imports", data={
        "csrf_token": csrf_token(page), "catalog": "default"},
        content_type="multipart/form-data")
    assert empty.status_code == 422
    assert "Bitte wählen Sie die Katalogdatei" in empty.get_data(as_text=True)
    with console.application.app_context():
        assert db.session.scalar(select(func.count(CatalogImport.id))) == 0


def test_the_progress_is_a_fragment_for_htmx_and_a_page_without(console):
    url = upload(console, ERP.read_bytes(), "Artikel.tsv", catalog="default").location
    app = console.application
    with app.app_context():  # queued, as the console leaves it for a worker
        found = db.session.get(CatalogImport, int(url.rsplit("/", 1)[1]))
        importing.queue(db.session, found, importing.Options(url_pattern=PATTERN))
        db.session.commit()
    page = console.get(url)
    html = page.get_data(as_text=True)
    assert "</html>" in html and "Wartet auf einen Worker" in html
    assert 'hx-trigger="every 1s"' in html and "HX-Request" in page.headers["Vary"]
    fragment = console.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "</html>" not in fragment and 'id="catalog-import-progress"' in fragment
    again = console.post(url, data={"csrf_token": csrf_token(html)})
    assert again.status_code == 303  # queued already: said, nothing queued twice
    assert "wird schon importiert" in console.get(again.location).get_data(as_text=True)


def test_a_worker_killed_half_way_is_taken_over_and_goes_on_where_it_stopped(
        console, monkeypatch, tmp_path):
    app = console.application
    lines = ["Artikelnummer;Bezeichnung;Preis"] + [
        f"K-{i:04d};Leuchte {i};{10 + i % 50},90" for i in range(1200)]
    url = upload(console, "\n".join(lines).encode(), "gross.csv", catalog="default").location
    import_id = int(url.rsplit("/", 1)[1])
    with app.app_context():
        found = db.session.get(CatalogImport, import_id)
        importing.queue(db.session, found, importing.Options(url_pattern=PATTERN))
        db.session.commit()

    real = store._upsert_chunk
    calls = []

    def dies_on_the_second_chunk(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the worker is killed: nothing of this chunk stays
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "_upsert_chunk", dies_on_the_second_chunk)
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        importing.run(db.session, import_id, lease_seconds=60)
    monkeypatch.setattr(store, "_upsert_chunk", real)
    with app.app_context():
        db.session.rollback()
        kept = db.session.get(CatalogImport, import_id)
        assert (kept.status, kept.products_done, kept.created) == ("running", 500, 500)
        assert db.session.scalar(select(func.count(Product.id)).where(
            Product.sku.like("K-%"))) == 500
        # Its lease is fresh: another worker leaves it alone …
        assert importing.run(db.session, import_id, lease_seconds=60) == "skipped"
        # … until it ran out: then it is taken over and goes on after the 500 kept.
        db.session.execute(update(CatalogImport).where(CatalogImport.id == import_id).values(
            updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
        db.session.commit()
        assert importing.run(db.session, import_id, lease_seconds=60) == "done"
        done = db.session.get(CatalogImport, import_id)
        assert (done.created, done.unchanged, done.products_done, done.attempts) == (
            1200, 0, 1200, 1)
        assert db.session.scalar(select(func.count(Product.id)).where(
            Product.sku.like("K-%"))) == 1200


def test_the_skipped_rows_download_never_hands_excel_a_formula(console):
    data = ("Artikelnummer;Bezeichnung;=Notiz\n"
            "C-1;Leuchte;gut\n"
            "C-2;Leuchte;bö\x01se\n").encode()
    url = upload(console, data, "liste.csv", catalog="default").location
    start(console, url, url_pattern=PATTERN)
    lines = console.get(url + "/skipped.csv").get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[1].startswith("3;")
    assert "Steuerzeichen" in lines[1] and "Notiz" in lines[1] and ";=" not in lines[1]
