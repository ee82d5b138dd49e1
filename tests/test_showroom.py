"""The personal showroom: answers become catalog filters, preferences become order."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select

from purl.extensions import db
from purl.models import Event, Product
from purl.quiz.definition import load_quiz_file
from purl.quiz.logic import preferences
from purl.showroom.logic import recommend, with_utm

from .test_quiz import answer

QUIZ = load_quiz_file(Path(__file__).resolve().parent.parent / "quizzes" / "zoohandlung.yaml")


def picks_for(app, answers: dict, limit: int = 500):  # noqa: ANN001, ANN201
    with app.app_context():
        return recommend(db.session, preferences(QUIZ, answers), limit=limit)


def test_a_dog_owner_never_sees_cat_products(app, demo):
    picks = picks_for(app, {"tier": "hund", "bedarf": ["futter", "snacks", "spielzeug",
                                                       "pflege", "zubehoer"], "budget": "egal"})
    assert len(picks) >= 30
    assert {p.category for p in picks} == {"hund"}


def test_a_budget_answer_caps_prices(app, demo):
    picks = picks_for(app, {"tier": "katze", "bedarf": ["futter", "zubehoer"], "budget": "bis-20"})
    assert picks
    assert max(p.price for p in picks) <= 20
    with app.app_context():  # the cap removed something real
        dearer = db.session.scalar(select(func.count()).where(
            Product.category == "katze", Product.price > 20))
    assert dearer > 0


def test_a_preference_changes_the_order_not_the_set(app, demo):
    base = {"tier": "hund", "bedarf": ["futter"], "budget": "egal"}
    natural = picks_for(app, {**base, "wichtig": "natur"})
    premium = picks_for(app, {**base, "wichtig": "premium"})
    assert {p.sku for p in natural} == {p.sku for p in premium}
    assert [p.sku for p in natural] != [p.sku for p in premium]
    assert "bio" in natural[0].tags
    assert "premium" in premium[0].tags
    assert "Bio & nachhaltig" in natural[0].reasons


def test_unavailable_products_are_never_shown(app, demo):
    with app.app_context():
        product = db.session.scalar(select(Product).where(
            Product.category == "hund", Product.available.is_(True)))
        product.available = False
        db.session.commit()
        sku = product.sku
    picks = picks_for(app, {"tier": "hund"})
    assert sku not in {p.sku for p in picks}


def _finish(client, demo, name="Anna", tier="hund"):  # noqa: ANN001, ANN202
    base = demo.path(name, "/quiz/")
    answer(client, base + "tier", tier)
    if tier == "hund":  # the quiz asks dog owners their dog's age
        answer(client, base + "alter", "erwachsen")
    answer(client, base + "bedarf", "futter", "snacks")
    answer(client, base + "budget", "bis-50")
    answer(client, base + "wichtig", "natur")


def test_showroom_page_lists_matching_products_with_prices_and_reasons(client, demo):
    _finish(client, demo)
    response = client.get(demo.path("Anna", "/showroom"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Liebe Anna," in html
    assert "Für dich ausgesucht" in html
    assert " €" in html and "Passt zu: Hund" in html
    assert "Katze ·" not in html and "katze-" not in html
    # Chips lead back to one question each.
    assert demo.path("Anna", "/quiz/budget") in html
    assert response.headers["Cache-Control"] == "private, no-store"


def test_showroom_before_the_quiz_sends_the_shopper_to_it(client, demo):
    r = client.get(demo.path("Anna", "/showroom"))
    assert r.status_code == 303 and r.location.endswith("/quiz/")


def test_click_goes_to_the_catalog_url_with_utm_and_is_counted(app, client, demo):
    _finish(client, demo)
    with app.app_context():
        product = db.session.scalar(select(Product).where(Product.category == "hund"))
        product_id, url = product.id, product.url
    r = client.get(demo.path("Anna", f"/go/{product_id}?next=https://evil.example/"))
    assert r.status_code == 302
    target = urlsplit(r.location)
    assert r.location.startswith(url)
    assert "evil" not in r.location
    assert parse_qs(target.query)["utm_campaign"] == ["winter-2026"]
    assert parse_qs(target.query)["utm_medium"] == ["email"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(Event.kind == "product_click")) == 1
    assert client.get(demo.path("Anna", "/go/999999")).status_code == 404


def test_utm_parameters_keep_the_shops_own_query():
    class Camp:
        utm_source, utm_medium, utm_campaign, slug = "nl", "email", None, "herbst"

    url = with_utm("https://shop.example/p/1?variant=2&utm_source=shop", Camp())
    query = parse_qs(urlsplit(url).query)
    assert query == {"variant": ["2"], "utm_source": ["shop"], "utm_medium": ["email"],
                     "utm_campaign": ["herbst"]}
