"""A marketer in a real browser: sign in, create a campaign, open its funnel; screenshots."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from purl.accounts import create_user
from purl.analytics import events
from purl.campaigns import access
from purl.extensions import db
from purl.links.recipients import NewRecipient, mint
from purl.models import Campaign, Product, QuizResponse, ShopperProfile
from purl.quiz import versions
from tests.browser.conftest import screenshot, sign_in


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_sign_in_create_campaign_open_funnel(app, demo, live_server, new_page, javascript):
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    assert page.get_by_role("link", name="Winter 2026 – Stammkunden").is_visible()
    page.get_by_role("link", name="Neue Kampagne").click()
    page.wait_for_url(re.compile(r"/console/campaigns/new$"))

    page.get_by_role("button", name="Kampagne anlegen").click()  # nothing filled in
    page.get_by_text("Bitte geben Sie der Kampagne einen Namen.").wait_for()

    page.get_by_label("Name", exact=True).fill("Frühling 2027")
    page.get_by_label("Ansprache der Kunden").select_option("sie")
    page.get_by_label("Überschrift").first.fill("Ihr Frühjahrsputz")
    page.get_by_label("Beginnt am").fill("2027-03-01")
    page.get_by_label("Endet am").fill("2027-04-30")
    variant_keys = page.get_by_label("Schlüssel")
    variant_keys.nth(0).fill("a")
    variant_keys.nth(1).fill("b")
    headlines = page.locator(".variant").get_by_label("Überschrift")
    headlines.nth(0).fill("Frühjahrsputz für Ihr Tier")
    headlines.nth(1).fill("Neu im Frühling")
    page.get_by_role("button", name="Kampagne anlegen").click()

    page.wait_for_url(re.compile(r"/console/campaigns/fruehling-2027$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Frühling 2027")
    assert page.get_by_text("Neu im Frühling").is_visible()
    page.get_by_role("link", name="Funnel öffnen").click()
    page.wait_for_url(re.compile(r"/funnel$"))
    assert page.get_by_role("heading", name="A/B-Test: Varianten der Landingpage").is_visible()
    assert page.locator("ol[aria-labelledby=funnel-title] .funnel-bar").count() == 5
    assert page.csp_violations == []
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "fruehling-2027"))
        assert [v["key"] for v in camp.variants] == ["a", "b"] and camp.tone == "sie"


def _answers(i: int) -> list[tuple[str, object]]:
    """The answers of shopper ``i`` along the quiz: dog owners get the age question."""
    animal = ("hund", "katze", "hund", "kleintier")[i % 4]
    path: list[tuple[str, object]] = [("tier", animal)]
    if animal == "hund":
        path.append(("alter", ("welpe", "erwachsen", "senior")[i % 3]))
    needs = [("futter", "snacks", "spielzeug", "pflege")[i % 4], "futter"][: 1 + i % 2]
    path += [("bedarf", needs),
             ("budget", ("bis-20", "bis-50", "bis-100", "egal")[i % 4]),
             ("wichtig", ("natur", "premium", "preiswert")[i % 3])]
    return path


def _busy_campaign(app, demo) -> None:  # noqa: ANN001
    """Give the demo campaign two variants, 120 links and two weeks of events."""
    with app.app_context():
        camp = db.session.get(Campaign, demo.campaign_id)
        camp.variants = [{"key": "a", "headline": "", "message": ""},
                         {"key": "b", "headline": "Neu: deine Winter-Auswahl", "message": ""}]
        camp.starts_on = dt.date.today() - dt.timedelta(days=13)
        people = mint(db.session, camp, [
            NewRecipient(first_name=f"Kunde {i}", email=f"k{i}@example.org",
                         channel="print" if i % 3 == 0 else "email") for i in range(120)])
        products = db.session.scalars(select(Product).limit(5)).all()
        quiz = versions.campaign_quiz(db.session, camp)
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=13)
        for i, recipient in enumerate(people):
            if i % 5 == 4:
                continue
            when = start + dt.timedelta(days=i % 14, hours=i % 7)
            events.record(db.session, "visit", recipient=recipient, created_at=when)
            if i % 4 == 3 and recipient.variant != "b":
                continue
            # A quiz as the shopper pages take it: a profile, its response, an event per step.
            profile = ShopperProfile(recipient_id=recipient.id)
            db.session.add(profile)
            db.session.flush()
            response = QuizResponse(profile_id=profile.id, quiz_slug=quiz.slug,
                                    quiz_version=quiz.version, answers={})
            db.session.add(response)
            step = {"recipient": recipient, "profile": profile, "quiz_slug": quiz.slug,
                    "quiz_version": quiz.version, "created_at": when}
            events.record(db.session, "quiz_start", **step)
            path = _answers(i)
            # Some leave after one, two or three questions; two of three finish.
            given = path if i % 3 != 1 else path[: 1 + i % 3]
            for question, value in given:
                response.answers = {**response.answers, question: value}
                events.record(db.session, "answer", question_id=question, **step)
            if i % 3 != 1:
                response.completed_at = when
                events.record(db.session, "quiz_complete", **step)
                if i % 2 == 0:
                    events.record(db.session, "product_click", recipient=recipient,
                                  product_id=products[i % 5].id, created_at=when)
        # Shared with a marketer and a team, for the sharing and teams pages.
        marketer = create_user(db.session, "marketing@shop.example", "marketer password 1")
        team = access.create_team(db.session, "Vertrieb Nord")
        access.add_to_team(db.session, team, marketer)
        access.share(db.session, camp, "viewer", user=marketer)
        access.share(db.session, camp, "editor", team=team)
        db.session.commit()


def overflowing(page) -> list[str]:  # noqa: ANN001
    """Elements reaching past the screen's right edge, but for those in a scrolling table."""
    return page.evaluate("""() => [...document.querySelectorAll("body *")].filter(
        e => e.getBoundingClientRect().right > window.innerWidth + 1
             && !e.closest(".table-scroll")).map(e => e.tagName + "." + e.className)""")


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_campaign_and_funnel_screenshots(app, demo, live_server, new_page, width, height):
    _busy_campaign(app, demo)
    page = new_page(javascript=True, width=width, height=height)
    sign_in(page, live_server)
    page.goto(live_server + "/console/campaigns/winter-2026")
    assert page.locator(".kpis li").count() == 5
    screenshot(page, f"console-campaign-{width}.png")
    page.goto(live_server + "/console/campaigns/winter-2026/funnel")
    assert page.locator("svg.time-chart polyline").count() == 3
    screenshot(page, f"console-funnel-{width}.png")
    page.goto(live_server + "/console/campaigns/winter-2026/sharing")
    assert page.get_by_role("cell", name="marketing@shop.example", exact=True).is_visible()
    screenshot(page, f"console-sharing-{width}.png")
    page.goto(live_server + "/console/teams")
    screenshot(page, f"console-teams-{width}.png")
    for path in ("/console/", "/console/campaigns/winter-2026",
                 "/console/campaigns/winter-2026/funnel",
                 "/console/campaigns/winter-2026/links?q=kunde",
                 "/console/campaigns/winter-2026/edit", "/console/users", "/console/settings",
                 "/console/campaigns/winter-2026/sharing", "/console/teams"):
        page.goto(live_server + path)
        assert overflowing(page) == [], path
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    assert page.csp_violations == []


def test_console_pages_pass_axe(app, demo, live_server, new_page):
    from axe_playwright_python.sync_playwright import Axe

    _busy_campaign(app, demo)
    axe = Axe()
    page = new_page(bypass_csp=True)  # axe is injected as a script, which our CSP forbids
    page.goto(live_server + "/console/login")
    problems = [("/console/login", v["id"]) for v in axe.run(page).response["violations"]
                if v["impact"] in ("serious", "critical")]
    sign_in(page, live_server)
    for path in ("/console/", "/console/campaigns/winter-2026",
                 "/console/campaigns/winter-2026/funnel", "/console/campaigns/winter-2026/links",
                 "/console/campaigns/winter-2026/edit", "/console/users", "/console/settings",
                 "/console/campaigns/winter-2026/sharing", "/console/teams"):
        page.goto(live_server + path)
        problems += [(path, v["id"], v["impact"]) for v in axe.run(page).response["violations"]
                     if v["impact"] in ("serious", "critical")]
    assert problems == []
