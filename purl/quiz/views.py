"""The quiz: one question per URL, HTMX swapping the question, plain posts without JS."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, render_template, request

from .. import journey
from ..extensions import db
from ..pages import leave_to, render_page
from . import logic
from .forms import answer_form

log = logging.getLogger(__name__)
bp = Blueprint("quiz", __name__)


@bp.get("/q/<quiz_slug>")
def visitor_landing(quiz_slug: str):  # noqa: ANN201
    trip = journey.from_visitor(quiz_slug)
    if trip.completed:
        return redirect(trip.url("showroom.showroom"), 303)
    return render_template("quiz/visitor_landing.html", journey=trip)


@bp.get("/p/<token>/quiz/")
@bp.get("/q/<quiz_slug>/quiz/")
def start(token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    upcoming = logic.next_question(trip.quiz, trip.answers)
    if upcoming is None:
        return redirect(trip.url("showroom.showroom"), 303)
    return redirect(trip.url("quiz.question", question_id=upcoming.id), 303)


@bp.route("/p/<token>/quiz/<question_id>", methods=["GET", "POST"])
@bp.route("/q/<quiz_slug>/quiz/<question_id>", methods=["GET", "POST"])
def question(question_id: str, token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    quiz = trip.quiz
    asked = logic.visible_questions(quiz, trip.answers)
    current = next((q for q in asked if q.id == question_id), None)
    if current is None:
        abort(404)
    upcoming = logic.next_question(quiz, trip.answers)
    if upcoming is not None and quiz.index(current.id) > quiz.index(upcoming.id):
        # No skipping ahead past an unanswered question.
        return redirect(trip.url("quiz.question", question_id=upcoming.id), 303)

    form = answer_form(current, trip.locale, trip.answers.get(current.id))
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            raw = form.answer.data if isinstance(form.answer.data, list) else [form.answer.data]
            value = logic.clean_value(current, [str(v) for v in raw])
            response = journey.ensure_started(trip)
            upcoming = logic.save_answer(db.session, response, quiz, current, value, trip.recipient)
            db.session.commit()
            if upcoming is None:
                return leave_to(trip.url("showroom.showroom"))
            return redirect(trip.url("quiz.question", question_id=upcoming.id), 303)
        status = 422
    elif trip.recipient is not None and trip.response is None:
        # A shopper from a PURL who sees the first question has started the quiz.
        journey.ensure_started(trip)
        db.session.commit()

    previous = logic.previous_question(quiz, trip.answers, current.id)
    position, total = logic.progress(quiz, trip.answers, current.id)
    return render_page(
        "quiz/question.html", "quiz/_question.html", status=status,
        journey=trip, question=current, form=form, position=position, total=total,
        back_url=trip.url("quiz.question", question_id=previous.id) if previous else None,
    )
