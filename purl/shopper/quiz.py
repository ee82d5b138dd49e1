"""The quiz: one question per URL, HTMX swapping the question, plain posts without JS."""

from __future__ import annotations

import hashlib
import logging

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from purl import files
from purl.extensions import db, limiter
from purl.links.recipients import link_url
from purl.models import Campaign
from purl.quiz import flow as logic
from purl.quiz import images
from purl.quiz.format import UPLOADED_IMAGE
from purl.shopper import bp, journey
from purl.shopper.forms import VisitorLinkForm, answer_form, submitted_answer
from purl.shopper.tone import say as _
from purl.web import leave_to, render_page, wants_fragment

log = logging.getLogger(__name__)


def _resume_target(trip: journey.Journey) -> str | None:
    """Where "continue where you left off" leads: the first unanswered question, if any."""
    if trip.completed or not trip.answers:
        return None
    upcoming = logic.next_question(trip.quiz, trip.answers)
    return trip.url("shopper.question", question_id=upcoming.id) if upcoming else None


@bp.get("/q/<quiz_slug>")
def visitor_landing(quiz_slug: str):  # noqa: ANN201
    trip = journey.from_visitor(quiz_slug)
    if trip.completed:
        return redirect(trip.url("shopper.showroom"), 303)
    return render_template("shopper/visitor_landing.html", journey=trip,
                           resume_url=_resume_target(trip))


@bp.get("/p/<token>/quiz/")
@bp.get("/q/<quiz_slug>/quiz/")
def start(token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    if trip.recipient is not None and trip.response is None:
        # Starting fills in what the recipient's attributes already answer.
        journey.ensure_started(trip)
        db.session.commit()
    upcoming = logic.next_question(trip.quiz, trip.answers)
    if upcoming is None:
        return redirect(_after_quiz(trip), 303)
    return redirect(trip.url("shopper.question", question_id=upcoming.id), 303)


def _after_quiz(trip: journey.Journey) -> str:
    """The visitor's optional "send me my link" step, else the showroom."""
    if trip.recipient is None and _visitor_campaign(trip) is not None:
        return trip.url("shopper.visitor_link")
    return trip.url("shopper.showroom")


def _visitor_campaign(trip: journey.Journey) -> Campaign | None:
    slug = trip.quiz.visitor_campaign
    if not slug:
        return None
    campaign = trip.shop  # the journey loaded it (journey.from_visitor)
    if campaign is None or campaign.revoked_at or campaign.archived_at:
        log.warning("quiz %s: visitor_campaign %r missing or closed, link step skipped",
                    trip.quiz.slug, slug)
        return None
    return campaign


def _seed(trip: journey.Journey) -> str:
    # Stable per shopper, so a shuffled question shows the same order on every visit.
    if trip.recipient is not None:
        return trip.recipient.link_key
    return hashlib.sha256((trip.visitor_key or "").encode()).hexdigest()


def _render_question(trip: journey.Journey, current: logic.Question, form, status: int):  # noqa: ANN001, ANN202
    quiz, answers = trip.quiz, trip.answers
    known = logic.profile_answers(quiz, trip.recipient)
    previous = logic.previous_question(quiz, answers, current.id, known)
    position, total = logic.progress(quiz, answers, current.id, known)
    options = {o.value: o for o in current.options}
    return render_page(
        "shopper/question.html", "shopper/_question.html", status=status,
        journey=trip, question=current, form=form, position=position, total=total,
        options=options, last=position >= total,
        back_url=trip.url("shopper.question", question_id=previous.id) if previous else None,
    )


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
        return redirect(trip.url("shopper.question", question_id=upcoming.id), 303)

    order = logic.option_order(current, _seed(trip))
    form = answer_form(current, trip.locale, trip.answers.get(current.id), order)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                value = submitted_answer(current, form)
            except ValueError as exc:
                # The form's validators say it kinder; this guards the stored data regardless.
                log.info("quiz %s: refused answer: %s", quiz.slug, exc)
                form.answer.errors = [_("This answer is not possible here.")]
            else:
                response = journey.ensure_started(trip)
                upcoming = logic.save_answer(db.session, response, quiz, current, value,
                                             trip.recipient)
                db.session.commit()
                if upcoming is None:
                    return leave_to(_after_quiz(trip))
                return redirect(trip.url("shopper.question", question_id=upcoming.id), 303)
        status = 422
    elif trip.recipient is not None and trip.response is None:
        # A shopper from a PURL who sees the first question has started the quiz.
        journey.ensure_started(trip)
        db.session.commit()
    page = _render_question(trip, current, form, status)
    if request.method == "GET":
        journey.done_reading()
    return page


@bp.errorhandler(CSRFError)
def csrf_error(error: CSRFError):  # noqa: ANN201
    """An expired or missing CSRF token: show the same step again with a fresh token and an
    inline message, nothing saved. htmx only swaps 2xx/422, so its fragment goes out as 422."""
    db.session.rollback()
    args = request.view_args or {}
    if request.endpoint != "shopper.question":
        from purl.web import csrf_error as page

        return page(error)
    trip = journey.load(args.get("token"), args.get("quiz_slug"))
    current = next((q for q in logic.visible_questions(trip.quiz, trip.answers)
                    if q.id == args.get("question_id")), None)
    if current is None:
        abort(404)
    order = logic.option_order(current, _seed(trip))
    form = answer_form(current, trip.locale, trip.answers.get(current.id), order)
    form.answer.errors = [_("This form has expired. Nothing was saved, please answer again.")]
    return _render_question(trip, current, form, 422 if wants_fragment() else 400)


@bp.route("/q/<quiz_slug>/link", methods=["GET", "POST"])
# Each post may mint a link: bound what one address can create. Only posts that went
# through count; a form sent back with its errors (422) or an expired one (400) costs nothing.
@limiter.limit("20 per hour", methods=["POST"],
               deduct_when=lambda response: response.status_code < 400)
def visitor_link(quiz_slug: str):  # noqa: ANN201
    """Last, optional step for a visitor: leave an email (with consent) for a personal link."""
    trip = journey.from_visitor(quiz_slug)
    campaign = _visitor_campaign(trip)
    showroom = trip.url("shopper.showroom")
    if not trip.completed or trip.profile is None or trip.response is None:
        return redirect(trip.url("shopper.start"), 303)
    if campaign is None:
        return redirect(showroom, 303)
    form = VisitorLinkForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            logic.link_visitor(db.session, trip.quiz, campaign, trip.profile, trip.response,
                               form.email.data)
            db.session.commit()
            return redirect(trip.url("shopper.visitor_link"), 303)
        status = 422
    recipient = logic.visitor_link(db.session, campaign, trip.profile)
    url = None
    if recipient is not None:
        config = current_app.config
        url = link_url(recipient, campaign, config["SECRET_KEYS"], config["PURL_BASE_URL"])
    return render_page(
        "shopper/link.html", "shopper/_link.html", status=status,
        journey=trip, form=form, link=url, showroom_url=showroom,
    )


@bp.get("/quiz-images/<name>")
def quiz_image(name: str):  # noqa: ANN201
    """A picture uploaded for an image question, by its content's name: the same bytes
    for ever, so browsers and caches keep it."""
    stored = images.stored_image(db.session, f"uploads/{name}")
    if stored is None:
        abort(404)
    response = current_app.response_class(files.iter_chunks(db.engine, stored.id),
                                          mimetype=stored.content_type)
    response.headers["Content-Length"] = str(stored.size)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.app_template_filter("quiz_image")
def quiz_image_url(image: str) -> str:
    """Where a quiz picture is served: an upload by its content, else under static/."""
    if UPLOADED_IMAGE.match(image):
        return url_for("shopper.quiz_image", name=image.removeprefix("uploads/"))
    return url_for("static", filename=image)
