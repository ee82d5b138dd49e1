"""The demo shop loads completely, and loading it again changes nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from purl.extensions import db
from purl.models import Campaign, Product, ProductTag, Recipient, User


def counts(app) -> dict:  # noqa: ANN001
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Product, ProductTag, Campaign, Recipient, User)
        }


def test_demo_load_is_idempotent(app, runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    before = counts(app)
    with app.app_context():
        links = sorted(db.session.scalars(select(Recipient.code)))
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "0 products added, 0 updated" in second.output
    assert counts(app) == before
    with app.app_context():
        assert sorted(db.session.scalars(select(Recipient.code))) == links


def test_demo_shop_has_a_real_catalog(app, runner):
    runner.invoke(args=["demo", "load"])
    with app.app_context():
        per_category = dict(db.session.execute(
            select(Product.category, func.count()).group_by(Product.category)).all())
        names = set(db.session.scalars(select(Recipient.last_name)))
    assert sum(per_category.values()) >= 150
    assert set(per_category) == {"hund", "katze", "kleintier", "aquaristik",
                                 "espresso", "filter"}  # the coffee roaster's own
    assert per_category["espresso"] + per_category["filter"] >= 25
    assert {"Müller", "Şahin", "Weiß"} <= names


def test_demo_load_prints_purls_a_code_and_the_console_login(runner, client):
    output = runner.invoke(args=["demo", "load"]).output
    assert output.count("http://localhost/p/") == 5
    assert "Liebe Anna," in output
    assert "demo@purl.example" in output
    # A code to type, as from a printed letter; it leads to that recipient's page.
    typed = re.search(r"http://localhost(/c/[0-9A-Z-]{16}) ", output).group(1)
    page = client.get(typed.lower(), follow_redirects=True)
    assert page.status_code == 200 and "Liebe Anna," in page.get_data(as_text=True)
