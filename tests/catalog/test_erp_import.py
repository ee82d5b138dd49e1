"""Catalog files as shops really have them: a German ERP article list without prices and
links (mapped by its header names or ``--map``), a Shopify export of a US shop with long
handles, and catalog HTML that must not reach a shopper's page."""

from __future__ import annotations

import csv
import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from purl.catalog.recommend import Filters, recommend_showroom
from purl.extensions import db
from purl.models import Product
from purl.quiz.flow import preferences
from purl.quiz.format import parse_quiz
from tests.catalog.test_catalog import products, run_import, snapshot
from tests.conftest import answer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
ERP = FIXTURES / "erp-artikel.tsv"
PATTERN = "https://licht.example/artikel/{sku}"
SKUS = {"LED-100", "LED-101", "LED 200/B", "LED-201", "LED-300"}

LIGHT_QUIZ = """
slug: erp-licht
title: Deine Leuchte
questions:
  - id: budget
    match: must
    text: Wie viel darf sie kosten?
    options:
      - {value: guenstig, label: Bis 60 Euro, filter: {price_max: 60}}
      - {value: egal, label: Egal}
  - id: watt
    type: range
    match: must
    min: 1
    max: 20
    unit: W
    maps_to: {attribute: "leistung (w)", bound: min}
    text: Wie viel Watt mindestens?
"""


def test_a_german_erp_list_imports_by_its_header_names_with_a_url_pattern(app, runner):
    result = run_import(runner, ERP, "--url-pattern", PATTERN)
    assert result.exit_code == 0, result.output
    assert "csv: created 5, updated 0, unchanged 0" in result.output
    assert "skipped 0" in result.output
    stored = products(app)
    assert set(stored) == SKUS
    spot = stored["LED-100"]
    assert (spot.title, spot.price, spot.currency) == ("LED-Strahler Kubus", Decimal("49.90"),
                                                       "EUR")
    assert spot.category == "strahler" and spot.attributes["category_label"] == "Strahler"
    # Numbers per the file's locale, stored as JSON numbers; text stays text.
    assert spot.attributes["leistung (w)"] == 7.5
    assert stored["LED-101"].attributes["leistung (w)"] == 12
    assert isinstance(stored["LED-101"].attributes["leistung (w)"], int)
    assert spot.attributes["schutzart"] == "IP44"
    assert stored["LED-201"].price == Decimal("1249.00")
    # No price: stored as none ("Preis auf Anfrage"); the link is the pattern, sku quoted.
    recessed = stored["LED 200/B"]
    assert recessed.price is None and recessed.compare_at_price is None
    assert recessed.url == "https://licht.example/artikel/LED%20200%2FB"
    assert stored["LED-300"].title == "Pollerleuchte für Außen"


def test_the_numbers_are_json_numbers_in_the_database(app, runner):
    run_import(runner, ERP, "--url-pattern", PATTERN)
    with app.app_context():
        raw = db.session.execute(
            select(Product.attributes).where(Product.sku == "LED-100")).scalar_one()
    assert raw["leistung (w)"] == 7.5 and not isinstance(raw["leistung (w)"], str)


def test_re_importing_the_erp_list_changes_nothing(app, runner):
    run_import(runner, ERP, "--url-pattern", PATTERN)
    before = snapshot(app)
    again = run_import(runner, ERP, "--url-pattern", PATTERN)
    assert again.exit_code == 0
    assert "created 0, updated 0, unchanged 5" in again.output
    assert snapshot(app) == before


def test_map_names_columns_the_header_names_do_not(app, runner, tmp_path):
    path = tmp_path / "export.tsv"
    text = ERP.read_text(encoding="utf-8-sig").replace("Artikelnummer", "Art-Nummer", 1)
    text = text.replace("Bezeichnung", "Kurztext", 1)
    path.write_text("\ufeff" + text, encoding="utf-8", newline="")
    unmapped = run_import(runner, path, "--url-pattern", PATTERN)
    assert unmapped.exit_code == 1
    assert "the header lacks sku, title (name the columns with --map" in unmapped.output
    result = run_import(runner, path, "--map", "Art-Nummer=sku", "--map", "Kurztext=title",
                        "--url-pattern", PATTERN)
    assert result.exit_code == 0, result.output
    assert "csv: created 5" in result.output  # --map without --format: the plain format
    assert products(app)["LED-100"].title == "LED-Strahler Kubus"
    assert "kurztext" not in products(app)["LED-100"].attributes


def test_bad_mappings_and_options_are_refused_by_name(app, runner):
    unknown = run_import(runner, ERP, "--map", "Bezeichnung=titel")
    assert unknown.exit_code == 1
    assert "--map Bezeichnung=titel: unknown field 'titel'" in unknown.output
    missing = run_import(runner, ERP, "--map", "Name=title")
    assert "--map Name=title: the file has no column 'Name'" in missing.output
    shape = run_import(runner, ERP, "--map", "Bezeichnung")
    assert shape.exit_code == 2 and "'Bezeichnung' is not COLUMN=FIELD" in shape.output
    pattern = run_import(runner, ERP, "--url-pattern", "https://licht.example/artikel")
    assert pattern.exit_code == 1 and "lacks {sku}" in pattern.output
    money = run_import(runner, ERP, "--url-pattern", PATTERN, "--currency", "Dollar")
    assert money.exit_code == 1 and "not a three-letter currency code" in money.output
    assert products(app) == {}


def test_without_a_url_the_shop_search_links_else_each_row_is_skipped(app, runner):
    nothing = run_import(runner, ERP)
    assert nothing.exit_code == 1
    assert f"{ERP}:2: skipped: no url: pass --url-pattern" in nothing.output
    assert "skipped 5" in nothing.output and products(app) == {}
    result = run_import(runner, ERP, "--shop-url", "https://licht.example/")
    assert result.exit_code == 0
    assert products(app)["LED 200/B"].url == "https://licht.example/search?q=LED%20200%2FB"


def room(app, quiz, answers):  # noqa: ANN001, ANN201
    with app.app_context():
        return recommend_showroom(db.session, preferences(quiz, answers), None, 50)


def test_a_budget_neither_hides_nor_ranks_products_without_a_price(app, runner):
    run_import(runner, ERP, "--url-pattern", PATTERN)
    quiz = parse_quiz(LIGHT_QUIZ, "erp-licht.yaml")
    # The numeric attribute filters: at least 6 W leaves out the 5 W recessed light.
    shown = room(app, quiz, {"budget": "guenstig", "watt": 6})
    assert [p.sku for p in shown.picks] == ["LED-100", "LED-300"]  # priced first
    assert shown.price_floor == shown.price_ceiling == Decimal("49.90")
    every = room(app, quiz, {"budget": "egal", "watt": 1})
    assert {p.sku for p in every.picks} == SKUS
    with app.app_context():
        dear = recommend_showroom(db.session, preferences(quiz, {"budget": "egal", "watt": 1}),
                                  Filters(sort="price-desc"), 50)
    assert [p.sku for p in dear.picks] == ["LED-201", "LED-101", "LED-100", "LED 200/B",
                                           "LED-300"]


def test_the_showroom_says_preis_auf_anfrage(make_app, runner, tmp_path):
    from purl.quiz import versions

    app = make_app()
    app.test_cli_runner().invoke(args=["catalog", "import", str(ERP), "--url-pattern", PATTERN])
    (tmp_path / "erp-licht.yaml").write_text(LIGHT_QUIZ, encoding="utf-8")
    with app.app_context():
        versions.import_files(db.session, [tmp_path / "erp-licht.yaml"], publish=True)
        db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    assert client.get("/q/erp-licht").status_code == 200
    answer(client, "/q/erp-licht/quiz/budget", "guenstig")
    answer(client, "/q/erp-licht/quiz/watt", "6")
    html = client.get("/q/erp-licht/showroom").get_data(as_text=True)
    titles = re.findall(r'<span class="product-title">([^<]+)</span>', html)
    assert titles == ["LED-Strahler Kubus", "Pollerleuchte für Außen"]
    assert html.count("Preis auf Anfrage") == 1
    assert "49,90" in html


def shopify_export(path: Path, handles: list[str]) -> None:
    columns = ["Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published",
               "Option1 Name", "Option1 Value", "Variant Price", "Status"]
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(columns)
        for i, handle in enumerate(handles):
            out.writerow([handle, f"Lamp {i}",
                          f"<p>Warm <b>light</b> &amp; more</p><script>alert({i})</script>",
                          "Lumen Co", "Lamps", "led", "TRUE", "Title", "Default Title",
                          f"{20 + i}.00", "active"])


def test_a_us_shopify_export_with_long_handles_imports_every_product(app, runner, tmp_path):
    handles = [f"{i:03d}-" + "x" * 196 for i in range(5)] + ["y" * 255]
    assert {len(h) for h in handles} == {200, 255}
    path = tmp_path / "products_export.csv"
    shopify_export(path, handles)
    result = run_import(runner, path, "--shop-url", "https://lumen.example",
                        "--currency", "usd")
    assert result.exit_code == 0, result.output
    assert "shopify: created 6, updated 0, unchanged 0" in result.output
    assert "skipped 0" in result.output
    stored = products(app)
    assert set(stored) == set(handles)
    assert {p.currency for p in stored.values()} == {"USD"}
    lamp = stored[handles[0]]
    assert lamp.url == f"https://lumen.example/products/{handles[0]}"
    # nh3: no script and no markup, only the text a shopper reads.
    assert lamp.description == "Warm light & more"
    again = run_import(runner, path, "--shop-url", "https://lumen.example", "--currency", "USD")
    assert "created 0, updated 0, unchanged 6" in again.output


def test_a_handle_over_shopifys_limit_is_skipped_with_its_reason(app, runner, tmp_path):
    path = tmp_path / "products_export.csv"
    shopify_export(path, ["ok-lamp", "z" * 256])
    result = run_import(runner, path, "--shop-url", "https://lumen.example")
    assert f"{path}:3: skipped: sku is longer than 255 characters" in result.output
    assert set(products(app)) == {"ok-lamp"}
    assert products(app)["ok-lamp"].currency == "EUR"


def test_html_in_a_plain_file_is_stored_as_text(app, runner, tmp_path):
    path = tmp_path / "artikel.csv"
    path.write_text("Artikelnummer;Bezeichnung;Beschreibung;Link\n"
                    'A-1;Lampe;"<img src=x onerror=alert(1)><script>steal()</script>'
                    '<p>Hell &lt;3</p>";https://licht.example/a-1\n', encoding="utf-8")
    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert products(app)["A-1"].description == "Hell <3"


def test_attribute_numbers_follow_the_files_locale_and_codes_stay_text():
    from purl.catalog.imports.common import number

    assert [number(v, True) for v in ("7,5", "1.200", "-3", "1.249,50")] == [7.5, 1200, -3,
                                                                             1249.5]
    assert [number(v, False) for v in ("7.5", "1,200", "12")] == [7.5, 1200, 12]
    for text in ("IP44", "7,5 W", "00420", "1.5.2", ""):
        assert number(text, True) is None
    assert number("7,5", False) is None  # a comma-separated file's "7,5" is not seven and a half
