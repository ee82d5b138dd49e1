"""The quiz builder in the console: the quizzes, a new one (blank, from a demo template or as
a copy), its draft (title and introduction, questions added, moved and removed), publishing
with a summary of what changes, the versions with roll-back, and each version as its file.

The rules are purl.quiz.drafts' and purl.quiz.versions'; this parses, authorizes and shows.
A draft is anyone's to write (shoppers never see it); publishing reaches every campaign that
uses the quiz, so it needs the right to edit each (purl.campaigns.access.may_publish_quiz).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from purl.campaigns import access
from purl.catalog import catalogs, picker
from purl.console import bp
from purl.console.forms import (
    QUESTION_TYPE_CHOICES,
    QuestionAddForm,
    QuestionForm,
    QuizCreateForm,
    QuizImportForm,
    QuizTextsForm,
)
from purl.extensions import db
from purl.models import StoredQuiz
from purl.quiz import drafts, images, versions
from purl.quiz.format import Problem, QuizError, parse_quiz
from purl.quiz.schema import Quiz
from purl.web import accepts_upload, leave_to, render_page, wants_fragment

log = logging.getLogger(__name__)

# The demo quizzes a new quiz may start from (shipped in quizzes/, loaded by `demo load`).
TEMPLATES = ("zoohandlung", "roestwerk")
TYPE_NAMES = {choice.value: choice.label for choice in QUESTION_TYPE_CHOICES}
MAX_QUIZ_FILE = 512 * 1024  # characters: the demo quizzes are 8


def quiz_or_404(slug: str) -> StoredQuiz:
    stored = versions.stored_quiz(db.session, slug)
    if stored is None:
        abort(404)
    return stored


def quiz_title(stored: StoredQuiz) -> str:
    return stored.title.get("de") or stored.title.get("en") or stored.slug


def refused_lines(error: QuizError | drafts.DraftError) -> list[str]:
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
            "quiz": quiz, "title": quiz_title(quiz),
            "live": versions.current_version(db.session, quiz),
            "draft": drafts.draft(db.session, quiz),
            "campaigns": access.campaigns_using_quiz(db.session, quiz.slug),
        })
    return render_template("console/quizzes.html", rows=rows, form=form,
                           upload=QuizImportForm(formdata=None), errors=errors or []), status


@bp.get("/quizzes")
def quizzes():  # noqa: ANN201
    return _list_page(_create_form())


@bp.post("/quizzes/import")
def quiz_import():  # noqa: ANN201
    """A quiz file stored as a draft of its quiz (a new quiz on first import), as `flask quiz
    import` does; a broken file is refused naming question and field in German."""
    form = QuizImportForm()
    if not form.validate_on_submit():
        return _list_page(_create_form(), errors=[e for f in form for e in f.errors],
                          status=422)
    upload = form.file.data
    try:
        text = upload.read(MAX_QUIZ_FILE + 1).decode("utf-8-sig")
    except UnicodeDecodeError:
        return _list_page(_create_form(), errors=[
            _("%(name)s is not a text file in UTF-8: export the quiz again as YAML.",
              name=upload.filename)], status=422)
    if len(text) > MAX_QUIZ_FILE:
        return _list_page(_create_form(), errors=[
            _("%(name)s is too long for a quiz file.", name=upload.filename)], status=422)
    try:
        done = versions.import_quiz(db.session, text, upload.filename or "quiz.yaml")
    except QuizError as exc:
        db.session.rollback()
        # Each line starts with the file's name, as the file names itself.
        return _list_page(_create_form(), errors=exc.messages(_), status=422)
    db.session.commit()
    number = done.version.number
    flash(_("Version %(number)s of “%(slug)s” stored as a draft.", number=number,
            slug=done.slug) if done.created else
          _("Nothing new: “%(slug)s” holds this file already, as version %(number)s.",
            slug=done.slug, number=number), "success")
    return leave_to(url_for("console.quiz", quiz_slug=done.slug))


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
        form.slug.errors = [*form.slug.errors, *refused_lines(exc)]
        return _list_page(form, status=422)
    db.session.commit()
    flash(_("Quiz “%(title)s” created as a draft: shoppers see it once you publish it.",
            title=title), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


# --------------------------------------------------------------------- one quiz's draft

def _texts_form(data: drafts.Data) -> QuizTextsForm:
    form = QuizTextsForm()
    form.catalog.choices = [
        (name, _("%(title)s (%(count)s products)", title=title, count=format_decimal(available)))
        for name, title, available, _total in catalogs.overview(db.session)]
    if request.method == "GET":
        for name in ("title", "intro"):
            fields = drafts.text_value(data.get(name))
            getattr(form, f"{name}_de").data = fields["de"]
            getattr(form, f"{name}_de_sie").data = fields["de:sie"]
            getattr(form, f"{name}_en").data = fields["en"]
        form.catalog.data = drafts.catalog_of(data)
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
        quiz=stored, title=quiz_title(stored), draft=draft,
        live=versions.current_version(db.session, stored),
        questions=questions, type_names=TYPE_NAMES,
        texts=texts or _texts_form(data), add=QuestionAddForm(), errors=errors or [],
        changes=[c.render(_) for c in drafts.pending_changes(db.session, stored)],
        history=versions.history(db.session, stored),
        campaigns=access.campaigns_using_quiz(db.session, stored.slug),
        may_publish=access.may_publish_quiz(db.session, stored.slug, current_user))


@bp.get("/quizzes/<quiz_slug>")
def quiz(quiz_slug: str):  # noqa: ANN201
    stored = quiz_or_404(quiz_slug)
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
                     errors=refused_lines(exc), status=422)
    db.session.commit()
    if not wants_fragment():  # htmx shows the changed list itself, where the click was
        flash(done, "success")
    # htmx follows the 303 and swaps in the list (the quiz page's fragment); a plain post
    # gets the page.
    return redirect(url_for("console.quiz", quiz_slug=stored.slug), 303)


@bp.post("/quizzes/<quiz_slug>/texts")
def quiz_save_texts(quiz_slug: str):  # noqa: ANN201
    stored = quiz_or_404(quiz_slug)
    data = drafts.working_data(db.session, stored)
    form = _texts_form(data)
    if not form.validate_on_submit():
        return _page(stored, data, texts=form, status=422)
    try:
        drafts.set_texts(data, **{name: {
            "de": getattr(form, f"{name}_de").data,
            "de:sie": getattr(form, f"{name}_de_sie").data,
            "en": getattr(form, f"{name}_en").data} for name in ("title", "intro")})
    except drafts.DraftError as exc:
        form.title_de.errors = [*form.title_de.errors, *refused_lines(exc)]
        return _page(stored, data, texts=form, status=422)
    chosen = form.catalog.data or drafts.catalog_of(data)  # not sent: kept as it is
    if chosen not in dict(form.catalog.choices):
        form.catalog.errors = [_("There is no catalog of that name.")]
        return _page(stored, data, texts=form, status=422)
    drafts.set_catalog(data, chosen)
    return _save(stored, data, _("Title, introduction and catalog saved in the draft."),
                 texts=form)


@bp.post("/quizzes/<quiz_slug>/questions")
def quiz_add_question(quiz_slug: str):  # noqa: ANN201
    stored = quiz_or_404(quiz_slug)
    data = drafts.working_data(db.session, stored)
    form = QuestionAddForm()
    if not form.validate_on_submit():
        return _page(stored, data, errors=[_("Please choose a question type.")], status=422)
    qid = drafts.add_question(data, form.type.data)
    return _save(stored, data, _("Question %(id)s added to the draft.", id=qid))


@bp.post("/quizzes/<quiz_slug>/questions/<qid>/move")
def quiz_move_question(quiz_slug: str, qid: str):  # noqa: ANN201
    stored = quiz_or_404(quiz_slug)
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
    stored = quiz_or_404(quiz_slug)
    data = drafts.working_data(db.session, stored)
    try:
        drafts.remove_question(data, qid)
    except drafts.DraftError as exc:
        if exc.problem.message == drafts.NO_QUESTION:
            abort(404)
        return _page(stored, data, errors=refused_lines(exc), status=422)
    return _save(stored, data, _("Question %(id)s removed from the draft.", id=qid))


@bp.post("/quizzes/<quiz_slug>/discard")
def quiz_discard(quiz_slug: str):  # noqa: ANN201
    stored = quiz_or_404(quiz_slug)
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
    stored = quiz_or_404(quiz_slug)
    _may_publish(stored)
    draft = drafts.draft(db.session, stored)
    if draft is None:
        flash(_("There is no draft to publish: the quiz is as shoppers get it."), "info")
        return leave_to(url_for("console.quiz", quiz_slug=stored.slug))
    try:
        versions.publish(db.session, stored, draft.number)
    except QuizError as exc:  # valid when saved, refused by today's rules
        db.session.rollback()
        return _page(stored, drafts.working_data(db.session, stored), errors=refused_lines(exc),
                     status=422)
    db.session.commit()
    log.info("quiz %s version %s published in the console by %s", stored.slug, draft.number,
             current_user.id)
    flash(_("Version %(number)s published: shoppers get it from now on.",
            number=draft.number), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


@bp.post("/quizzes/<quiz_slug>/versions/<int:number>/rollback")
def quiz_roll_back(quiz_slug: str, number: int):  # noqa: ANN201
    stored = quiz_or_404(quiz_slug)
    _may_publish(stored)
    try:
        versions.roll_back(db.session, stored, number)
    except versions.VersionError:
        abort(404)
    except QuizError as exc:
        db.session.rollback()
        return _page(stored, drafts.working_data(db.session, stored), errors=refused_lines(exc),
                     status=422)
    db.session.commit()
    flash(_("Version %(number)s is live again.", number=number), "success")
    return leave_to(url_for("console.quiz", quiz_slug=stored.slug))


@bp.get("/quizzes/<quiz_slug>/versions/<int:number>.yaml")
def quiz_version_file(quiz_slug: str, number: int):  # noqa: ANN201
    """A version as its file: what `flask quiz export` prints, to keep, review or import."""
    stored = quiz_or_404(quiz_slug)
    try:
        found = versions.version(db.session, stored, number)
    except versions.VersionError:
        abort(404)
    response = Response(found.content, mimetype="application/yaml")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{stored.slug}-v{number}.yaml"')
    return response


# --------------------------------------------------------------------- one question

def _number(raw: str | None) -> int | float | str | None:
    """A number as a German marketer types it (7,5 or 7.5); left as typed if it is none, so
    the format names the field."""
    text = (raw or "").strip().replace(",", ".")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def _maps_to(choice: str) -> str | dict | None:
    if choice in ("price_max", "price_min"):
        return choice
    if choice.startswith("attribute:"):
        _, name, bound = choice.split(":", 2) if choice.count(":") == 2 else (None, "", "")
        return {"attribute": name, "bound": bound} if name and bound in ("min", "max") else None
    return None


def _maps_to_choice(raw: object) -> str:
    if isinstance(raw, dict):
        return f"attribute:{raw.get('attribute')}:{raw.get('bound', 'max')}"
    return str(raw or "")


def _listed(values: list[str] | None) -> list[str] | None:
    return [v for v in values or [] if v] or None


def _option_edit(form: Any, qtype: str) -> drafts.OptionEdit:
    spec: dict[str, Any] = {key: _listed(getattr(form, f"filter_{key}").data)
                            for key in ("category", "product_type", "tags")}
    exclude: dict[str, Any] = {key: _listed(getattr(form, f"exclude_{key}").data)
                               for key in ("category", "product_type", "tags")}
    for key in ("price_min", "price_max"):
        spec[key] = _number(getattr(form, f"filter_{key}").data)
    name = (form.filter_attribute.data or "").strip()
    if name:
        wanted = [v.strip() for v in (form.filter_attribute_values.data or "").split(",")
                  if v.strip()]
        bounds = {k: _number(getattr(form, f"filter_attribute_{k}").data)
                  for k in ("min", "max")}
        bounds = {k: v for k, v in bounds.items() if v is not None}
        spec["attributes"] = {name: bounds or wanted or None}
    return drafts.OptionEdit(
        value=form.value.data.strip(),
        label={"de": form.label_de.data, "de:sie": form.label_de_sie.data,
               "en": form.label_en.data},
        reason={"de": form.reason_de.data, "de:sie": form.reason_de_sie.data,
                "en": form.reason_en.data},
        image=(form.image.data or "").strip() or None if qtype == "image" else None,
        filter={k: v for k, v in spec.items() if v is not None and v != []},
        exclude={k: v for k, v in exclude.items() if v},
        content_title=_fields_of(form, "content_title"),
        content_body=_fields_of(form, "content_body"))


def _fields_of(form: Any, name: str) -> dict[str, str]:
    """A text's three fields (German du and Sie, English) as the engine takes them."""
    return {"de": getattr(form, f"{name}_de").data, "de:sie": getattr(form, f"{name}_de_sie").data,
            "en": getattr(form, f"{name}_en").data}


def _question_edit(form: QuestionForm, qtype: str) -> drafts.QuestionEdit:
    picked = [v.split("=", 1) for v in form.show_if.data or [] if "=" in v]
    asked = sorted({q for q, _v in picked})
    return drafts.QuestionEdit(
        text={"de": form.text_de.data, "de:sie": form.text_de_sie.data, "en": form.text_en.data},
        help={"de": form.help_de.data, "de:sie": form.help_de_sie.data, "en": form.help_en.data},
        required=form.required.data, match=form.match.data or "auto",
        # Answers of one question only: the first one picked, if several were.
        show_if_question=asked[0] if asked else "",
        show_if_values=[v for q, v in picked if asked and q == asked[0]],
        options=[_option_edit(entry.form, qtype) for entry in form.options],
        min_choices=form.min_choices.data, max_choices=form.max_choices.data,
        range={"min": _number(form.range_min.data), "max": _number(form.range_max.data),
               "step": _number(form.range_step.data),
               "default": _number(form.range_default.data),
               "unit": (form.range_unit.data or "").strip() or None,
               "maps_to": _maps_to(form.maps_to.data or "")},
        max_length=form.max_length.data)


def _fill(form: QuestionForm, question: dict) -> None:
    """The form as the question is stored (a GET, or after adding or removing an option)."""
    for name in ("text", "help"):
        fields = drafts.text_value(question.get(name))
        getattr(form, f"{name}_de").data = fields["de"]
        getattr(form, f"{name}_de_sie").data = fields["de:sie"]
        getattr(form, f"{name}_en").data = fields["en"]
    form.required.data = question.get("required", True) is not False
    form.match.data = question.get("match", "auto")
    condition = question.get("show_if") or {}
    values = condition.get("in") or ([condition["equals"]] if "equals" in condition else [])
    form.show_if.data = [f"{condition.get('question')}={drafts.value_text(v)}" for v in values]
    form.min_choices.data, form.max_choices.data = (question.get("min_choices"),
                                                    question.get("max_choices"))
    for key in ("min", "max", "step", "default", "unit"):
        value = question.get(key)
        getattr(form, f"range_{key}").data = "" if value is None else str(value)
    form.maps_to.data = _maps_to_choice(question.get("maps_to"))
    form.max_length.data = question.get("max_length")
    while form.options.entries:
        form.options.pop_entry()
    for option in question.get("options") or []:
        form.options.append_entry()
        entry = form.options.entries[-1].form
        entry.value.data = drafts.value_text(option.get("value"))
        label = drafts.text_value(option.get("label"))
        entry.label_de.data, entry.label_de_sie.data, entry.label_en.data = (
            label["de"], label["de:sie"], label["en"])
        reason = drafts.text_value(option.get("reason"))
        entry.reason_de.data, entry.reason_de_sie.data, entry.reason_en.data = (
            reason["de"], reason["de:sie"], reason["en"])
        entry.image.data = option.get("image") or ""
        for part in ("filter", "exclude"):
            spec = option.get(part) or {}
            for key in ("category", "product_type", "tags"):
                raw = spec.get(key)
                getattr(entry, f"{part}_{key}").data = (
                    [str(v) for v in raw] if isinstance(raw, list)
                    else [str(raw)] if raw is not None else [])
        for key in ("price_min", "price_max"):
            value = (option.get("filter") or {}).get(key)
            getattr(entry, f"filter_{key}").data = "" if value is None else str(value)
        attributes = (option.get("filter") or {}).get("attributes") or {}
        name, wanted = next(iter(attributes.items()), ("", None))
        entry.filter_attribute.data = name
        if isinstance(wanted, dict):
            entry.filter_attribute_min.data = str(wanted.get("min", ""))
            entry.filter_attribute_max.data = str(wanted.get("max", ""))
        elif wanted is not None:
            entry.filter_attribute_values.data = ", ".join(
                str(v) for v in (wanted if isinstance(wanted, list) else [wanted]))
        content = option.get("content")
        first = content[0] if isinstance(content, list) and content else content or {}
        for part in ("title", "body"):
            text = drafts.text_value(first.get(part))
            for key, suffix in (("de", "de"), ("de:sie", "de_sie"), ("en", "en")):
                getattr(entry, f"content_{part}_{suffix}").data = text[key]


def _choices(form: QuestionForm, facts: picker.CatalogFacts, earlier: list) -> None:
    """What the selects offer: the catalog's own values with their product counts."""
    def counted(pairs: tuple[tuple[str, int], ...]) -> list[tuple[str, str]]:
        return [(value, f"{value} ({count})") for value, count in pairs]

    form.show_if.choices = [(f"{qid}={value}", f"{text or qid}: {label}")
                            for qid, text, options in earlier for value, label in options]
    numeric = facts.numeric_attributes()
    form.maps_to.choices = [("", _("nothing (the answer is only stored)")),
                            ("price_max", _("the price: at most the number")),
                            ("price_min", _("the price: at least the number"))] + [
        (f"attribute:{a.name}:{bound}", label % {"name": a.name, "low": f"{a.low:g}",
                                                 "high": f"{a.high:g}"})
        for a in numeric for bound, label in (
            ("max", _("%(name)s: at most the number (catalog: %(low)s–%(high)s)")),
            ("min", _("%(name)s: at least the number (catalog: %(low)s–%(high)s)")))]
    attributes = [("", _("no attribute"))] + [
        (a.name, f"{a.name} ({a.count})") for a in facts.attributes]
    for entry in form.options:
        option = entry.form
        for part in ("filter", "exclude"):
            getattr(option, f"{part}_category").choices = counted(facts.categories)
            getattr(option, f"{part}_product_type").choices = counted(facts.product_types)
            getattr(option, f"{part}_tags").choices = counted(facts.tags)
        option.filter_attribute.choices = attributes


def _counts(stored: StoredQuiz, data: drafts.Data, qid: str
            ) -> tuple[Quiz | None, list, list[str]]:
    """The quiz as the data stands (the draft, or the form's unsaved values), each of the
    question's options with its product count and a few titles; or why it cannot be read."""
    try:
        quiz = parse_quiz(drafts.text_of({**data, "slug": stored.slug}), "")
    except QuizError as exc:
        return None, [], refused_lines(exc)
    question = next(q for q in quiz.questions if q.id == qid)
    return quiz, [(option.value, picker.option_matches(db.session, option.filter,
                                                       option.exclude, quiz.catalog))
                  for option in question.options], []


def _question_page(stored: StoredQuiz, data: drafts.Data, qid: str, form: QuestionForm,
                   errors: list[str] | None = None, status: int = 200,
                   counted: drafts.Data | None = None) -> Response:
    """The question's page (or, for htmx, the counts alone); ``counted``: the data to count
    the options of, when it is not the stored draft (the form's unsaved values)."""
    question = drafts.question_of(data, qid)
    facts = picker.catalog_facts(db.session, drafts.catalog_of(data))
    _choices(form, facts, drafts.earlier_choices(data, qid))
    quiz, counts, count_errors = _counts(stored, counted or data, qid)
    locale, tone = _preview_tone()
    preview_url = url_for("console.quiz_question_preview", quiz_slug=stored.slug, qid=qid,
                          locale=locale, tone=tone)
    return render_page(
        "console/quiz_question.html", "console/_quiz_counts.html", status,
        quiz=stored, title=quiz_title(stored), question=question, qid=qid,
        qtype=question.get("type", "single"), type_names=TYPE_NAMES, form=form,
        facts=facts, counts=dict(counts), count_errors=count_errors, errors=errors or [],
        draft=drafts.draft(db.session, stored), locale=locale, tone=tone, tones=PREVIEW_TONES,
        # Beside the form, the question as shoppers will see it, as the form stands.
        preview=Markup(_preview_question(quiz, qid, locale, tone, preview_url, False))
        if quiz is not None else None)


def _preview_tone() -> tuple[str, str]:
    """The language and tone a preview is asked in (``?locale=&tone=``), German du else."""
    pair = (request.args.get("locale", "de"), request.args.get("tone", "du"))
    return pair if pair in PREVIEW_TONES else ("de", "du")


def _draft_question(quiz_slug: str, qid: str) -> tuple[StoredQuiz, drafts.Data, drafts.Data]:
    """The quiz, its draft's data and the question ``qid`` of it; 404 for either unknown."""
    stored = quiz_or_404(quiz_slug)
    data = drafts.working_data(db.session, stored)
    try:
        return stored, data, drafts.question_of(data, qid)
    except drafts.DraftError:
        abort(404)


@bp.get("/quizzes/<quiz_slug>/questions/<qid>")
def quiz_question(quiz_slug: str, qid: str):  # noqa: ANN201
    stored, data, question = _draft_question(quiz_slug, qid)
    form = QuestionForm(formdata=None)
    _fill(form, question)
    return _question_page(stored, data, qid, form)


@bp.get("/quizzes/<quiz_slug>/questions/<qid>/counts")
def quiz_question_counts(quiz_slug: str, qid: str):  # noqa: ANN201
    """The products each option leaves with the form's values as they are, unsaved: htmx
    asks on every change and gets the counts; the page itself shows the saved draft's."""
    stored, data, question = _draft_question(quiz_slug, qid)
    form = QuestionForm(request.args, meta={"csrf": False})
    _choices(form, picker.catalog_facts(db.session, drafts.catalog_of(data)),
             drafts.earlier_choices(data, qid))
    counted = None
    if form.validate():
        counted = copy.deepcopy(data)
        drafts.edit_question(counted, qid, _question_edit(form, question.get("type", "single")))
    return _question_page(stored, data, qid, form, counted=counted)


def _pictures(edit: drafts.QuestionEdit) -> list[str]:
    """Store the pictures uploaded for the answers (a file field per answer) and name them
    in the edit; what was refused, each naming its answer."""
    refused = []
    for number, option in enumerate(edit.options):
        upload = request.files.get(f"options-{number}-upload")
        if upload is None or not upload.filename:
            continue
        try:
            option.image = images.store_image(db.session, upload.stream, upload.filename)
        except Problem as problem:
            refused.append(_("Answer %(n)s", n=number + 1) + ": " + problem.render(_))
    return refused


@bp.post("/quizzes/<quiz_slug>/questions/<qid>")
@accepts_upload  # an image question's answers may bring their pictures (each up to 2 MB)
def quiz_question_save(quiz_slug: str, qid: str):  # noqa: ANN201
    stored, data, question = _draft_question(quiz_slug, qid)
    qtype = question.get("type", "single")
    form = QuestionForm()
    earlier = drafts.earlier_choices(data, qid)
    _choices(form, picker.catalog_facts(db.session, drafts.catalog_of(data)), earlier)
    if not form.validate_on_submit():
        return _question_page(stored, data, qid, form, status=422)
    edit = _question_edit(form, qtype)
    refused = _pictures(edit) if qtype == "image" else []
    if refused:
        db.session.rollback()
        return _question_page(stored, data, qid, form, errors=refused, status=422)
    drafts.edit_question(data, qid, edit)
    action = request.form.get("action", "save")
    try:
        if action == "add-option":
            drafts.add_option(data, qid)
        elif action.startswith("remove-option:"):
            drafts.remove_option(data, qid, action.removeprefix("remove-option:"))
        drafts.save(db.session, stored, data)
    except (QuizError, drafts.DraftError) as exc:
        db.session.rollback()
        return _question_page(stored, drafts.working_data(db.session, stored), qid, form,
                              errors=refused_lines(exc), status=422)
    db.session.commit()
    flash(_("Question %(id)s saved in the draft.", id=qid), "success")
    return redirect(url_for("console.quiz_question", quiz_slug=stored.slug, qid=qid), 303)


# --------------------------------------------------------------------- preview

PREVIEW_TONES = (("de", "du"), ("de", "sie"), ("en", "du"))


class PreviewTrip:
    """Stands in for a shopper's journey in the preview: its form posts back to the preview
    (which checks the answer as the quiz would, and stores nothing)."""

    def __init__(self, url: str) -> None:
        self._url = url

    def url(self, endpoint: str, **values: Any) -> str:
        return self._url


def _preview_question(quiz: Quiz, qid: str, locale: str, tone: str, url: str,
                      posted: bool) -> str:
    """The question as the shopper's template shows it, in ``locale`` and ``tone``."""
    from purl.shopper.forms import answer_form
    from purl.shopper.tone import speaking, template_context

    ids = [q.id for q in quiz.questions]
    question = quiz.questions[ids.index(qid)]
    with speaking(locale, tone):
        form = answer_form(question, locale)
        if posted:
            form.validate()
        return render_template(
            "shopper/_question.html", **template_context(), journey=PreviewTrip(url),
            question=question, form=form, position=ids.index(qid) + 1, total=len(ids),
            options={o.value: o for o in question.options}, last=qid == ids[-1],
            back_url=None, as_fragment=False)


@bp.route("/quizzes/<quiz_slug>/questions/<qid>/preview", methods=["GET", "POST"])
def quiz_question_preview(quiz_slug: str, qid: str):  # noqa: ANN201
    """The draft's question as a shopper on a phone sees it, in German du or Sie or in
    English; answering it shows what the quiz would say (nothing is stored)."""
    stored, data, _question = _draft_question(quiz_slug, qid)
    locale, tone = _preview_tone()
    url = url_for("console.quiz_question_preview", quiz_slug=stored.slug, qid=qid,
                  locale=locale, tone=tone)
    try:
        quiz = parse_quiz(drafts.text_of(data), "")
    except QuizError as exc:
        return _page(stored, data, errors=refused_lines(exc), status=422)
    shown = _preview_question(quiz, qid, locale, tone, url, request.method == "POST")
    return render_page(
        "console/quiz_preview.html", "console/_quiz_preview.html",
        quiz=stored, title=quiz_title(stored), qid=qid, locale=locale, tone=tone,
        tones=PREVIEW_TONES, shown=Markup(shown))
