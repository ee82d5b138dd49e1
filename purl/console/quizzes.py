"""The quiz builder in the console: the quizzes, a new one (blank, from a demo template or as
a copy), its draft (title and introduction, questions added, moved and removed), publishing
with a summary of what changes, the versions with roll-back, and each version as its file.

The rules are purl.quiz.drafts' and purl.quiz.versions'; this parses, authorizes and shows.
A draft is anyone's to write (shoppers never see it); publishing reaches every campaign that
uses the quiz, so it needs the right to edit each (purl.campaigns.access.may_publish_quiz).
"""

from __future__ import annotations

import logging

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from purl.campaigns import access
from purl.console import bp
from purl.console.forms import QUESTION_TYPE_CHOICES, QuestionAddForm, QuizCreateForm, QuizTextsForm
from purl.extensions import db
from purl.models import StoredQuiz
from purl.quiz import drafts, versions
from purl.quiz.format import QuizError
from purl.web import leave_to, render_page, wants_fragment

log = logging.getLogger(__name__)

# The demo quizzes a new quiz may start from (shipped in quizzes/, loaded by `demo load`).
TEMPLATES = ("zoohandlung", "roestwerk")
TYPE_NAMES = {choice.value: choice.label for choice in QUESTION_TYPE_CHOICES}


def _quiz(slug: str) -> StoredQuiz:
    stored = versions.stored_quiz(db.session, slug)
    if stored is None:
        abort(404)
    return stored


def _title(stored: StoredQuiz) -> str:
    return stored.title.get("de") or stored.title.get("en") or stored.slug


def _refused(error: QuizError | drafts.DraftError) -> list[str]:
    """A refused change in the marketer's words, naming question, option and field."""
    lines = ([error.problem.render(_)] if isinstance(error, drafts.DraftError)
             else error.messages(_))
    return [line[:1].upper() + line[1:] for line in lines]


# --------------------------------------------------------------------- the list, a new quiz

def _create_form() -> QuizCreateForm:
    form = QuizCreateForm()
    quizzes = versions.published_quizzes(db.session)
    form.start.choices = [("", _("An empty quiz (one question to start from)"))] + [
        (f"copy:{q.slug}", (_("Template: %(title)s", title=q.title.get("de", q.slug))
                            if q.slug in TEMPLATES
                            else _("A copy of “%(title)s”", title=q.title.get("de", q.slug))))
        for q in quizzes]
    return form


def _list_page(form: QuizCreateForm, errors: list[str] | None = None,
               status: int = 200) -> tuple[str, int]:
    rows = []
    for quiz in db.session.scalars(select(StoredQuiz).order_by(StoredQuiz.slug)):
        rows.append({
            "quiz": quiz, "title": _title(quiz),
            "live": versions.current_version(db.session, quiz),
            "draft": drafts.draft(db.session, quiz),
            "campaigns": access.campaigns_using_quiz(db.session, quiz.slug),
        })
    return render_template("console/quizzes.html", rows=rows, form=form,
                           errors=errors or []), status


@bp.get("/quizzes")
def quizzes():  # noqa: ANN201
    return _list_page(_create_form())


@bp.post("/quizzes")
def quiz_create():  # noqa: ANN201
    form = _create_form()
    if not form.validate_on_submit():
        return _list_page(form, status=422)
    title = form.title.data.strip()
    slug = form.slug.data or drafts.suggest_slug(title)
    start = form.start.data or ""
    if start.startswith("copy:"):
        source = versions.stored_quiz(db.session, start.removeprefix("copy:"))
        if source is None:
            abort(404)
        data = drafts.copy_of(drafts.working_data(db.session, source), slug, title)
    else:
        data = drafts.blank(slug, title)
    try:
        stored = drafts.create(db.session, slug, data)
    except (QuizError, drafts.DraftError) as exc:
        db.session.rollback()
        form.slug.errors = [*form.slug.errors, *_refused(exc)]
        return _list_page(form, status=422)
    db.session.commit()
    flash(_("Quiz “%(title)s” created as a draft: shoppers see it once you publish it.",
            title=title), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


# --------------------------------------------------------------------- one quiz's draft

def _texts_form(data: drafts.Data) -> QuizTextsForm:
    form = QuizTextsForm()
    if request.method == "GET":
        for name in ("title", "intro"):
            fields = drafts.text_value(data.get(name))
            getattr(form, f"{name}_de").data = fields["de"]
            getattr(form, f"{name}_de_sie").data = fields["de:sie"]
            getattr(form, f"{name}_en").data = fields["en"]
    return form


def _page(stored: StoredQuiz, data: drafts.Data, *, texts: QuizTextsForm | None = None,
          errors: list[str] | None = None, status: int = 200) -> Response:
    draft = drafts.draft(db.session, stored)
    questions = [{"id": str(q.get("id")), "type": q.get("type", "single"),
                  "text": drafts.text_value(q.get("text")),
                  "options": len(q.get("options") or []),
                  "show_if": q.get("show_if") is not None}
                 for q in data.get("questions") or [] if isinstance(q, dict)]
    return render_page(
        "console/quiz.html", "console/_quiz_questions.html", status,
        quiz=stored, title=_title(stored), draft=draft,
        live=versions.current_version(db.session, stored),
        questions=questions, type_names=TYPE_NAMES,
        texts=texts or _texts_form(data), add=QuestionAddForm(), errors=errors or [],
        changes=[c.render(_) for c in drafts.pending_changes(db.session, stored)],
        history=versions.history(db.session, stored),
        campaigns=access.campaigns_using_quiz(db.session, stored.slug),
        may_publish=access.may_publish_quiz(db.session, stored.slug, current_user))


@bp.get("/quizzes/<quiz_slug>")
def quiz(quiz_slug: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    return _page(stored, drafts.working_data(db.session, stored))


def _save(stored: StoredQuiz, data: drafts.Data, done: str,
          texts: QuizTextsForm | None = None) -> Response:
    """Store the changed data as the draft, or show the page again with why not (the draft
    as it was, the form as it was sent)."""
    try:
        drafts.save(db.session, stored, data)
    except QuizError as exc:
        db.session.rollback()
        return _page(stored, drafts.working_data(db.session, stored), texts=texts,
                     errors=_refused(exc), status=422)
    db.session.commit()
    if not wants_fragment():  # htmx shows the changed list itself, where the click was
        flash(done, "success")
    # htmx follows the 303 and swaps in the list (the quiz page's fragment); a plain post
    # gets the page.
    return redirect(url_for("console.quiz", quiz_slug=stored.slug), 303)


@bp.post("/quizzes/<quiz_slug>/texts")
def quiz_save_texts(quiz_slug: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    data = drafts.working_data(db.session, stored)
    form = QuizTextsForm()
    if not form.validate_on_submit():
        return _page(stored, data, texts=form, status=422)
    try:
        drafts.set_texts(data, **{name: {
            "de": getattr(form, f"{name}_de").data,
            "de:sie": getattr(form, f"{name}_de_sie").data,
            "en": getattr(form, f"{name}_en").data} for name in ("title", "intro")})
    except drafts.DraftError as exc:
        form.title_de.errors = [*form.title_de.errors, *_refused(exc)]
        return _page(stored, data, texts=form, status=422)
    return _save(stored, data, _("Title and introduction saved in the draft."), texts=form)


@bp.post("/quizzes/<quiz_slug>/questions")
def quiz_add_question(quiz_slug: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    data = drafts.working_data(db.session, stored)
    form = QuestionAddForm()
    if not form.validate_on_submit():
        return _page(stored, data, errors=[_("Please choose a question type.")], status=422)
    qid = drafts.add_question(data, form.type.data)
    return _save(stored, data, _("Question %(id)s added to the draft.", id=qid))


@bp.post("/quizzes/<quiz_slug>/questions/<qid>/move")
def quiz_move_question(quiz_slug: str, qid: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    data = drafts.working_data(db.session, stored)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    try:
        drafts.move_question(data, qid, step)
    except drafts.DraftError:
        abort(404)
    return _save(stored, data, _("Question %(id)s moved.", id=qid))


@bp.post("/quizzes/<quiz_slug>/questions/<qid>/remove")
def quiz_remove_question(quiz_slug: str, qid: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    data = drafts.working_data(db.session, stored)
    try:
        drafts.remove_question(data, qid)
    except drafts.DraftError as exc:
        if exc.problem.message == drafts.NO_QUESTION:
            abort(404)
        return _page(stored, data, errors=_refused(exc), status=422)
    return _save(stored, data, _("Question %(id)s removed from the draft.", id=qid))


@bp.post("/quizzes/<quiz_slug>/discard")
def quiz_discard(quiz_slug: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    if versions.current_version(db.session, stored) is None:
        # Nothing published: the draft is all there is, and the quiz would be empty.
        return _page(stored, drafts.working_data(db.session, stored), errors=[
            _("This quiz has never been published: its draft is all there is.")], status=422)
    if drafts.discard(db.session, stored):
        db.session.commit()
        flash(_("Draft discarded: the quiz is as shoppers get it."), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


# --------------------------------------------------------------------- publishing, versions

def _may_publish(stored: StoredQuiz) -> None:
    if not access.may_publish_quiz(db.session, stored.slug, current_user):
        abort(403)


@bp.post("/quizzes/<quiz_slug>/publish")
def quiz_publish(quiz_slug: str):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    _may_publish(stored)
    draft = drafts.draft(db.session, stored)
    if draft is None:
        flash(_("There is no draft to publish: the quiz is as shoppers get it."), "info")
        return leave_to(url_for("console.quiz", quiz_slug=stored.slug))
    try:
        versions.publish(db.session, stored, draft.number)
    except QuizError as exc:  # valid when saved, refused by today's rules
        db.session.rollback()
        return _page(stored, drafts.working_data(db.session, stored), errors=_refused(exc),
                     status=422)
    db.session.commit()
    log.info("quiz %s version %s published in the console by %s", stored.slug, draft.number,
             current_user.id)
    flash(_("Version %(number)s published: shoppers get it from now on.",
            number=draft.number), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


@bp.post("/quizzes/<quiz_slug>/versions/<int:number>/rollback")
def quiz_roll_back(quiz_slug: str, number: int):  # noqa: ANN201
    stored = _quiz(quiz_slug)
    _may_publish(stored)
    try:
        versions.roll_back(db.session, stored, number)
    except versions.VersionError:
        abort(404)
    except QuizError as exc:
        db.session.rollback()
        return _page(stored, drafts.working_data(db.session, stored), errors=_refused(exc),
                     status=422)
    db.session.commit()
    flash(_("Version %(number)s is live again.", number=number), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


@bp.get("/quizzes/<quiz_slug>/versions/<int:number>.yaml")
def quiz_version_file(quiz_slug: str, number: int):  # noqa: ANN201
    """A version as its file: what `flask quiz export` prints, to keep, review or import."""
    stored = _quiz(quiz_slug)
    try:
        found = versions.version(db.session, stored, number)
    except versions.VersionError:
        abort(404)
    response = Response(found.content, mimetype="application/yaml")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{stored.slug}-v{number}.yaml"')
    return response
