"""A campaign's showroom as its marketer curates it in the console: heading and introduction
in du, Sie and English, pinned and excluded products, products per page; and what the
campaign's shoppers then see."""

from __future__ import annotations

import re

from sqlalchemy import select

from purl.catalog.store import upsert_products
from purl.extensions import db
from purl.models import Campaign, Product
from tests.conftest import answer, csrf_token

PAGE = "/console/campaigns/winter-2026/showroom"


def _finish(client, path: str) -> None:  # noqa: ANN001
    base = path + "/quiz/"
    answer(client, base + "tier", "hund")
    answer(client, base + "alter", "erwachsen")
    answer(client, base + "bedarf", "futter", "snacks")
    answer(client, base + "budget", "bis-50")
    answer(client, base + "wichtig", "natur")


def _shown(app, html: str) -> list[str]:  # noqa: ANN001
    """The SKUs of the showroom's products, in the order shown."""
    ids = [int(i) for i in re.findall(r'class="product-link" href="go/(\d+)', html)]
    with app.app_context():
        skus = dict(db.session.execute(select(Product.id, Product.sku)
                                       .where(Product.id.in_(ids))).all())
    return [skus[i] for i in ids]


def _save(console, **fields: str):  # noqa: ANN001, ANN003, ANN202
    token = csrf_token(console.get(PAGE).get_data(as_text=True))
    data = {"heading_de": "", "heading_de_sie": "", "heading_en": "", "intro_de": "",
            "intro_de_sie": "", "intro_en": "", "pinned": "", "pin_mode": "fit",
            "excluded": "", "per_page": "24", **fields}
    return console.post(PAGE, data={"csrf_token": token, **data})


def test_pins_exclusions_heading_and_page_size_reach_the_shopper(console, demo) -> None:  # noqa: ANN001
    app = console.application
    with app.app_context():  # more than two pages of what Anna's answers select
        upsert_products(db.session, [
            {"sku": f"mehr-{n}", "title": f"Hundefutter Nr. {n}", "category": "hund",
             "product_type": "futter", "price": "9.99", "url": f"https://shop.example/m{n}",
             "tags": ["natur"]} for n in range(40)])
        db.session.commit()
    shopper = app.test_client()
    _finish(shopper, demo.path("Anna"))
    showroom = demo.path("Anna", "/showroom")
    before = _shown(app, shopper.get(showroom).get_data(as_text=True))
    assert len(before) == 24
    pins, gone = [before[7], before[5], before[6]], before[0]

    page = console.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Angeheftete Produkte" in html and "Katalog default" in html
    saved = _save(console, pinned="\n".join(pins), excluded=gone, per_page="12",
                  heading_de="Dein Winter-Vorrat", heading_de_sie="Ihr Winter-Vorrat",
                  intro_de="Drei Lieblinge zuerst.")
    assert saved.status_code == 303 and saved.location.endswith(PAGE)
    assert "\n".join(pins) in console.get(PAGE).get_data(as_text=True)

    page = shopper.get(showroom).get_data(as_text=True)
    after = _shown(app, page)
    assert after[:3] == pins and gone not in after and len(after) == 12
    assert '<h1 id="showroom-title">Dein Winter-Vorrat</h1>' in page
    assert '<p class="lead">Drei Lieblinge zuerst.</p>' in page
    assert "Für dich ausgesucht" not in page
    # "Show more" pages by the campaign's size, and the excluded product never comes.
    more = _shown(app, shopper.get(showroom + "?pages=2").get_data(as_text=True))
    assert len(more) == 24 and more[:3] == pins and gone not in more
    # A Sie campaign reads the Sie heading.
    with app.app_context():
        db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026")).tone = "sie"
        db.session.commit()
    sie = shopper.get(showroom).get_data(as_text=True)
    assert '<h1 id="showroom-title">Ihr Winter-Vorrat</h1>' in sie
    # The form shows what was saved, each text in its field.
    form = console.get(PAGE).get_data(as_text=True)
    assert "\nIhr Winter-Vorrat</textarea>" in form
    assert "\nDein Winter-Vorrat</textarea>" in form


def test_a_pin_that_does_not_fit_comes_first_only_when_pinned_always(console, demo) -> None:  # noqa: ANN001
    app = console.application
    with app.app_context():
        cat_food = db.session.scalar(select(Product.sku).where(
            Product.category == "katze", Product.available.is_(True)))
    shopper = app.test_client()
    _finish(shopper, demo.path("Anna"))
    showroom = demo.path("Anna", "/showroom")
    assert _save(console, pinned=cat_food).status_code == 303
    assert cat_food not in _shown(app, shopper.get(showroom).get_data(as_text=True))
    assert _save(console, pinned=cat_food, pin_mode="always").status_code == 303
    assert _shown(app, shopper.get(showroom).get_data(as_text=True))[0] == cat_food


def test_skus_the_catalog_lacks_are_refused_by_name_and_nothing_changes(console, demo) -> None:  # noqa: ANN001
    app = console.application
    refused = _save(console, pinned="GIBT-ES-NICHT\nAUCH-NICHT", heading_de="Neu")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert ("Der Katalog default hat kein Produkt mit der Artikelnummer GIBT-ES-NICHT, "
            "AUCH-NICHT.") in html
    with app.app_context():
        sku = db.session.scalar(select(Product.sku).where(Product.available.is_(True)))
        stored = db.session.scalar(select(Campaign.showroom).where(
            Campaign.slug == "winter-2026"))
    assert stored == {}
    both = _save(console, pinned=sku, excluded=sku)
    assert both.status_code == 422
    assert f"Zugleich angeheftet und ausgeschlossen: {sku}" in both.get_data(as_text=True)
    too_many = _save(console, pinned="\n".join(f"X-{n}" for n in range(60)))
    assert too_many.status_code == 422 and "Höchstens 50 Produkte." in too_many.get_data(
        as_text=True)


def test_a_public_quizs_showroom_is_its_visitor_campaigns(console, demo) -> None:  # noqa: ANN001
    """The showroom builder of a public quiz: the quiz's visitor campaign's Showroom tab,
    which says so; a shopper without a link then gets its pins, heading and offer."""
    app = console.application
    page = "/console/campaigns/zoohandlung-web/showroom"
    visitor = app.test_client()
    _finish(visitor, "/q/zoohandlung")
    before = _shown(app, visitor.get("/q/zoohandlung/showroom").get_data(as_text=True))
    pinned = before[4]
    html = console.get(page).get_data(as_text=True)
    assert "öffentlichen Quiz /q/zoohandlung" in html
    token = csrf_token(html)
    saved = console.post(page, data={
        "csrf_token": token, "heading_de": "Für Hundefreunde ohne Link", "heading_de_sie": "",
        "heading_en": "", "intro_de": "", "intro_de_sie": "", "intro_en": "",
        "pinned": pinned, "pin_mode": "fit", "excluded": before[0], "per_page": "12"})
    assert saved.status_code == 303
    with app.app_context():
        db.session.scalar(select(Campaign).where(Campaign.slug == "zoohandlung-web")
                          ).offer_code = "WEB5"
        db.session.commit()
    room = visitor.get("/q/zoohandlung/showroom").get_data(as_text=True)
    shown = _shown(app, room)
    assert shown[0] == pinned and before[0] not in shown and len(shown) == len(before) - 1
    assert '<h1 id="showroom-title">Für Hundefreunde ohne Link</h1>' in room
    assert "<strong>WEB5</strong>" in room
    # A personal link of another campaign keeps its own showroom.
    _finish(visitor, demo.path("Anna"))
    anna = visitor.get(demo.path("Anna", "/showroom")).get_data(as_text=True)
    assert "Für Hundefreunde ohne Link" not in anna and "WEB5" not in anna


def test_content_blocks_of_the_campaign_for_everyone_or_after_an_answer(console, demo) -> None:  # noqa: ANN001
    app = console.application
    refused = _save(console, block1_title_de="Hundeschule", block1_question="tier",
                    block1_values="hamster")
    assert refused.status_code == 422
    assert "Die Frage hat keine Antwort „hamster“" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Campaign.showroom).where(
            Campaign.slug == "winter-2026")) in ({}, None)
    saved = _save(console, block1_title_de="Versand frei", block1_body_de="Ab 30 € liefern "
                  "wir kostenlos.", block2_title_de="Unsere Hundeschule",
                  block2_body_de="Jeden Samstag im Laden.", block2_question="tier",
                  block2_values="hund")
    assert saved.status_code == 303
    page = console.get(PAGE).get_data(as_text=True)
    assert "Unsere Hundeschule" in page and 'value="hund"' in page

    dog, cat = app.test_client(), app.test_client()
    _finish(dog, demo.path("Anna"))
    room = dog.get(demo.path("Anna", "/showroom")).get_data(as_text=True)
    titles = re.findall(r'<article class="card content-block">\s*<h2>([^<]+)</h2>', room)
    assert titles[:2] == ["Versand frei", "Unsere Hundeschule"]
    answer(cat, demo.path("Jürgen", "/quiz/tier"), "katze")
    for question, value in (("bedarf", "futter"), ("budget", "bis-50"), ("wichtig", "natur")):
        answer(cat, demo.path("Jürgen", f"/quiz/{question}"), value)
    room = cat.get(demo.path("Jürgen", "/showroom")).get_data(as_text=True)
    assert "Versand frei" in room and "Unsere Hundeschule" not in room
