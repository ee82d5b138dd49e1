"""Several shops in one install: each catalog is its own, with its own SKUs, and a quiz
draws only from the catalog it names."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from purl.catalog import catalogs, recommend
from purl.catalog.picker import catalog_facts
from purl.catalog.recommend import catalog_version, recommend_showroom
from purl.catalog.store import upsert_products
from purl.extensions import db
from purl.models import Catalog, Product
from purl.quiz import versions
from purl.quiz.flow import preferences
from purl.quiz.format import QuizError, parse_quiz
from tests.conftest import answer, finish_coffee

QUIZ = """
slug: kaffee-b
catalog: roestwerk
title: Kaffee
questions:
  - id: art
    text: Was trinkst du?
    options:
      - {value: alles, label: Alles}
      - {value: bohnen, label: Bohnen}
"""


def _product(sku: str, title: str, category: str) -> dict:
    return {"sku": sku, "title": title, "price": "9.90", "category": category,
            "product_type": "", "tags": [],
            "url": f"https://shop.example/{sku}"}


def _by_catalog(app) -> dict[str, set[tuple[str, str]]]:  # noqa: ANN001
    with app.app_context():
        rows = db.session.execute(select(Catalog.name, Product.sku, Product.title)
                                  .join(Product, Product.catalog_id == Catalog.id))
        found: dict[str, set[tuple[str, str]]] = {}
        for name, sku, title in rows:
            found.setdefault(name, set()).add((sku, title))
        return found


def test_the_same_sku_in_two_catalogs_is_two_products(app) -> None:  # noqa: ANN001
    with app.app_context():
        upsert_products(db.session, [_product("A-1", "Hundefutter", "Hund")])
        coffee = catalogs.named(db.session, "roestwerk")
        assert upsert_products(db.session, [_product("A-1", "Espresso", "Kaffee")],
                               coffee) == (1, 0)
        # Importing into one changes nothing of the other.
        assert upsert_products(db.session, [_product("A-1", "Espresso forte", "Kaffee")],
                               coffee) == (0, 1)
        db.session.commit()
    assert _by_catalog(app) == {"default": {("A-1", "Hundefutter")},
                                "roestwerk": {("A-1", "Espresso forte")}}


def test_a_quiz_on_one_catalog_shows_none_of_the_others(app) -> None:  # noqa: ANN001
    quiz = parse_quiz(QUIZ, "kaffee-b.yaml")
    assert quiz.catalog == "roestwerk"
    with app.app_context():
        upsert_products(db.session, [_product(f"P-{n}", f"Futter {n}", "Hund")
                                     for n in range(30)])
        upsert_products(db.session, [_product("K-1", "Espresso", "Kaffee"),
                                     _product("K-2", "Filterkaffee", "Kaffee")],
                        catalogs.named(db.session, "roestwerk"))
        db.session.commit()
        room = recommend_showroom(db.session, preferences(quiz, {"art": "alles"}),
                                  catalog=quiz.catalog)
        assert sorted(p.sku for p in room.picks) == ["K-1", "K-2"]
        assert room.total == 2
        # What the builder counts is the quiz's catalog's too.
        assert catalog_facts(db.session, "roestwerk").products == 2
        assert catalog_facts(db.session).products == 30


def test_the_roasters_showroom_and_links_stay_in_its_catalog(client, demo, app) -> None:  # noqa: ANN001
    finish_coffee(client)
    page = client.get("/q/roestwerk/showroom").get_data(as_text=True)
    with app.app_context():
        pets = {p.title for p in db.session.scalars(
            select(Product).where(Product.catalog_id == catalogs.named(
                db.session, "default").id))}
        pet_id = db.session.scalar(select(Product.id).where(
            Product.catalog_id == catalogs.named(db.session, "default").id))
        coffee_id = db.session.scalar(select(Product.id).where(
            Product.catalog_id == catalogs.named(db.session, "roestwerk").id,
            Product.available.is_(True)))
    assert "Kaffee" in page or "Espresso" in page
    assert pets and not any(title in page for title in pets)
    # A product link names a product by id: another shop's product is not followed.
    assert client.get(f"/q/roestwerk/go/{pet_id}").status_code == 404
    assert client.get(f"/q/roestwerk/go/{coffee_id}").status_code == 302


def test_a_quiz_naming_a_catalog_there_is_not_is_refused_in_german(app) -> None:  # noqa: ANN001
    text = QUIZ.replace("catalog: roestwerk", "catalog: teeladen")
    with app.app_context(), pytest.raises(QuizError) as refused:
        versions.import_quiz(db.session, text, "kaffee-b.yaml")
    problem = refused.value.problems[0]
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("de"):
        message = problem.render(gettext)
    assert message == ("Katalog 'teeladen' gibt es nicht (die Kataloge: default, roestwerk)")


def test_catalog_import_names_its_catalog_and_list_shows_each(app, runner,  # noqa: ANN001
                                                              tmp_path: Path) -> None:
    feed = tmp_path / "tee.csv"
    feed.write_text("sku,title,price,url\nT-1,Grüner Tee,4.50,https://tee.example/t-1\n"
                    "T-2,Schwarzer Tee,5.00,https://tee.example/t-2\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(feed), "--catalog", "teeladen"])
    assert result.exit_code == 0, result.output
    assert "created 2" in result.output
    listed = runner.invoke(args=["catalog", "list"])
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert any(line.split()[:1] == ["teeladen"] and "2" in line for line in lines), lines
    bad = runner.invoke(args=["catalog", "import", str(feed), "--catalog", "Tee Laden"])
    assert bad.exit_code != 0 and "Tee Laden" in bad.output
    assert set(_by_catalog(app)) == {"teeladen"}


LIGHT_QUIZ = """
slug: licht
catalog: licht
public: true
title: Licht
questions:
  - id: raum
    text: Für welchen Raum?
    options:
      - {value: bad, label: Bad}
      - {value: wohnen, label: Wohnzimmer}
"""


def test_the_showroom_names_types_and_tags_as_the_shops_file_writes_them(
        app, client, runner, tmp_path: Path) -> None:  # noqa: ANN001
    feed = tmp_path / "licht.csv"
    rows = ["sku,title,price,url,Produktart,Tags"]
    rows += [f'L-{n},Leuchte {n},{20 + n},https://licht.example/{n},'
             f'{"LED-Downlights Cube" if n % 2 else "Wand & Decke"},"IP44, Dimmbar"'
             for n in range(8)]
    feed.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(args=["catalog", "import", str(feed), "--catalog", "licht"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        labels = catalogs.named(db.session, "licht").labels
        versions.import_quiz(db.session, LIGHT_QUIZ, "licht.yaml", publish=True)
        db.session.commit()
    assert labels["product_type"] == {"led-downlights-cube": "LED-Downlights Cube",
                                      "wand-decke": "Wand & Decke"}
    assert labels["tags"] == {"ip44": "IP44", "dimmbar": "Dimmbar"}
    assert answer(client, "/q/licht/quiz/raum", "bad").status_code == 303
    html = client.get("/q/licht/showroom").get_data(as_text=True)
    assert "LED-Downlights Cube" in html and "Wand &amp; Decke" in html
    assert "IP44" in html and "Dimmbar" in html
    assert "Led downlights cube" not in html and "Ip44" not in html


def test_a_worker_trusts_the_catalog_version_it_heard_for_max_age_seconds(app):
    """The showroom's cache key asks for the catalog version at most once a second per worker
    (PURL_CATALOG_VERSION_SECONDS): an import shows within that, never later."""
    recommend._versions.clear()
    now = [1000.0]
    with app.app_context():
        heard = catalog_version(db.session, "default", 1.0, lambda: now[0])
        upsert_products(db.session, [{"sku": "neu-1", "title": "Neu", "category": "hund",
                                      "product_type": "futter", "price": "1.00",
                                      "url": "https://shop.example/neu-1"}])
        db.session.commit()
        now[0] += 0.5  # within the second: what this worker heard
        assert catalog_version(db.session, "default", 1.0, lambda: now[0]) == heard
        assert catalog_version(db.session, "default") != heard  # max_age 0 always asks
        now[0] += 0.6  # the second is over: asked again, the import shows
        fresh = catalog_version(db.session, "default", 1.0, lambda: now[0])
        assert fresh != heard and fresh == catalog_version(db.session, "default")
    recommend._versions.clear()
