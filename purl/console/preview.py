"""A campaign's whole journey as a sample recipient gets it, from the console: the landing
page (per variant), the quiz and the showroom as the campaign curates it, in the campaign's
language and tone, before any list is uploaded.

Nobody's data and nothing counted: the recipient is made up and never stored, the answers
live in the marketer's signed session cookie, no visit, response, profile or event is
written, and a product click goes straight to the product. The quiz's test run
(purl.console.trial) does the walking; this adds the campaign: its landing, tone, curation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from purl.campaigns import access
from purl.campaigns.variants import landing_copy, variant_keys
from purl.catalog.curation import curation_of
from purl.console import bp
from purl.console.campaigns import campaign_or_404
from purl.console.trial import (
    TestRun,
    fragment,
    held_run,
    product_exit,
    showroom_part,
    start_run,
    take_question,
)
from purl.extensions import db
from purl.models import Campaign
from purl.quiz import flow as logic
from purl.quiz import versions
from purl.quiz.schema import Quiz
from purl.shopper.journey import Journey
from purl.shopper.showroom import showroom_blocks, showroom_text
from purl.shopper.tone import speaking, template_context
from purl.web import render_page, wants_fragment

log = logging.getLogger(__name__)

PREVIEW = "campaign_preview"  # the session key: {slug (the campaign's), answers}


@dataclass(frozen=True)
class SampleRecipient:
    """Whom the preview greets: made up, nobody's data, never stored. A woman with a last
    name, so the Sie salutation is the full one (``Sehr geehrte Frau Beispiel,``)."""

    first_name: str = "Anna"
    last_name: str = "Beispiel"
    gender: str = "f"
    title: str | None = None
    variant: str | None = None
    attributes: Mapping[str, Any] | None = None  # no CRM columns: none was uploaded

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# A shopper's page names its next step by the shopper's endpoint: here, the preview's own.
_STEPS = {"shopper.start": "console.campaign_preview_start",
          "shopper.question": "console.campaign_preview_question",
          "shopper.showroom": "console.campaign_preview_showroom"}


@dataclass
class SampleJourney(Journey):
    """The sample recipient's journey through the campaign, for the shopper's templates:
    its answers are the preview's (in the session, no response stored); without a quiz
    (none published) it has no next step."""

    sample_answers: dict[str, Any] = field(default_factory=dict)

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.sample_answers)

    def url(self, endpoint: str, **values: str) -> str | None:  # type: ignore[override]
        if self.quiz is None:
            return None
        if "question_id" in values:
            values["qid"] = values.pop("question_id")
        return url_for(_STEPS[endpoint], slug=self.campaign.slug, **values)


def _quiz(camp: Campaign) -> Quiz | None:
    # The version the campaign's shoppers get (the one it pins, else its quiz's newest
    # publication), not the quiz's draft: the preview shows what a recipient will meet, and a
    # draft has its own test run in the quiz builder. None: nothing published yet.
    return versions.campaign_quiz(db.session, camp)


def _sample(camp: Campaign, quiz: Quiz | None, variant: str | None = None,
            answers: dict[str, Any] | None = None) -> SampleJourney:
    trip = SampleJourney(quiz=quiz, url_args={}, locale=camp.locale, campaign=camp,  # type: ignore[arg-type]
                         recipient=SampleRecipient(variant=variant),  # type: ignore[arg-type]
                         sample_answers=answers or {})
    # The tone as a recipient's journey settles it: Sie only where the quiz can say all of it.
    trip.tone = quiz.tone(camp.locale, camp.tone) if quiz is not None else camp.tone
    return trip


def _run(camp: Campaign) -> TestRun:
    """The sample recipient's way through the campaign's quiz; 404 without one."""
    quiz = _quiz(camp)
    if quiz is None:
        abort(404)
    trip = _sample(camp, quiz)
    return TestRun(quiz, PREVIEW, held_run(PREVIEW, camp.slug), trip.locale, trip.tone,
                   "console.campaign_preview_question", "console.campaign_preview_showroom",
                   {"slug": camp.slug})


def _frame(camp: Campaign, trip: SampleJourney, step: str, shown: str, status: int = 200,
           **context: Any) -> Response:
    context.setdefault("variants", [])
    return render_page(
        "console/campaign_preview.html", "console/_quiz_preview.html", status,
        campaign=camp, quiz=trip.quiz, step=step, locale=trip.locale, tone=trip.tone,
        sample=trip.recipient.name, shown=Markup(shown),
        du_only=camp.tone == "sie" and trip.tone != "sie", **context)


@bp.get("/campaigns/<slug>/preview")
def campaign_preview(slug: str):  # noqa: ANN201
    """The landing page as the sample recipient gets it (``?variant=`` a landing variant's
    key; the first, the control, else)."""
    camp = campaign_or_404(slug, access.VIEW)
    keys = variant_keys(camp)
    variant = request.args.get("variant")
    if variant not in keys:
        variant = keys[0] if keys else None
    trip = _sample(camp, _quiz(camp), variant)
    headline, message = landing_copy(camp, variant)
    with speaking(trip.locale, trip.tone):
        shown = render_template("shopper/_landing.html", **template_context(), journey=trip,
                                headline=headline, message=message)
    return _frame(camp, trip, "landing", shown, variants=keys, variant=variant)


@bp.get("/campaigns/<slug>/preview/start")
def campaign_preview_start(slug: str):  # noqa: ANN201
    """The landing page's "Let's start": the quiz afresh, no answers kept from before."""
    camp = campaign_or_404(slug, access.VIEW)
    run = _run(camp)
    start_run(PREVIEW, camp.slug)
    log.info("campaign %s: journey previewed by user %s", camp.id, current_user.id)
    return redirect(run.question_url(run.quiz.questions[0].id), 303)


# The shopper's own paths below /preview (quiz/<id>, showroom, go/<id>): the showroom's
# links, relative as a shopper's are, lead here.
@bp.route("/campaigns/<slug>/preview/quiz/<qid>", methods=["GET", "POST"])
def campaign_preview_question(slug: str, qid: str):  # noqa: ANN201
    camp = campaign_or_404(slug, access.VIEW)
    run = _run(camp)
    taken = take_question(run, qid)
    if isinstance(taken, Response):
        return taken
    return _frame(camp, _sample(camp, run.quiz), "quiz", *taken)


@bp.get("/campaigns/<slug>/preview/showroom")
def campaign_preview_showroom(slug: str):  # noqa: ANN201
    """The showroom the sample's answers select, as the campaign curates it: its heading and
    introduction in its tone, pinned products first, excluded ones never, its page size."""
    camp = campaign_or_404(slug, access.VIEW)
    run = _run(camp)
    if not run.finished:
        return redirect(run.where(), 303)
    trip = _sample(camp, run.quiz, answers=run.answers)
    with run.speaking():
        products, prefs = showroom_part(run, curation_of(camp))
        if wants_fragment():
            return fragment(products)
        head = render_template(
            "shopper/_showroom_head.html", **template_context(), journey=trip,
            heading=showroom_text(camp, "heading", run.locale, run.tone),
            intro=showroom_text(camp, "intro", run.locale, run.tone),
            chips=logic.answer_chips(run.quiz, run.answers, run.locale, run.tone),
            blocks=showroom_blocks(camp, prefs, run.answers, run.locale, run.tone))
    return _frame(camp, trip, "showroom", Markup(head) + products)


@bp.get("/campaigns/<slug>/preview/go/<int:product_id>")
def campaign_preview_product(slug: str, product_id: int):  # noqa: ANN201
    """A product of the preview's showroom: straight to the shop, not counted as a click."""
    camp = campaign_or_404(slug, access.VIEW)
    return product_exit(_run(camp).quiz, product_id)
