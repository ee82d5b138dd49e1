"""Matching: each answer is its own constraint (AND across questions, OR within one answer),
exclusions, filters on product attributes with numeric bounds, and which answer gives way.

The catalog is a lighting shop's: downlights by protection class and colour temperature (tags
``ip20``/``ip44``/``ip65``, ``2700k``/``3000k``/``4000k``) with a wattage written the way feeds
write it (5, "7,5", "10 W") and a material.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal

import pytest

from purl.catalog.recommend import recommend_showroom
from purl.catalog.store import upsert_products
from purl.extensions import db
from purl.quiz.flow import preferences
from purl.quiz.format import parse_quiz
from tests.conftest import answer

PROTECTION = ("ip20", "ip44", "ip65")
KELVIN = ("2700k", "3000k", "4000k")
WATTS = (5, "7,5", "10 W")
WATT_NUMBERS = {5: Decimal(5), "7,5": Decimal("7.5"), "10 W": Decimal(10)}

LIGHTING_QUIZ = """
slug: licht
title: Finde deine Leuchte
questions:
  - id: feucht
    type: yesno
    text: Kommt die Leuchte in einen feuchten Raum (Bad, Außen)?
    options:
      - {value: yes, reason: Feuchtraum, filter: {tags: [ip44, ip65]}}
      - {value: no, reason: Trockener Raum}
  - id: licht
    text: Welches Licht magst du?
    options:
      - {value: warm, label: Warmweiß, filter: {tags: [2700k, 3000k]}}
      - {value: neutral, label: Neutralweiß, filter: {tags: 4000k}}
  - id: material
    required: false
    match: nice
    text: Ein Material, das du nicht möchtest?
    options:
      - {value: egal, label: Egal}
      - value: kein-kunststoff
        label: Kein Kunststoff
        exclude: {attributes: {material: Kunststoff}}
  - id: watt
    type: range
    required: false
    min: 1
    max: 20
    unit: W
    maps_to: {attribute: watt, bound: max}
    text: Wie viel Watt darf sie höchstens haben?
"""


def _products() -> list[dict]:
    rows = []
    for ip, kelvin, watt in itertools.product(PROTECTION, KELVIN, WATTS):
        sku = f"dl-{ip}-{kelvin}-{re.sub(r'[^0-9]', '', str(watt))}"
        rows.append({
            "sku": sku, "title": f"Downlight {ip.upper()} {kelvin} {watt}",
            "category": "downlights", "product_type": "einbau", "price": Decimal("29.90"),
            "url": f"https://licht.example/{sku}", "currency": "EUR", "available": True,
            "tags": [ip, kelvin],
            "attributes": {"Watt": watt,
                           "material": "Kunststoff" if kelvin == "3000k" else "Aluminium"},
        })
    return rows


CATALOG = _products()


def expected(ips: set[str], kelvins: set[str], watt_max: Decimal | None = None,
             no_plastic: bool = False) -> set[str]:
    return {p["sku"] for p in CATALOG
            if p["tags"][0] in ips and p["tags"][1] in kelvins
            and (watt_max is None or WATT_NUMBERS[p["attributes"]["Watt"]] <= watt_max)
            and not (no_plastic and p["attributes"]["material"] == "Kunststoff")}


@pytest.fixture
def lighting(app):  # noqa: ANN001, ANN201
    with app.app_context():
        upsert_products(db.session, CATALOG)
        db.session.commit()
    return parse_quiz(LIGHTING_QUIZ, "licht.yaml")


def room(app, quiz, answers: dict):  # noqa: ANN001, ANN201
    with app.app_context():
        return recommend_showroom(db.session, preferences(quiz, answers), None, 500)


def test_two_tag_answers_both_hold_not_cancel_each_other(app, lighting):
    """The lighting case: "damp room" (ip44 or ip65) and "warm light" (2700k or 3000k) do
    not intersect to nothing and show everything; the products meet both answers."""
    shown = room(app, lighting, {"feucht": "yes", "licht": "warm"})
    assert {p.sku for p in shown.picks} == expected({"ip44", "ip65"}, {"2700k", "3000k"})
    assert shown.relaxed == ()
    assert shown.personal_total == 12 < len(CATALOG)
    assert all({"Feuchtraum", "Warmweiß"} <= set(p.reasons) for p in shown.picks)
    # An answer without a filter ("no") leaves that question open.
    dry = room(app, lighting, {"feucht": "no", "licht": "neutral"})
    assert {p.sku for p in dry.picks} == expected(set(PROTECTION), {"4000k"})


def test_a_numeric_attribute_bound_reads_numbers_as_feeds_write_them(app, lighting):
    shown = room(app, lighting, {"feucht": "yes", "licht": "warm", "watt": 8})
    assert {p.sku for p in shown.picks} == expected({"ip44", "ip65"}, {"2700k", "3000k"},
                                                    watt_max=Decimal(8))
    assert len(shown.picks) == 8 and shown.relaxed == ()
    assert all("bis 8 W" in p.reasons for p in shown.picks)


def test_an_exclusion_leaves_out_what_it_names(app, lighting):
    shown = room(app, lighting, {"feucht": "yes", "licht": "warm",
                                 "material": "kein-kunststoff"})
    assert {p.sku for p in shown.picks} == expected({"ip44", "ip65"}, {"2700k", "3000k"},
                                                    no_plastic=True)
    assert len(shown.picks) == 6
    assert all("3000k" not in p.tags for p in shown.picks)


def test_a_nice_to_have_gives_way_first_and_the_showroom_says_which(app, lighting):
    # Damp, warm, no plastic, at most 5 W: two products, too few for a showroom.
    answers = {"feucht": "yes", "licht": "warm", "material": "kein-kunststoff", "watt": 5}
    shown = room(app, lighting, answers)
    # The "nice" answer first, then a tag answer (the later question first): six are left.
    assert shown.relaxed == ("Kein Kunststoff", "Warmweiß")
    assert {p.sku for p in shown.picks} == expected({"ip44", "ip65"}, set(KELVIN),
                                                    watt_max=Decimal(5))


def test_a_must_never_gives_way(app, lighting):
    strict = parse_quiz(LIGHTING_QUIZ.replace("  - id: licht\n",
                                              "  - id: licht\n    match: must\n"), "x.yaml")
    shown = room(app, strict, {"feucht": "yes", "licht": "warm", "watt": 5})
    assert shown.relaxed == ("Feuchtraum",)
    assert {p.sku for p in shown.picks} == expected(set(PROTECTION), {"2700k", "3000k"},
                                                    watt_max=Decimal(5))
    # With nothing else left to loosen, the must still holds, however few remain.
    stricter = parse_quiz(LIGHTING_QUIZ.replace("  - id: licht\n", "  - id: licht\n"
                                                "    match: must\n").replace(
        "  - id: feucht\n", "  - id: feucht\n    match: must\n"), "y.yaml")
    few = room(app, stricter, {"feucht": "yes", "licht": "warm", "watt": 5})
    assert few.relaxed == ("bis 5 W",)
    assert {p.sku for p in few.picks} == expected({"ip44", "ip65"}, {"2700k", "3000k"})


def test_the_showroom_page_holds_exactly_the_matching_products(make_app, tmp_path, lighting):  # noqa: ANN001
    from purl.quiz import versions

    (tmp_path / "licht.yaml").write_text(LIGHTING_QUIZ, encoding="utf-8")
    app = make_app()
    with app.app_context():  # shoppers get published versions from the database
        versions.import_files(db.session, [tmp_path / "licht.yaml"], publish=True)
        db.session.commit()
    client = app.test_client()
    assert client.get("/q/licht").status_code == 200
    answer(client, "/q/licht/quiz/feucht", "yes")
    answer(client, "/q/licht/quiz/licht", "warm")
    answer(client, "/q/licht/quiz/material", "egal")
    answer(client, "/q/licht/quiz/watt", "8")
    html = client.get("/q/licht/showroom").get_data(as_text=True)
    titles = set(re.findall(r'<span class="product-title">([^<]+)</span>', html))
    want = expected({"ip44", "ip65"}, {"2700k", "3000k"}, watt_max=Decimal(8))
    assert titles == {p["title"] for p in CATALOG if p["sku"] in want}
