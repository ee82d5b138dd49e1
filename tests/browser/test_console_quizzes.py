"""A marketer builds a quiz in a real browser: a copy of the pet shop's quiz, a question added
and moved, an answer mapped to the catalog with its products counted (live with JavaScript,
on saving without), published; phone and desktop, and an accessibility check."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.models import Product
from tests.browser.conftest import screenshot, sign_in


def _dog_food(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Product).where(
            Product.category == "hund", Product.product_type == "futter",
            Product.available.is_(True)))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_build_a_quiz_map_an_answer_and_publish(app, demo, live_server, new_page, javascript):
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    page.get_by_role("link", name="Quizze").click()
    page.wait_for_url(re.compile(r"/console/quizzes$"))
    page.get_by_label("Titel").fill("Hunde-Quiz Winter")
    page.get_by_label("Beginnen mit").select_option(
        label="Vorlage: Finde das Richtige für dein Tier")
    page.get_by_role("button", name="Quiz anlegen").click()
    page.wait_for_url(re.compile(r"/console/quizzes/hunde-quiz-winter$"))
    assert page.get_by_text("Noch nicht veröffentlicht").is_visible()

    page.get_by_label("Art").select_option(label="Ja oder nein")
    page.get_by_role("button", name="Frage hinzufügen").click()
    new = page.locator(".quiz-questions li").last
    new.get_by_text("frage-6").wait_for()
    new.get_by_role("button", name="Nach oben").click()
    page.locator(".quiz-questions li").nth(4).get_by_text("frage-6").wait_for()
    if javascript:  # swapped in place, the summary beside it too
        assert page.url.endswith("/console/quizzes/hunde-quiz-winter")
    screenshot(page, f"quiz-1280-{'js' if javascript else 'nojs'}.png")

    page.get_by_role("link", name="Für welches Tier suchst du etwas?").click()
    page.wait_for_url(re.compile(r"/questions/tier$"))
    dog = page.locator("fieldset.quiz-option").first
    dog.get_by_label("Nur diese Produktarten").select_option("futter")
    food = f"{_dog_food(app)} Produkte"
    if javascript:  # counted as the form changes, before anything is saved
        page.locator("#count-0").get_by_text(food).wait_for()
    page.get_by_role("button", name="Frage speichern").click()
    page.get_by_text("Frage tier im Entwurf gespeichert.").wait_for()
    assert food in page.locator("#count-0").inner_text()
    screenshot(page, f"quiz-question-1280-{'js' if javascript else 'nojs'}.png")

    page.get_by_role("link", name="← Hunde-Quiz Winter").click()
    page.get_by_role("button", name="Version 1 veröffentlichen").click()
    page.get_by_text("Version 1 veröffentlicht").wait_for()
    assert page.get_by_text("Kundinnen und Kunden bekommen Version 1.").is_visible()
    assert page.csp_violations == []


def test_the_builder_fits_a_phone_and_passes_an_accessibility_check(app, demo, live_server,
                                                                     new_page):
    from axe_playwright_python.sync_playwright import Axe

    page = new_page(bypass_csp=True)  # axe is injected as a script, which our CSP forbids
    sign_in(page, live_server)
    problems = {}
    for name, path in (("list", "/console/quizzes"), ("quiz", "/console/quizzes/zoohandlung"),
                       ("question", "/console/quizzes/zoohandlung/questions/tier")):
        page.goto(live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
        screenshot(page, f"quiz-{name}-390.png")
        problems[name] = Axe().run(page).response["violations"]
    serious = {name: [v["id"] for v in found if v["impact"] in ("serious", "critical")]
               for name, found in problems.items()}
    assert serious == {"list": [], "quiz": [], "question": []}
