"""Catalog import from real shop exports: Shopify CSV, Merchant Center feed, plain CSV."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from purl.catalog.imports import RowError, detect_format, parse_price
from purl.catalog.store import import_catalog
from purl.extensions import db
from purl.models import Product, ProductTag

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
SHOP = "https://shop.example"


def run_import(runner, path, *args):  # noqa: ANN001, ANN002, ANN201
    return runner.invoke(args=["catalog", "import", str(path), *args])


def products(app) -> dict[str, Product]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.scalars(select(Product)).all()
        db.session.expunge_all()
        return {p.sku: p for p in rows}


def tags_of(app, sku: str) -> set[str]:  # noqa: ANN001
    with app.app_context():
        return set(db.session.scalars(
            select(ProductTag.tag).join(Product, Product.id == ProductTag.product_id)
            .where(Product.sku == sku)))


def snapshot(app) -> list[tuple]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.execute(select(
            Product.sku, Product.title, Product.price, Product.compare_at_price,
            Product.available, Product.image_url, Product.url, Product.attributes,
            Product.updated_at).order_by(Product.sku)).all()
        tags = db.session.execute(select(ProductTag.product_id, ProductTag.tag)
                                  .order_by(ProductTag.product_id, ProductTag.tag)).all()
    return [tuple(r) for r in rows] + [tuple(t) for t in tags]


def test_a_real_shopify_export_imports_variants_as_one_product(app, runner):
    result = run_import(runner, FIXTURES / "shopify-home-and-garden.csv", "--shop-url", SHOP)
    assert result.exit_code == 0, result.output
    assert "shopify: created 20, updated 0, unchanged 0" in result.output
    stored = products(app)
    assert len(stored) == 20  # 21 rows: the clay pot's two sizes are one product
    pot = stored["clay-plant-pot"]
    assert pot.price == Decimal("9.99") and isinstance(pot.price, Decimal)
    assert [v["price"] for v in pot.attributes["variants"]] == ["9.99", "15.99"]
    assert [v["options"] for v in pot.attributes["variants"]] == [["Regular"], ["Large"]]
    assert pot.image_url == "https://burst.shopifycdn.com/photos/single-sprout-in-a-pot_925x.jpg"
    assert pot.url == "https://shop.example/products/clay-plant-pot"
    assert (pot.category, pot.product_type, pot.brand) == ("outdoor", "outdoor", "Company 123")
    assert tags_of(app, "clay-plant-pot") == {"pot", "plants"}
    sofa = stored["cream-sofa"]
    assert (sofa.price, sofa.compare_at_price) == (Decimal("500.00"), Decimal("750.00"))
    assert sofa.description == "Comfortable cream sofa with wooden base"  # nh3: text only
    assert all(p.available for p in stored.values())


def test_shopify_sizes_of_one_handle_collapse_and_links_need_the_shop_url(app, runner):
    path = FIXTURES / "shopify-apparel.csv"
    result = run_import(runner, path)
    assert result.exit_code != 0 and "--shop-url" in result.output
    assert products(app) == {}
    assert run_import(runner, path, "--shop-url", SHOP).exit_code == 0
    top = products(app)["classic-varsity-top"]
    assert len(products(app)) == 20  # 22 rows, three of them one top in three sizes
    assert top.price == Decimal("60.00")
    assert [v["options"] for v in top.attributes["variants"]] == [["Small"], ["Medium"], ["Large"]]
    assert tags_of(app, "classic-varsity-top") == {"women"}


def test_reimporting_the_same_files_changes_nothing(app, runner):
    for name in ("shopify-home-and-garden.csv", "google-example-feed.xml", "zoo-de.tsv"):
        run_import(runner, FIXTURES / name, "--shop-url", SHOP)
    before = snapshot(app)
    for name in ("shopify-home-and-garden.csv", "google-example-feed.xml", "zoo-de.tsv"):
        result = run_import(runner, FIXTURES / name, "--shop-url", SHOP)
        assert "created 0, updated 0" in result.output, result.output
    assert snapshot(app) == before  # not even updated_at moved


def test_a_real_merchant_center_feed_imports_prices_images_and_variants(app, runner):
    result = run_import(runner, FIXTURES / "google-example-feed.xml")
    assert result.exit_code == 0, result.output
    assert "merchant: created 5" in result.output and "skipped 0" in result.output
    stored = products(app)
    assert set(stored) == {"TV_123456", "DVD-0564738", "PFM654321", "CLO-29473856", "CLO-1029384"}
    tv = stored["TV_123456"]
    assert (tv.price, tv.currency, tv.brand) == (Decimal("159.00"), "USD", "LG")
    assert (tv.category, tv.product_type) == ("consumer-electronics", "flat-panel-tvs")
    assert tv.attributes["product_type_path"] == "Consumer Electronics > TVs > Flat Panel TVs"
    dvd = stored["DVD-0564738"]  # CDATA, and a Google category ahead of the shop's own
    assert dvd.image_url == "http://images.example.com/DVD-0564738?size=large&format=PNG"
    assert dvd.url == "http://www.example.com/media/dvd/?sku=384616&src=gshopping&lang=en"
    assert dvd.category == "media" and dvd.product_type == "fantasy-drama"
    jersey = stored["CLO-1029384"]  # sale_price is what the shopper pays
    assert (jersey.price, jersey.compare_at_price) == (Decimal("25.49"), Decimal("33.99"))
    jeans = stored["CLO-29473856"]  # two sizes, one item group; one size is in stock
    assert jeans.available is True and jeans.price == Decimal("29.50")
    assert [v["id"] for v in jeans.attributes["variants"]] == ["CLO-29473856-1", "CLO-29473856-2"]
    assert jeans.attributes["additional_image_link"] == [
        "http://images.example.com/CLO-29473856-side.jpg",
        "http://images.example.com/CLO-29473856-back.jpg"]
    assert "shipping" not in tv.attributes  # nested shipping prices are not product prices


def test_a_german_tab_separated_file_with_broken_rows(app, runner):
    path = FIXTURES / "zoo-de.tsv"
    result = run_import(runner, path)
    assert result.exit_code == 0
    stored = products(app)
    assert set(stored) == {"SB-100", "SB-101", "SB-102"}
    assert stored["SB-102"].price is None  # "Preis auf Anfrage"
    bag = stored["SB-100"]
    assert (bag.price, bag.compare_at_price) == (Decimal("1299.95"), Decimal("1499.00"))
    assert bag.attributes["temperaturbereich"] == "-28° - +45° C"
    assert bag.title == "Schlafsack „Polar“ für Hunde"
    assert (bag.category, bag.product_type) == ("hund", "zubehoer")
    assert bag.attributes["product_type_label"] == "Zubehör"
    assert tags_of(app, "SB-100") == {"premium", "neu"}
    assert stored["SB-101"].price == Decimal("24.90")
    out = result.output
    assert (f"{path}:5: skipped: url 'javascript:alert(1)' must start with http:// or "
            "https://") in out
    assert f"{path}:6: skipped: price 'zwölf Euro' is not a price" in out
    assert f"{path}:7: skipped: price '1.299' is ambiguous" in out
    assert (f"{path}:8: skipped: url 'ftp://zoohandlung.example/sb-106' must start with "
            "http:// or https://") in out
    assert f"{path}:9: skipped: product id 'SB-101' already in row 3" in out
    assert "csv: created 3, updated 0, unchanged 0, marked unavailable 0, skipped 5" in out


def test_a_file_where_nothing_is_usable_fails_and_stores_nothing(app, runner, tmp_path):
    path = tmp_path / "kaputt.csv"
    path.write_text("sku,title,price,url\nA,Alpha,abc,https://x.example/a\n", encoding="utf-8")
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert f"{path}:2: skipped: price 'abc' is not a price" in result.output
    path.write_text("name;preis\nA;1\n", encoding="utf-8")
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "the header lacks sku (name the columns with --map" in result.output
    assert products(app) == {}


def test_a_full_import_marks_missing_products_unavailable_instead_of_deleting(app, runner,
                                                                              tmp_path):
    source = FIXTURES / "shopify-home-and-garden.csv"
    run_import(runner, source, "--shop-url", SHOP)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    smaller = tmp_path / "export.csv"
    smaller.write_text("".join(lines[:4]), encoding="utf-8")  # header, clay pot (2), copper light
    result = run_import(runner, smaller, "--shop-url", SHOP, "--full")
    assert "marked unavailable 18" in result.output
    stored = products(app)
    assert len(stored) == 20
    assert {s for s, p in stored.items() if p.available} == {"clay-plant-pot", "copper-light"}
    # Without --full a partial file leaves the rest alone.
    run_import(runner, source, "--shop-url", SHOP)
    assert all(p.available for p in products(app).values())


def test_a_merchant_tsv_and_a_german_excel_csv(app, tmp_path):
    feed = tmp_path / "feed.txt"
    feed.write_text(
        "id\ttitle\tdescription\tlink\timage link\tprice\tsale price\tavailability\t"
        "product type\tbrand\tcustom label 0\n"
        "K-1\tKatzenbaum\tGroß\thttps://zoo.example/k-1\thttps://zoo.example/k-1.jpg\t"
        "49.90 EUR\t39.90 EUR\tout of stock\tKatze > Möbel\tFelix\tBestseller\n",
        encoding="utf-8")
    excel = tmp_path / "export.csv"
    excel.write_bytes(
        "sku;title;category;price;url;tags\n"
        "N-1;Napf für Hunde;Hund;1.299,95 €;https://zoo.example/n-1;groß, edel\n"
        .encode("cp1252"))
    with app.app_context():
        assert detect_format(feed.read_text(encoding="utf-8").split("\n")[0].split("\t")) \
            == "merchant"
        report = import_catalog(db.session, feed)
        assert (report.format, report.created) == ("merchant", 1)
        report = import_catalog(db.session, excel)
        assert (report.format, report.created, report.skipped) == ("csv", 1, [])
        db.session.commit()
    stored = products(app)
    tree = stored["K-1"]
    assert (tree.price, tree.compare_at_price, tree.currency) == (
        Decimal("39.90"), Decimal("49.90"), "EUR")
    assert tree.available is False and tree.category == "katze" and tree.product_type == "moebel"
    assert tags_of(app, "K-1") == {"bestseller"}
    bowl = stored["N-1"]
    assert bowl.price == Decimal("1299.95") and bowl.title == "Napf für Hunde"
    assert tags_of(app, "N-1") == {"groß", "edel"}


@pytest.mark.parametrize(("text", "expected"), [
    ("49.90 EUR", (Decimal("49.90"), "EUR")),
    ("1.299,95", (Decimal("1299.95"), None)),
    ("1,299.95 USD", (Decimal("1299.95"), "USD")),
    ("49,90 €", (Decimal("49.90"), "EUR")),
    ("€ 5", (Decimal("5.00"), "EUR")),
    ("1.299.000,00", (Decimal("1299000.00"), None)),
    ("0 USD", (Decimal("0.00"), "USD")),
])
def test_prices_are_exact_decimals(text, expected):
    assert parse_price(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.299", "-5", "12,5,0", "1e5", "nan"])
def test_prices_that_cannot_be_read_are_refused(text):
    with pytest.raises(RowError):
        parse_price(text)


def test_a_large_feed_is_written_in_bulk(app, tmp_path):
    path = tmp_path / "big.csv"
    rows = ["sku,title,category,product_type,price,url,tags"]
    rows += [f"S{i},Produkt {i},hund,futter,{i % 90 + 1},https://zoo.example/{i},a;b{i % 7}"
             for i in range(3000)]
    path.write_text("\n".join(rows), encoding="utf-8")
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda *a: statements.append(a[2]))
        report = import_catalog(db.session, path)
        db.session.commit()
        assert report.created == 3000
        assert db.session.scalar(select(func.count()).select_from(ProductTag)) == 6000
    # A handful of executemany statements per 500 rows, not one INSERT per product.
    assert len(statements) < 60


# --- the shared reader: what recipient lists survive, catalogs survive too -------------------

PLAIN_HEADER = "sku;title;price;url\n"


def test_an_unclosed_quote_names_its_row_and_keeps_the_rows_below(app, runner, tmp_path):
    """The quote in row 3 would have taken rows 4 and 5 into one title ("skipped: no price",
    the swallowed products never named): its row is refused and the rows below read."""
    path = tmp_path / "artikel.csv"
    path.write_text(PLAIN_HEADER + "A-1;Napf;9,99;https://zoo.example/a-1\n"
                    '"A-2;Leine;5,00;https://zoo.example/a-2\n'
                    "A-3;Ball;2,50;https://zoo.example/a-3\n"
                    "A-4;Bürste;7,00;https://zoo.example/a-4\n", encoding="utf-8")
    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert f'{path}:3: skipped: a quote (") opened in this row is never closed' in result.output
    assert set(products(app)) == {"A-1", "A-3", "A-4"}
    assert "created 3, updated 0, unchanged 0, marked unavailable 0, skipped 1" in result.output


def test_catalog_encodings_and_workbooks_read_like_recipient_lists(app, runner, tmp_path):
    from tests.sheets import write_excel

    rows = [["sku", "title", "price", "url"], ["U-1", "Körbchen groß", "19,90",
                                               "https://zoo.example/u-1"]]
    utf16 = tmp_path / "unicode.txt"
    utf16.write_bytes("\n".join("\t".join(r) for r in rows).encode("utf-16"))
    broken = tmp_path / "kaputt.csv"  # UTF-8 with one byte from elsewhere: that row only
    broken.write_bytes(PLAIN_HEADER.encode() + "U-2;Spielzeug für Katzen;3,00;"
                       "https://zoo.example/u-2\nU-3;N\xe4pfe;4,00;https://zoo.example/u-3\n"
                       .encode().replace(b"\xc3\xa4", b"\xe4"))
    book = write_excel(tmp_path / "artikel.xlsx", [
        ["sku", "title", "price", "url", "Gewicht"],
        ["X-1", "Transportbox Größe M", 49.9, "https://zoo.example/x-1", 2.5]])
    outputs = []
    for path in (utf16, broken, book):
        result = run_import(runner, path)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert f"{broken}:3: skipped: holds bytes that are not UTF-8 text" in outputs[1]
    stored = products(app)
    assert {sku: p.title for sku, p in stored.items()} == {
        "U-1": "Körbchen groß", "U-2": "Spielzeug für Katzen", "X-1": "Transportbox Größe M"}
    assert (stored["X-1"].price, stored["X-1"].attributes) == (
        Decimal("49.90"), {"gewicht": "2.5"})


def test_broken_bytes_and_huge_fields_refuse_their_row_not_the_file(app, runner, tmp_path):
    path = tmp_path / "artikel.csv"
    path.write_bytes(PLAIN_HEADER.encode() + b"B-1;N\xe4pfe;4,00;https://zoo.example/b-1\n"
                     + "B-2;Näpfe;4,00;https://zoo.example/b-2\n".encode()
                     + b"B-3;" + b"x" * 200_000 + b";4,00;https://zoo.example/b-3\n"
                     + b"B-4;" + b"y" * (1 << 20) + b";4,00;https://zoo.example/b-4\n"
                     + b"B-5;Ball;1,00;https://zoo.example/b-5\n")
    result = run_import(runner, path)
    assert result.exit_code == 0, result.output
    assert f"{path}:2: skipped: holds bytes that are not UTF-8 text" in result.output
    assert f"{path}:4: skipped: title " in result.output  # 200,000 characters: too long a title
    assert f"{path}:5: skipped: is longer than 1 MB" in result.output
    assert set(products(app)) == {"B-2", "B-5"}


def test_a_file_that_is_no_table_says_what_to_do(app, runner, tmp_path):
    path = tmp_path / "artikel.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 20)
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "save it as CSV UTF-8 or .xlsx" in result.output
