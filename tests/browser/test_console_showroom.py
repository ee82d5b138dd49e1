"""The showroom builder in a real browser, JavaScript on and off: a marketer pins three
products, excludes one and gives the showroom a heading in Sie, previews the whole journey as
a sample recipient (landing, quiz, showroom; nothing counted); a shopper of that (Sie)
campaign then sees the pins first, never the excluded product, and the Sie heading."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.models import Campaign, Event, Product, QuizResponse, ShopperProfile
from tests.browser.conftest import screenshot, sign_in, until
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


def _counted(app) -> tuple[int, ...]:  # noqa: ANN001
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Event, QuizResponse, ShopperProfile))


def _preview(app, marketer, javascript: bool) -> list[str]:  # noqa: ANN001
    """The campaign's whole journey in the console's preview, as its sample recipient: the
    product titles its showroom shows."""
    before = _counted(app)
    marketer.get_by_role("link", name="Vorschau", exact=True).click()
    marketer.wait_for_url(re.compile(r"/preview$"))
    phone = marketer.locator(".phone-preview")
    assert phone.get_by_role("heading", level=1).inner_text() == "Sehr geehrte Frau Beispiel,"
    assert phone.get_by_text("Ihre Antworten nutzen wir nur").is_visible()
    screenshot(marketer, f"campaign-preview-landing-{'js' if javascript else 'no-js'}.png")
    phone.get_by_role("link", name="Los geht’s").click()
    marketer.wait_for_url(re.compile(r"/preview/quiz/tier$"))
    assert phone.get_by_text("Für welches Tier suchen Sie etwas?").is_visible()
    for labels in (["Hund"], ["Erwachsen"], ["Futter", "Snacks"], ["bis 50 €"],
                   ["Bio & nachhaltig"]):
        asked = "".join(phone.locator("h1.question").all_inner_texts())
        for label in labels:
            phone.locator("label.choice", has_text=label).click()
        phone.get_by_role("button", name=re.compile("Weiter|Auswahl")).click()
        # The next question swapped in (htmx) or loaded, or the showroom's page.
        until(marketer, lambda asked=asked: "/showroom" in marketer.url
               or "".join(phone.locator("h1.question").all_inner_texts()) != asked)
    marketer.wait_for_url(re.compile(r"/preview/showroom$"))
    assert phone.locator("#showroom-title").inner_text() == "Ihre Auswahl für den Winter"
    assert phone.locator(".greeting").inner_text() == "Sehr geehrte Frau Beispiel,"
    screenshot(marketer, f"campaign-preview-showroom-{'js' if javascript else 'no-js'}.png")
    assert _counted(app) == before  # no visit, response, profile or click
    return _titles(phone)


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
    marketer.get_by_label("Überschrift, Deutsch (Sie)", exact=True).fill(
        "Ihre Auswahl für den Winter")
    marketer.get_by_label("Überschrift, Deutsch (du)", exact=True).fill(
        "Deine Auswahl für den Winter")
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

    previewed = _preview(app, marketer, javascript)
    assert previewed[:3] == pins and gone not in previewed

    shopper.goto(showroom)
    shown = _titles(shopper)
    assert shown[:3] == pins and gone not in shown
    heading = shopper.get_by_role("heading", level=1)
    assert heading.inner_text() == "Ihre Auswahl für den Winter"
    screenshot(shopper, f"showroom-curated-{'js' if javascript else 'no-js'}.png")
    assert shopper.csp_violations == [] and marketer.csp_violations == []
