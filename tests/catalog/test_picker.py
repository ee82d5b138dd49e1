"""The quiz builder's catalog picker: what the catalog holds with its counts, and what one
answer leaves of it, counted on the picker's index; held to the showroom's own candidate
query for the same answer, so the count a marketer sees is what shoppers get."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from sqlalchemy import update

from purl.catalog import picker
from purl.catalog.criteria import Alternative, Constraint
from purl.catalog.recommend import _allowed, _load
from purl.catalog.store import upsert_products
from purl.extensions import db
from purl.models import Product
from purl.quiz.format import parse_quiz

WATTS = (5, "7,5", "10 W", None)
MATERIALS = ("Kunststoff", "Aluminium", ["Glas", "Metall"])


def _catalog() -> list[dict]:
    rows = []
    for n, (ip, watt, material, price) in enumerate(itertools.product(
            ("ip20", "ip44", "ip65"), WATTS, MATERIALS, (Decimal("19.90"), None,
                                                         Decimal("49.00")))):
        attributes = {"material": material}
        if watt is not None:
            attributes["Watt" if n % 2 else "watt"] = watt  # feeds differ in case
        rows.append({
            "sku": f"p-{n}", "title": f"Leuchte {n:03d}", "url": f"https://x.example/{n}",
            "category": "bad" if n % 3 else "wohnen", "product_type": ["einbau", "aufbau"][n % 2],
            "price": price, "currency": "EUR", "available": True, "tags": [ip, f"t{n % 4}"],
            "attributes": attributes,
        })
    return rows


@pytest.fixture
def catalog(app):  # noqa: ANN001, ANN201
    with app.app_context():
        upsert_products(db.session, _catalog())
        # One product is out of stock: neither counted nor offered.
        db.session.execute(update(Product).where(Product.sku == "p-0").values(available=False))
        db.session.commit()


# Options as a quiz file writes them; the format builds what the showroom reads.
OPTIONS = """
slug: picker
questions:
  - id: q
    text: Test
    options:
      - {value: a, label: A, filter: {category: bad}}
      - {value: b, label: B, filter: {tags: [ip44, ip65], product_type: einbau}}
      - {value: c, label: C, filter: {price_max: 20}}
      - {value: d, label: D, filter: {price_min: 20, price_max: 50}}
      - {value: e, label: E, filter: {attributes: {watt: {max: 7.5}}}}
      - {value: f, label: F, filter: {attributes: {watt: {min: 6}}}, exclude: {tags: t1}}
      - {value: g, label: G, exclude: {attributes: {material: kunststoff}}}
      - {value: h, label: H, filter: {attributes: {material: [Metall]}}}
      - {value: i, label: I, filter: {category: wohnen}, exclude: {product_type: aufbau}}
      - {value: j, label: J, filter: {category: nirgends}}
      - {value: k, label: K}
"""


def test_an_answer_counts_what_the_showroom_would_find(app, catalog) -> None:  # noqa: ANN001
    (question,) = parse_quiz(OPTIONS, "picker.yaml").questions
    with app.app_context():
        for option in question.options:
            found = picker.option_matches(db.session, option.filter, option.exclude)
            allowed = _allowed(db.session, "default", [Constraint(
                "q", (Alternative("", option.filter, option.exclude),))])
            rows, _ = _load(db.session, allowed.where)
            assert allowed.count == len(rows), option.value
            titles = sorted(row.title for row in rows)
            assert found.count == len(titles), option.value
            assert list(found.sample) == titles[:picker.SAMPLE], option.value
    # Not every answer leaves the same: the test would notice a picker that ignores filters.
    with app.app_context():
        counts = {o.value: picker.option_matches(db.session, o.filter, o.exclude).count
                  for o in question.options}
    assert counts["k"] == len(_catalog()) - 1 and counts["j"] == 0
    assert len(set(counts.values())) >= 8


def test_the_catalog_facts_count_each_value_and_know_numeric_attributes(app, catalog) -> None:  # noqa: ANN001
    rows = [r for r in _catalog() if r["sku"] != "p-0"]
    with app.app_context():
        facts = picker.catalog_facts(db.session)
    assert facts.products == len(rows)
    assert dict(facts.categories) == {
        c: sum(r["category"] == c for r in rows) for c in ("bad", "wohnen")}
    assert dict(facts.tags)["ip44"] == sum("ip44" in r["tags"] for r in rows)
    by_name = {a.name.casefold(): a for a in facts.attributes}
    assert by_name["watt"].numeric and (by_name["watt"].low, by_name["watt"].high) == (5, 10)
    assert by_name["watt"].count == sum(any(k.casefold() == "watt" for k in r["attributes"])
                                        for r in rows)
    assert not by_name["material"].numeric
    assert [a.name.casefold() for a in facts.numeric_attributes()] == ["watt"]


def test_a_new_import_is_seen_at_once(app, catalog) -> None:  # noqa: ANN001
    with app.app_context():
        before = picker.catalog_facts(db.session).products
        upsert_products(db.session, [{**_catalog()[1], "sku": "neu", "title": "Neu"}])
        db.session.commit()
        assert picker.catalog_facts(db.session).products == before + 1
