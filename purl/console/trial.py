"""A marketer takes a quiz's draft as a test shopper: every question and then the showroom,
in German du or Sie or in English, from the console.

Nothing of it is stored or counted: the answers live in the marketer's own signed session
cookie (a few hundred bytes), no profile, response or event is written, and a product click
goes straight to the product, past the click counter. The pages are the shopper's own
templates inside a phone-sized frame, so what the marketer sees is what shoppers will get.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, make_response, redirect, render_template, request, session, url_for
from markupsafe import Markup

from purl.catalog import catalogs
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


def _draft_quiz(slug: str) -> Quiz:
    stored = quiz_or_404(slug)
    try:
        return parse_quiz(drafts.text_of(drafts.working_data(db.session, stored)), "")
    except QuizError as exc:  # never stored invalid, but today's rules may be stricter
        abort(422, "; ".join(refused_lines(exc)))


def _trial(slug: str) -> dict[str, Any]:
    """This quiz's trial in the session; a fresh one for another quiz."""
    held = session.get(TRIAL)
    if not isinstance(held, dict) or held.get("slug") != slug:
        held = {"slug": slug, "locale": "de", "tone": "du", "answers": {}}
    return held


def _speak(trial: dict[str, Any]) -> tuple[str, str]:
    pair = (trial.get("locale"), trial.get("tone"))
    return pair if pair in PREVIEW_TONES else ("de", "du")  # type: ignore[return-value]


def _where(quiz: Quiz, answers: dict) -> str:
    upcoming = logic.next_question(quiz, answers)
    if upcoming is None:
        return url_for("console.quiz_try_showroom", quiz_slug=quiz.slug)
    return url_for("console.quiz_try_question", quiz_slug=quiz.slug, qid=upcoming.id)


@bp.get("/quizzes/<quiz_slug>/try")
def quiz_try(quiz_slug: str):  # noqa: ANN201
    """Start the draft afresh as a test shopper (``?locale=de&tone=sie`` to speak Sie)."""
    quiz = _draft_quiz(quiz_slug)
    locale, tone = request.args.get("locale", "de"), request.args.get("tone", "du")
    if (locale, tone) not in PREVIEW_TONES:
        locale, tone = "de", "du"
    session[TRIAL] = {"slug": quiz.slug, "locale": locale, "tone": tone, "answers": {}}
    return redirect(_where(quiz, {}), 303)


def _frame(quiz: Quiz, trial: dict[str, Any], shown: str, status: int = 200):  # noqa: ANN202
    locale, tone = _speak(trial)
    stored = quiz_or_404(quiz.slug)
    return render_page(
        "console/quiz_trial.html", "console/_quiz_preview.html", status,
        quiz=stored, title=quiz_title(stored), locale=locale, tone=tone,
        tones=PREVIEW_TONES, shown=Markup(shown))


def _in_tone(trial: dict[str, Any]):  # noqa: ANN202
    """The shopper's language and tone for rendering their templates."""
    from purl.shopper.tone import speaking

    return speaking(*_speak(trial))


# The shopper's own paths below /try (quiz/<id>, showroom, go/<id>): the showroom's links,
# relative as a shopper's are, lead here.
@bp.route("/quizzes/<quiz_slug>/try/quiz/<qid>", methods=["GET", "POST"])
def quiz_try_question(quiz_slug: str, qid: str):  # noqa: ANN201
    from purl.shopper.forms import answer_form, submitted_answer
    from purl.shopper.tone import template_context

    quiz = _draft_quiz(quiz_slug)
    trial = _trial(quiz.slug)
    answers = dict(trial["answers"])
    asked = logic.visible_questions(quiz, answers)
    current = next((q for q in asked if q.id == qid), None)
    if current is None:
        abort(404)
    locale, _tone = _speak(trial)
    url = url_for("console.quiz_try_question", quiz_slug=quiz.slug, qid=qid)
    with _in_tone(trial):
        form = answer_form(current, locale, answers.get(current.id))
        status = 200
        if request.method == "POST":
            if form.validate_on_submit():
                try:
                    value = submitted_answer(current, form)
                except ValueError:
                    status = 422
                else:
                    trial["answers"] = logic.with_answer(quiz, answers, current, value)
                    session[TRIAL] = trial
                    if logic.next_question(quiz, trial["answers"]) is None:
                        return leave_to(_where(quiz, trial["answers"]))  # a page of its own
                    return redirect(_where(quiz, trial["answers"]), 303)
            else:
                status = 422
        previous = logic.previous_question(quiz, answers, current.id, {})
        position, total = logic.progress(quiz, answers, current.id, {})
        shown = render_template(
            "shopper/_question.html", **template_context(), journey=PreviewTrip(url),
            question=current, form=form, position=position, total=total,
            options={o.value: o for o in current.options}, last=position >= total,
            back_url=(url_for("console.quiz_try_question", quiz_slug=quiz.slug,
                              qid=previous.id) if previous else None),
            as_fragment=False)
    return _frame(quiz, trial, shown, status)


@bp.get("/quizzes/<quiz_slug>/try/showroom")
def quiz_try_showroom(quiz_slug: str):  # noqa: ANN201
    """The showroom the trial's answers select, with the shopper's filters (the same GET
    form, relative to this page); computed afresh, nothing cached or counted."""
    from purl.shopper.tone import template_context

    quiz = _draft_quiz(quiz_slug)
    trial = _trial(quiz.slug)
    answers = trial["answers"]
    if logic.next_question(quiz, answers) is not None:
        return redirect(_where(quiz, answers), 303)
    locale, tone = _speak(trial)
    with _in_tone(trial):
        prefs = logic.preferences(quiz, answers, locale, tone)
        terms = catalog_terms(db.session, catalog=quiz.catalog)
        room = recommend_showroom(db.session, prefs, Filters.from_query(request.args, terms),
                                  catalog=quiz.catalog, terms=terms)
        shown = render_template(
            "shopper/_products.html", **template_context(), room=room,
            labels=logic.facet_labels(quiz, locale, tone, terms.labels),
            first_question=quiz.questions[0].id, click_signature=lambda product_id: "")
        if wants_fragment():  # the shopper's filters, swapped in place
            response = make_response(shown)
            response.vary.add("HX-Request")
            return response
        head = render_template("console/_quiz_trial_head.html", **template_context(),
                               blocks=prefs.content_blocks,
                               chips=logic.answer_chips(quiz, answers, locale, tone))
    return _frame(quiz, trial, head + shown)


@bp.get("/quizzes/<quiz_slug>/try/go/<int:product_id>")
def quiz_try_product(quiz_slug: str, product_id: int):  # noqa: ANN201
    """A product of the trial's showroom: straight to the shop, not counted as a click."""
    quiz = _draft_quiz(quiz_slug)
    product = db.session.get(Product, product_id)
    if (product is None or not catalogs.holds(db.session, quiz.catalog, product)
            or not product.url.startswith(("https://", "http://"))):
        abort(404)
    return redirect(product.url, 303)
