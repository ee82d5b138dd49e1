"""A campaign's whole journey previewed from the console before any list is uploaded: the
landing page per variant, the quiz and the curated showroom, as a sample recipient in the
campaign's tone, and nothing of it stored or counted."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from purl.catalog.curation import curate
from purl.extensions import db
from purl.models import (
    Campaign,
    Event,
    FunnelReach,
    FunnelTally,
    LinkTally,
    Product,
    ProductTally,
    QuizAnswered,
    QuizChoice,
    QuizProgress,
    QuizResponse,
    QuizTally,
    Recipient,
    ShopperProfile,
    WebhookMessage,
)
from tests.conftest import HX, MARKETER, MARKETER_PASSWORD, csrf_token, login

SLUG = "fruehling-2027"
BASE = f"/console/campaigns/{SLUG}/preview"
ANSWERS = [("tier", ["hund"]), ("alter", ["erwachsen"]), ("bedarf", ["futter", "snacks"]),
           ("budget", ["bis-50"]), ("wichtig", ["natur"])]
COUNTED = (Event, QuizResponse, ShopperProfile, Recipient, FunnelTally, FunnelReach,
           ProductTally, QuizProgress, QuizAnswered, QuizChoice, QuizTally, LinkTally,
           WebhookMessage)


def _campaign(app, tone: str = "sie", quiz_slug: str = "zoohandlung") -> None:  # noqa: ANN001
    """A new campaign, no list uploaded: two landing variants, an offer."""
    with app.app_context():
        db.session.add(Campaign(
            slug=SLUG, name="Frühling 2027", quiz_slug=quiz_slug, locale="de", tone=tone,
            headline="Frühling im Napf", message="Drei Fragen, dann Ihre Auswahl.",
            offer_code="FRUEHLING10", offer_text="10 % auf Ihre erste Bestellung.",
            variants=[{"key": "a", "headline": "Frühling im Napf", "message": ""},
                      {"key": "b", "headline": "Neu für Ihr Tier", "message": "Variante B."}]))
        db.session.commit()


def _counts(app) -> dict[str, int]:  # noqa: ANN001
    with app.app_context():
        return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                for model in COUNTED}


def _phone(html: str) -> str:
    """What the phone frame shows (the shopper's own page)."""
    return html[html.index('<div class="phone-preview'):]


def _walk(console) -> str:  # noqa: ANN001
    """From the landing's start through every question: the showroom's URL."""
    start = console.get(BASE + "/start")
    assert start.status_code == 303 and start.location == BASE + "/quiz/tier"
    step = start.location
    for qid, values in ANSWERS:
        assert step == f"{BASE}/quiz/{qid}"
        page = console.get(step)
        assert page.status_code == 200
        answered = console.post(step, data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                            "answer": values})
        assert answered.status_code == 303, answered.get_data(as_text=True)[-300:]
        step = answered.location
    assert step == BASE + "/showroom"
    return step


def _shown(app, html: str) -> list[str]:  # noqa: ANN001
    ids = [int(i) for i in re.findall(r'class="product-link" href="go/(\d+)', html)]
    with app.app_context():
        skus = dict(db.session.execute(select(Product.id, Product.sku)
                                       .where(Product.id.in_(ids))).all())
    return [skus[i] for i in ids]


def test_the_landing_greets_a_sample_recipient_in_sie_per_variant(console) -> None:  # noqa: ANN001
    app = console.application
    _campaign(app)
    before = _counts(app)
    page = console.get(BASE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Anna Beispiel" in html  # the hint names whom the preview shows
    phone = _phone(html)
    assert '<h1 id="greeting">Sehr geehrte Frau Beispiel,</h1>' in phone
    assert "Ihre Antworten nutzen wir nur für Ihre persönliche Auswahl." in phone
    assert "deine" not in phone.lower() and "Frühling im Napf" in phone
    assert "FRUEHLING10" in phone and f'href="{BASE}/start"' in phone
    # Each variant its own copy; an unknown one is the control's.
    b = _phone(console.get(BASE + "?variant=b").get_data(as_text=True))
    assert "Neu für Ihr Tier" in b and "Variante B." in b
    assert f'href="{BASE}?variant=b" aria-current="page"' in console.get(
        BASE + "?variant=b").get_data(as_text=True)
    assert "Frühling im Napf" in _phone(console.get(BASE + "?variant=zz").get_data(as_text=True))
    # The tabs lead here from the campaign's page and from its showroom.
    for page in (f"/console/campaigns/{SLUG}", f"/console/campaigns/{SLUG}/showroom"):
        assert f'href="{BASE}"' in console.get(page).get_data(as_text=True)
    assert _counts(app) == before


def test_a_du_campaign_greets_as_du(console) -> None:  # noqa: ANN001
    _campaign(console.application, tone="du")
    phone = _phone(console.get(BASE).get_data(as_text=True))
    assert '<h1 id="greeting">Liebe Anna,</h1>' in phone
    assert "Deine Antworten nutzen wir nur für deine persönliche Auswahl." in phone


def test_the_whole_journey_reaches_the_curated_showroom_and_counts_nothing(console) -> None:  # noqa: ANN001
    app = console.application
    _campaign(app)
    before = _counts(app)
    plain = _shown(app, console.get(_walk(console)).get_data(as_text=True))
    assert len(plain) >= 8
    pins, gone = [plain[6], plain[4], plain[5]], plain[0]
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == SLUG))
        curate(db.session, camp, "default",
               heading={"de": "Dein Frühling", "de:sie": "Ihr Frühling", "en": ""},
               intro={"de": "", "de:sie": "Drei Lieblinge zuerst.", "en": ""},
               pinned=pins, pin_mode="fit", excluded=[gone], per_page=12)
        db.session.commit()

    showroom = _walk(console)
    page = console.get(showroom)
    assert page.status_code == 200
    html = _phone(page.get_data(as_text=True))
    shown = _shown(app, html)
    assert shown[:3] == pins and gone not in shown and len(shown) <= 12
    assert '<h1 id="showroom-title">Ihr Frühling</h1>' in html
    assert '<p class="lead">Drei Lieblinge zuerst.</p>' in html
    assert '<p class="greeting">Sehr geehrte Frau Beispiel,</p>' in html
    assert 'href="quiz/alter"' in html  # an answer leads back to its question
    # The shopper's filters keep the curation.
    filtered = _shown(app, console.get(showroom + "?sort=price-asc").get_data(as_text=True))
    assert gone not in filtered and set(pins) <= set(filtered)
    # A product goes straight to the shop: no click counted, no campaign UTM.
    product = re.search(r'href="go/(\d+)', html).group(1)
    click = console.get(f"{BASE}/go/{product}")
    assert click.status_code == 303 and click.location.startswith("https://")
    assert "utm_" not in click.location
    assert console.get(f"{BASE}/go/999999").status_code == 404
    assert _counts(app) == before


def test_the_preview_keeps_to_the_quizs_path(console) -> None:  # noqa: ANN001
    _campaign(console.application)
    console.get(BASE + "/start")
    # Not asked yet (the dog's age needs a dog): 404; the showroom waits for the answers.
    assert console.get(BASE + "/quiz/alter").status_code == 404
    showroom = console.get(BASE + "/showroom")
    assert showroom.status_code == 303 and showroom.location == BASE + "/quiz/tier"
    # A refused answer is shown again, in the campaign's tone, and nothing moves on.
    page = console.get(BASE + "/quiz/tier").get_data(as_text=True)
    refused = console.post(BASE + "/quiz/tier", data={"csrf_token": csrf_token(page),
                                                      "answer": "drache"})
    assert refused.status_code == 422
    phone = _phone(refused.get_data(as_text=True))
    assert 'id="answer-error"' in phone
    assert "suchen Sie" in phone and "suchst du" not in phone


def test_a_campaign_without_a_published_quiz_shows_the_landing_only(console) -> None:  # noqa: ANN001
    _campaign(console.application, quiz_slug="gibt-es-nicht")
    page = console.get(BASE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "no-quiz" in html  # says so
    assert "Sehr geehrte Frau Beispiel," in _phone(html) and f"{BASE}/start" not in html
    for path in ("/start", "/quiz/tier", "/showroom", "/go/1"):
        assert console.get(BASE + path).status_code == 404, path


def test_a_marketer_without_access_gets_404(console, users) -> None:  # noqa: ANN001
    app = console.application
    _campaign(app)
    stranger = app.test_client()
    assert login(stranger, MARKETER, MARKETER_PASSWORD).status_code == 303
    for path in ("", "/start", "/quiz/tier", "/showroom", "/go/1"):
        assert stranger.get(BASE + path).status_code == 404, path
    page = console.get(BASE + "/quiz/tier").get_data(as_text=True)
    posted = stranger.post(BASE + "/quiz/tier", data={"csrf_token": csrf_token(page),
                                                      "answer": "hund"})
    assert posted.status_code in (400, 404)


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_every_step_answers_htmx_with_a_fragment_and_a_browser_with_a_page(console, htmx) -> None:  # noqa: ANN001
    _campaign(console.application)
    headers = HX if htmx else {}

    def check(response, status: int = 200) -> str:  # noqa: ANN001
        assert response.status_code == status
        assert "HX-Request" in response.headers["Vary"]
        html = response.get_data(as_text=True)
        assert ("</html>" in html) is not htmx
        return html

    check(console.get(BASE, headers=headers))
    console.get(BASE + "/start")
    html = check(console.get(BASE + "/quiz/tier", headers=headers))
    assert 'id="quiz"' in html
    check(console.post(BASE + "/quiz/tier", headers=headers,
                       data={"csrf_token": csrf_token(html), "answer": "drache"}), 422)
    showroom = _walk(console)
    html = check(console.get(showroom + "?sort=price-asc", headers=headers))
    assert 'id="catalog"' in html
    assert ('class="showroom-head' in html) is not htmx
