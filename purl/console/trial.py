"""A marketer takes a quiz's draft as a test shopper: every question and then the showroom,
in German du or Sie or in English, from the console.

Nothing of it is stored or counted: the answers live in the marketer's own signed session
cookie (a few hundred bytes), no profile, response or event is written, and a product click
goes straight to the product, past the click counter. The pages are the shopper's own
templates inside a phone-sized frame, so what the marketer sees is what shoppers will get.

The machinery (``TestRun`` and the functions below it) is shared with the campaign's
whole-journey preview (purl.console.preview), which takes the campaign's quiz in its tone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import (
    Response,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from markupsafe import Markup

from purl.catalog import catalogs
from purl.catalog.criteria import Preferences
from purl.catalog.curation import NONE as NO_CURATION
from purl.catalog.curation import Curation
from purl.catalog.imports import web_url
from purl.catalog.recommend import Filters, catalog_terms, recommend_showroom
from purl.console import bp
from purl.console.quizzes import PREVIEW_TONES, PreviewTrip, quiz_or_404, quiz_title, refused_lines
from purl.extensions import db
from purl.models import Product
from purl.quiz import drafts
from purl.quiz import flow as logic
from purl.quiz.format import QuizError, parse_quiz
from purl.quiz.schema import Quiz
from purl.web import leave_to, render_page, wants_fragment

log = logging.getLogger(__name__)

TRIAL = "quiz_trial"  # the session key: {slug, locale, tone, answers}


@dataclass
class TestRun:
    """A test shopper's way through ``quiz``: the answers, kept in the marketer's session
    under ``key`` (``held``, for one quiz or campaign: its ``slug``), the language and tone
    its pages speak, and where they are (its question and showroom endpoints, with
    ``url_args``)."""

    quiz: Quiz
    key: str
    held: dict[str, Any]
    locale: str
    tone: str
    question_endpoint: str
    showroom_endpoint: str
    url_args: dict[str, str]

    @property
    def answers(self) -> dict[str, Any]:
        return dict(self.held.get("answers") or {})

    @property
    def finished(self) -> bool:
        return logic.next_question(self.quiz, self.answers) is None

    def question_url(self, qid: str) -> str:
        return url_for(self.question_endpoint, **self.url_args, qid=qid)

    def showroom_url(self) -> str:
        return url_for(self.showroom_endpoint, **self.url_args)

    def where(self) -> str:
        """The first question not answered yet, else the showroom."""
        upcoming = logic.next_question(self.quiz, self.answers)
        return self.showroom_url() if upcoming is None else self.question_url(upcoming.id)

    def keep(self, answers: dict[str, Any]) -> None:
        self.held = {**self.held, "answers": answers}
        session[self.key] = self.held

    @contextmanager
    def speaking(self) -> Iterator[None]:
        """The shopper's language and tone for rendering their templates."""
        from purl.shopper.tone import speaking

        with speaking(self.locale, self.tone):
            yield


def held_run(key: str, slug: str, **fresh: Any) -> dict[str, Any]:
    """The run of ``slug`` the session holds under ``key``; a fresh one for another slug."""
    held = session.get(key)
    if not isinstance(held, dict) or held.get("slug") != slug:
        held = {"slug": slug, **fresh, "answers": {}}
    return held


def start_run(key: str, slug: str, **fresh: Any) -> None:
    """Start the run of ``slug`` afresh: no answers."""
    session[key] = {"slug": slug, **fresh, "answers": {}}


def take_question(run: TestRun, qid: str) -> Response | tuple[str, int]:
    """One question of the run, shown and checked as the shopper's own step: once answered a
    redirect to the next step (the answer kept in the session alone), else the question's
    HTML in the run's tone and its status (422: the answer refused). 404: not asked."""
    from purl.shopper.forms import answer_form, submitted_answer
    from purl.shopper.tone import say, template_context

    quiz, answers = run.quiz, run.answers
    current = next((q for q in logic.visible_questions(quiz, answers) if q.id == qid), None)
    if current is None:
        abort(404)
    with run.speaking():
        form = answer_form(current, run.locale, answers.get(current.id))
        status = 200
        if request.method == "POST":
            status = 422
            if form.validate_on_submit():
                try:
                    value = submitted_answer(current, form)
                except ValueError:
                    form.answer.errors = [say("This answer is not possible here.")]
                else:
                    run.keep(logic.with_answer(quiz, answers, current, value))
                    if run.finished:
                        return leave_to(run.where())  # a page of its own
                    return redirect(run.where(), 303)
        previous = logic.previous_question(quiz, answers, current.id, {})
        position, total = logic.progress(quiz, answers, current.id, {})
        shown = render_template(
            "shopper/_question.html", **template_context(),
            journey=PreviewTrip(run.question_url(qid)),
            question=current, form=form, position=position, total=total,
            options={o.value: o for o in current.options}, last=position >= total,
            back_url=run.question_url(previous.id) if previous else None, as_fragment=False)
    return shown, status


def showroom_part(run: TestRun, curation: Curation = NO_CURATION) -> tuple[Markup, Preferences]:
    """The catalog part of the run's showroom and the preferences it comes from: what the
    answers select as ``curation`` arranges it (pins first, the excluded never, its page
    size), with the shopper's filters (the same GET form, relative to the page). Computed
    afresh, nothing cached or counted; call it inside ``run.speaking()``."""
    from purl.shopper.tone import template_context

    quiz = run.quiz
    prefs = logic.preferences(quiz, run.answers, run.locale, run.tone)
    terms = catalog_terms(db.session, catalog=quiz.catalog)
    room = recommend_showroom(db.session, prefs, Filters.from_query(request.args, terms),
                              curation.per_page, catalog=quiz.catalog, curation=curation,
                              terms=terms)
    # No click signature: the run's product links go past the click counter (product_exit).
    shown = render_template(
        "shopper/_products.html", **template_context(), room=room,
        labels=logic.facet_labels(quiz, run.locale, run.tone, terms.labels),
        first_question=quiz.questions[0].id, click_signature=lambda product_id: "")
    return Markup(shown), prefs


def fragment(html: str) -> Response:
    """An htmx swap's HTML alone (the shopper's filters, swapped in place)."""
    response = make_response(html)
    response.vary.add("HX-Request")
    return response


def product_exit(quiz: Quiz, product_id: int) -> Response:
    """A product of a run's showroom: straight to the shop, not counted as a click and with
    no campaign's UTM parameters (the shop's own analytics would count it). Only a product of
    the quiz's catalog, and only a link the catalog rule accepts (no open redirect)."""
    product = db.session.get(Product, product_id)
    target = web_url(product.url) if product is not None else None
    if target is None or not catalogs.holds(db.session, quiz.catalog, product):
        abort(404)
    return redirect(target, 303)


# --------------------------------------------------------------------- the quiz's draft

def _draft_quiz(slug: str) -> Quiz:
    stored = quiz_or_404(slug)
    try:
        return parse_quiz(drafts.text_of(drafts.working_data(db.session, stored)), "")
    except QuizError as exc:  # never stored invalid, but today's rules may be stricter
        abort(422, "; ".join(refused_lines(exc)))


def _run(quiz: Quiz) -> TestRun:
    """This quiz's trial, in the language and tone it was started in (German du else)."""
    held = held_run(TRIAL, quiz.slug, locale="de", tone="du")
    pair = (held.get("locale"), held.get("tone"))
    locale, tone = pair if pair in PREVIEW_TONES else ("de", "du")
    return TestRun(quiz, TRIAL, held, locale, tone, "console.quiz_try_question",
                   "console.quiz_try_showroom", {"quiz_slug": quiz.slug})


@bp.get("/quizzes/<quiz_slug>/try")
def quiz_try(quiz_slug: str):  # noqa: ANN201
    """Start the draft afresh as a test shopper (``?locale=de&tone=sie`` to speak Sie)."""
    quiz = _draft_quiz(quiz_slug)
    locale, tone = request.args.get("locale", "de"), request.args.get("tone", "du")
    if (locale, tone) not in PREVIEW_TONES:
        locale, tone = "de", "du"
    start_run(TRIAL, quiz.slug, locale=locale, tone=tone)
    return redirect(_run(quiz).where(), 303)


def _frame(run: TestRun, shown: str, status: int = 200) -> Response:
    stored = quiz_or_404(run.quiz.slug)
    return render_page(
        "console/quiz_trial.html", "console/_quiz_preview.html", status,
        quiz=stored, title=quiz_title(stored), locale=run.locale, tone=run.tone,
        tones=PREVIEW_TONES, shown=Markup(shown))


# The shopper's own paths below /try (quiz/<id>, showroom, go/<id>): the showroom's links,
# relative as a shopper's are, lead here.
@bp.route("/quizzes/<quiz_slug>/try/quiz/<qid>", methods=["GET", "POST"])
def quiz_try_question(quiz_slug: str, qid: str):  # noqa: ANN201
    run = _run(_draft_quiz(quiz_slug))
    taken = take_question(run, qid)
    if isinstance(taken, Response):
        return taken
    return _frame(run, *taken)


@bp.get("/quizzes/<quiz_slug>/try/showroom")
def quiz_try_showroom(quiz_slug: str):  # noqa: ANN201
    """The showroom the trial's answers select, with the shopper's filters."""
    from purl.shopper.tone import template_context

    run = _run(_draft_quiz(quiz_slug))
    if not run.finished:
        return redirect(run.where(), 303)
    with run.speaking():
        products, prefs = showroom_part(run)
        if wants_fragment():
            return fragment(products)
        head = render_template(
            "console/_quiz_trial_head.html", **template_context(), blocks=prefs.content_blocks,
            chips=logic.answer_chips(run.quiz, run.answers, run.locale, run.tone))
    return _frame(run, Markup(head) + products)


@bp.get("/quizzes/<quiz_slug>/try/go/<int:product_id>")
def quiz_try_product(quiz_slug: str, product_id: int):  # noqa: ANN201
    """A product of the trial's showroom: straight to the shop, not counted as a click."""
    return product_exit(_draft_quiz(quiz_slug), product_id)
