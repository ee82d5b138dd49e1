"""A shopper follows a demo PURL through the quiz to the showroom, in a real browser."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from purl.extensions import db
from purl.models import QuizResponse
from tests.browser.conftest import screenshot


def choose(page, label: str) -> None:  # noqa: ANN001
    page.get_by_label(label, exact=True).check()


def next_step(page, button: str = "Weiter") -> None:  # noqa: ANN001
    page.get_by_role("button", name=button).click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_purl_through_quiz_to_showroom(app, demo, live_server, new_page, javascript):
    page = new_page(javascript=javascript)
    page.goto(live_server + demo.path("Anna"))
    assert page.get_by_role("heading", level=1).inner_text() == "Liebe Anna,"
    page.get_by_role("link", name="Los geht’s").click()

    page.wait_for_url(re.compile(r"/quiz/tier$"))
    if javascript:
        # Marks this document: it survives only if htmx swaps fragments instead of reloading.
        page.evaluate("window.__samePage = true")
    choose(page, "Hund")
    next_step(page)
    page.wait_for_url(re.compile(r"/quiz/alter$"))  # a branch only dog owners see
    assert page.get_by_text("Frage 2 von 5").is_visible()
    choose(page, "Erwachsen")
    next_step(page)
    page.wait_for_url(re.compile(r"/quiz/bedarf$"))

    next_step(page)  # nothing chosen: an inline message, no step forward
    page.get_by_text("Bitte wähle mindestens eine Antwort aus.").wait_for()
    assert page.url.endswith("/quiz/bedarf")

    choose(page, "Futter")
    choose(page, "Snacks & Leckerlis")
    next_step(page)
    page.wait_for_url(re.compile(r"/quiz/budget$"))

    page.get_by_role("link", name="Zurück").click()  # Back shows the earlier answers
    page.wait_for_url(re.compile(r"/quiz/bedarf$"))
    assert page.get_by_label("Futter", exact=True).is_checked()
    next_step(page)
    page.wait_for_url(re.compile(r"/quiz/budget$"))
    if javascript:
        assert page.evaluate("window.__samePage") is True
        assert page.locator("[data-focus]").evaluate("el => el === document.activeElement")
    screenshot(page, f"quiz-{'js' if javascript else 'nojs'}.png")

    choose(page, "bis 50 €")
    next_step(page)
    page.wait_for_url(re.compile(r"/quiz/wichtig$"))
    choose(page, "Bio & nachhaltig")
    next_step(page, "Meine Auswahl zeigen")

    page.wait_for_url(re.compile(r"/showroom$"))
    assert page.get_by_role("heading", name="Für dich ausgesucht").is_visible()
    # Exactly one page header: the showroom was loaded as a page, not swapped into the quiz.
    assert page.locator("header.site-header").count() == 1
    products = page.locator(".product")
    assert products.count() >= 5
    for text in products.all_inner_texts():
        assert "€" in text
    images = page.locator(".product img")
    assert all("hund-" in (src or "") for src in [
        images.nth(i).get_attribute("src") for i in range(images.count())])
    screenshot(page, f"showroom-{'js' if javascript else 'nojs'}.png")
    assert page.csp_violations == []

    with app.app_context():
        answers = db.session.scalar(select(QuizResponse)).answers
    assert answers == {"tier": "hund", "alter": "erwachsen", "bedarf": ["futter", "snacks"],
                       "budget": "bis-50", "wichtig": "natur"}

    # Coming back later through the same link shows the showroom straight away.
    page.goto(live_server + demo.path("Anna"))
    page.wait_for_url(re.compile(r"/showroom$"))


def test_browser_back_button_returns_to_the_previous_question(demo, live_server, new_page):
    page = new_page()
    page.goto(live_server + demo.path("Jürgen", "/quiz/tier"))
    choose(page, "Katze")
    next_step(page)
    page.wait_for_url(re.compile(r"/quiz/bedarf$"))
    page.go_back()
    page.wait_for_url(re.compile(r"/quiz/tier$"))
    page.get_by_role("heading", name="Für welches Tier suchst du etwas?").wait_for()
    assert page.get_by_label("Katze", exact=True).is_checked()


def test_tampered_link_shows_a_friendly_page(demo, live_server, new_page):
    page = new_page(javascript=False)
    token = demo.tokens["Anna"]
    response = page.goto(f"{live_server}/p/{token[:-3]}xyz")
    assert response.status == 404
    assert page.get_by_role("heading", name="Diese Seite haben wir nicht gefunden").is_visible()


def test_pages_pass_an_accessibility_check(demo, live_server, new_page):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = new_page(bypass_csp=True)  # axe is injected as a script, which our CSP forbids
    problems = []
    for path in (demo.path("Kim"), demo.path("Kim", "/quiz/tier"), "/q/zoohandlung"):
        page.goto(live_server + path)
        results = axe.run(page)
        problems += [(path, v["id"], v["impact"]) for v in results.response["violations"]
                     if v["impact"] in ("serious", "critical")]
    assert problems == []
