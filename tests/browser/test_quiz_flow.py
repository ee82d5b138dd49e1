"""The quiz in a real browser: branching with Back, resuming after closing the browser,
keyboard-only use and an accessibility check of every question type. JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from purl.extensions import db
from purl.models import QuizResponse
from tests.browser.conftest import screenshot
from tests.browser.test_journey import choose, next_step

JS = pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])


def step(page, question_id: str) -> None:  # noqa: ANN001
    page.wait_for_url(re.compile(rf"/quiz/{question_id}$"))


def back(page, question_id: str) -> None:  # noqa: ANN001
    page.get_by_role("link", name="Zurück").click()
    step(page, question_id)
    page.locator("h1.question").wait_for()


def answers_of(app) -> dict:  # noqa: ANN001
    with app.app_context():
        return dict(db.session.scalar(select(QuizResponse)).answers)


@JS
def test_branching_back_two_steps_and_change_leaves_no_stale_answer(
    app, demo, live_server, new_page, javascript  # noqa: ANN001
):
    page = new_page(javascript=javascript)
    page.goto(live_server + "/q/roestwerk")
    page.get_by_role("link", name="Los geht’s").click()
    step(page, "zubereitung")
    if javascript:
        page.evaluate("window.__samePage = true")
    choose(page, "Siebträger")  # an image choice
    next_step(page)
    step(page, "muehle")
    choose(page, "Ja")
    next_step(page)
    step(page, "milch")
    choose(page, "Nein")
    next_step(page)
    step(page, "geschmack")
    choose(page, "Nussig & mild")
    next_step(page)
    step(page, "koffein")  # the branch: shown for mild tastes
    assert page.get_by_text("Frage 5 von 7").is_visible()
    choose(page, "Entkoffeiniert")
    next_step(page)
    step(page, "budget")
    assert answers_of(app)["koffein"] == "ohne"

    back(page, "koffein")
    back(page, "geschmack")
    assert page.get_by_label("Nussig & mild", exact=True).is_checked()
    page.get_by_label("Nussig & mild", exact=True).uncheck()
    choose(page, "Fruchtig & blumig")
    next_step(page)
    step(page, "budget")  # the branch is gone
    assert page.get_by_text("Frage 5 von 6").is_visible()
    assert "koffein" not in answers_of(app)
    if javascript:
        assert page.evaluate("window.__samePage") is True  # htmx swapped, no reloads

    number = page.get_by_role("spinbutton", name="Wie viel darf eine Packung höchstens kosten?")
    slider = page.get_by_role("slider")
    if javascript:
        # The slider is an enhancement beside the number field, shown once htmx has settled.
        slider.wait_for(state="visible", timeout=5000)
        slider.fill("22")
        assert number.input_value() == "22"
    else:
        assert not slider.is_visible()
        number.fill("22")
    next_step(page)
    step(page, "wunsch")
    page.get_by_role("textbox").fill("<b>Bitte nicht zu sauer</b>")
    screenshot(page, f"quiz-text-{'js' if javascript else 'nojs'}.png")
    next_step(page, "Meine Auswahl zeigen")

    page.wait_for_url(re.compile(r"/q/roestwerk/link$"))
    page.get_by_role("link", name="Überspringen").click()
    page.wait_for_url(re.compile(r"/q/roestwerk/showroom$"))
    assert page.locator(".product").count() >= 1
    screenshot(page, f"showroom-coffee-{'js' if javascript else 'nojs'}.png")
    if javascript:
        # htmx swapped every step; only the final navigation loaded a new document.
        assert page.evaluate("window.__samePage") is None
    assert page.csp_violations == []
    assert answers_of(app) == {
        "zubereitung": "siebtraeger", "muehle": "yes", "milch": "no",
        "geschmack": ["fruchtig"], "budget": 22, "wunsch": "<b>Bitte nicht zu sauer</b>",
    }


@JS
def test_closing_the_browser_mid_quiz_resumes_at_the_unanswered_question(
    demo, live_server, new_page, browser, javascript  # noqa: ANN001
):
    # Through a personal link: the answers live on the recipient, any browser resumes them.
    page = new_page(javascript=javascript)
    page.goto(live_server + demo.path("Ayşe"))
    page.get_by_role("link", name="Los geht’s").click()
    step(page, "tier")
    choose(page, "Katze")
    next_step(page)
    step(page, "bedarf")
    page.context.close()

    page = new_page(javascript=javascript)
    page.goto(live_server + demo.path("Ayşe"))
    page.get_by_role("link", name="Weiter, wo du aufgehört hast").click()
    step(page, "bedarf")
    assert page.get_by_text("Frage 2 von 4").is_visible()

    # Without a link: the first-party visitor cookie outlives the browser session.
    page = new_page(javascript=javascript)
    page.goto(live_server + "/q/roestwerk")
    page.get_by_role("link", name="Los geht’s").click()
    choose(page, "Handfilter & Maschine")
    next_step(page)
    step(page, "muehle")
    state = page.context.storage_state()
    page.context.close()
    page = new_page(javascript=javascript, storage_state=state)
    page.goto(live_server + "/q/roestwerk")
    page.get_by_role("link", name="Weiter, wo du aufgehört hast").click()
    step(page, "muehle")


def focused_on(page, element_id: str) -> None:  # noqa: ANN001
    # Polled from here: wait_for_function evaluates strings in the page, which our CSP forbids.
    for _ in range(50):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"focus never moved to #{element_id}")


def tab_to(page, selector: str) -> None:  # noqa: ANN001
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_with_visible_focus(app, demo, live_server, new_page):
    page = new_page()
    page.goto(live_server + demo.path("Kim", "/quiz/tier"))
    tab_to(page, "input[type=radio]")
    assert page.evaluate("document.activeElement.value") == "hund"
    outline = page.evaluate(
        "getComputedStyle(document.activeElement.closest('label')).outlineStyle")
    assert outline != "none"  # the focus is visible on the option's card
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    step(page, "alter")
    # Focus moves to the new question, so the next Tab lands on its first option.
    focused_on(page, "question-title")
    tab_to(page, "input[type=radio]")
    page.keyboard.press("Space")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    step(page, "bedarf")
    focused_on(page, "question-title")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")  # nothing chosen: the inline error is announced
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "mindestens eine Antwort" in alert.inner_text()
    assert answers_of(app) == {"tier": "hund", "alter": "welpe"}


def test_every_question_type_passes_an_accessibility_check(demo, live_server, new_page):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    page = new_page(bypass_csp=True)  # axe is injected as a script, which our CSP forbids
    problems = []

    def check(label: str) -> None:
        results = axe.run(page)
        problems.extend((label, v["id"], v["impact"]) for v in results.response["violations"]
                        if v["impact"] in ("serious", "critical"))

    page.goto(live_server + "/q/roestwerk")
    check("landing")
    page.get_by_role("link", name="Los geht’s").click()
    step(page, "zubereitung")
    check("image")
    screenshot(page, "quiz-image.png")
    choose(page, "Vollautomat")
    next_step(page)
    step(page, "milch")
    check("yesno")
    choose(page, "Ja")
    next_step(page)
    step(page, "geschmack")
    next_step(page)
    page.get_by_role("alert").wait_for()
    check("multi with error")
    choose(page, "Schokoladig")
    next_step(page)
    step(page, "koffein")
    check("single")
    choose(page, "Mit Koffein")
    next_step(page)
    step(page, "budget")
    page.get_by_role("spinbutton").fill("99")
    next_step(page)
    page.get_by_role("alert").wait_for()
    check("range with error")
    screenshot(page, "quiz-range-error.png")
    page.get_by_role("spinbutton").fill("18")
    next_step(page)
    step(page, "wunsch")
    check("text")
    next_step(page, "Meine Auswahl zeigen")
    page.wait_for_url(re.compile(r"/link$"))
    page.get_by_role("button", name="Link erhalten").click()
    page.get_by_role("alert").first.wait_for()
    check("link step with errors")
    screenshot(page, "quiz-link-step.png")
    # The consent checkbox stays a checkbox beside its words, all on the screen (form-row
    # styles for text fields once stretched it to full width and pushed the words off-screen).
    consent = page.get_by_label(re.compile("Ja, meine E-Mail-Adresse darf")).bounding_box()
    assert consent["width"] < 40 and consent["height"] < 40
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_label("Deine E-Mail-Adresse").fill("kaffee@example.org")
    page.get_by_label(re.compile("Ja, meine E-Mail-Adresse darf")).check()
    page.get_by_role("button", name="Link erhalten").click()
    page.get_by_role("heading", name="Dein persönlicher Link").wait_for()
    check("link shown")
    screenshot(page, "quiz-visitor-link.png")
    page.goto(live_server + demo.path("Anna", "/quiz/tier"))
    choose(page, "Hund")
    next_step(page)
    step(page, "alter")
    check("branch")
    assert problems == []
