"""The showroom builder in a real browser, JavaScript on and off: a marketer pins three
products, excludes one and gives the showroom a heading in Sie; a shopper of that (Sie)
campaign then sees the pins first, never the excluded product, and the Sie heading."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from purl.extensions import db
from purl.models import Campaign, Product
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import answer


def _finish(client, demo) -> None:  # noqa: ANN001
    base = demo.path("Anna", "/quiz/")
    answer(client, base + "tier", "hund")
    answer(client, base + "alter", "erwachsen")
    answer(client, base + "bedarf", "futter", "snacks")
    answer(client, base + "budget", "bis-50")
    answer(client, base + "wichtig", "natur")


def _titles(page) -> list[str]:  # noqa: ANN001
    return page.locator(".product-title").all_inner_texts()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_pins_an_exclusion_and_a_sie_heading_reach_the_shopper(
        app, client, demo, live_server, new_page, javascript):  # noqa: ANN001
    _finish(client, demo)
    shopper = new_page(javascript=javascript)
    showroom = live_server + demo.path("Anna", "/showroom")
    shopper.goto(showroom)
    before = _titles(shopper)
    assert len(before) >= 8
    with app.app_context():
        by_title = dict(db.session.execute(select(Product.title, Product.sku)).all())
    pins = [before[6], before[4], before[5]]
    gone = before[0]

    marketer = new_page(javascript=javascript, width=1200, height=900)
    sign_in(marketer, live_server)
    marketer.goto(live_server + "/console/campaigns/winter-2026/showroom")
    marketer.get_by_label("Überschrift, Deutsch (Sie)").fill("Ihre Auswahl für den Winter")
    marketer.get_by_label("Überschrift, Deutsch (du)").fill("Deine Auswahl für den Winter")
    marketer.get_by_label("Angeheftete Produkte").fill("\n".join(by_title[t] for t in pins))
    marketer.get_by_label("Ausgeschlossene Produkte").fill(by_title[gone])
    marketer.get_by_role("button", name="Showroom speichern").click()
    marketer.get_by_text("Showroom gespeichert").wait_for()
    screenshot(marketer, f"console-showroom-{'js' if javascript else 'no-js'}.png")
    assert marketer.get_by_label("Angeheftete Produkte").input_value().splitlines() == [
        by_title[t] for t in pins]
    with app.app_context():  # the campaign addresses its shoppers as Sie
        db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026")).tone = "sie"
        db.session.commit()

    shopper.goto(showroom)
    shown = _titles(shopper)
    assert shown[:3] == pins and gone not in shown
    heading = shopper.get_by_role("heading", level=1)
    assert heading.inner_text() == "Ihre Auswahl für den Winter"
    screenshot(shopper, f"showroom-curated-{'js' if javascript else 'no-js'}.png")
    assert shopper.csp_violations == [] and marketer.csp_violations == []
