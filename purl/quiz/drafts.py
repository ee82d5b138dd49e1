"""Editing a quiz in the console: its draft as data, each change checked by the format's
rules before it is stored, and what a draft changes against the version shoppers get.

A quiz is edited as the data of its file (the mapping a YAML file holds); every save writes
that data back as the draft's text. A quiz has at most one draft, its newest version: the
first change after a publication starts a new one, and a draft edited back to a stored
version is no draft any more. Nothing invalid is stored: a change the format refuses raises
``QuizError`` naming the question, option and field, and the draft stays as it was.

Engine style: functions take the session and only flush; the caller commits.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from purl.catalog.catalogs import DEFAULT as DEFAULT_CATALOG
from purl.catalog.recommend import LRU
from purl.models import QuizVersion, StoredQuiz
from purl.quiz import versions
from purl.quiz.format import (
    LOCALES,
    N_,
    QUESTION_TYPES,
    SAFE_DUMPER,
    SLUG,
    Problem,
    content_version,
    load_yaml,
    parse_quiz,
)
from purl.quiz.schema import CHOICE_TYPES

log = logging.getLogger(__name__)

Data = dict[str, Any]
SOURCE = "console"
# The fields of a text the console edits: German in du and Sie, English.
TEXT_FIELDS = ("de", "de:sie", "en")

SLUG_TAKEN = N_("the address %(slug)s is taken by another quiz")
SLUG_FORM = N_("the address takes lower-case letters, digits and - only (up to 64)")
NO_QUESTION = N_("there is no question %(id)s")
LAST_QUESTION = N_("a quiz keeps at least one question")
NO_TITLE = N_("the quiz needs a title, in German at least")


class DraftError(ValueError):
    """A change that cannot be made at all (as opposed to one the format refuses)."""

    def __init__(self, message: str, **params: Any) -> None:
        self.problem = Problem(message, **params)
        super().__init__(str(self.problem))


# ---------------------------------------------------------------- text <-> data

_DATA = LRU(64)  # a content's data by its hash: a text never changes under its hash


def data_of(version: QuizVersion) -> Data:
    """The version's content as the data the console edits (a fresh copy each time)."""
    loaded = _DATA.get(version.content_hash)
    if loaded is None:
        loaded = _DATA.put(version.content_hash, load_yaml(version.content))
    return copy.deepcopy(loaded) if isinstance(loaded, dict) else {}


def text_of(data: Data) -> str:
    """The data as a quiz file, keys in the order the console keeps them."""
    return yaml.dump(data, Dumper=SAFE_DUMPER, allow_unicode=True, sort_keys=False, width=100)


def value_text(raw: Any) -> str:
    """An option value as the file means it (YAML reads an unquoted yes as true)."""
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return "" if raw is None else str(raw)


def text_value(raw: Any) -> dict[str, str]:
    """A text of the file as the console's fields (``de``, ``de:sie``, ``en``): one string is
    German in both tones, a language's {du, sie} its two forms."""
    if isinstance(raw, str):
        return {"de": raw, "de:sie": "", "en": ""}
    fields = dict.fromkeys(TEXT_FIELDS, "")
    for language, value in (raw or {}).items() if isinstance(raw, dict) else ():
        if isinstance(value, dict):
            fields[language] = str(value.get("du", ""))
            fields[f"{language}:sie"] = str(value.get("sie", ""))
        else:
            fields[language] = str(value)
    return fields


def text_from(fields: dict[str, str], old: Any = None) -> Any:
    """The console's fields as a text of the file; None when every field is empty. A Sie
    form given makes German {du, sie}; an empty one leaves German one text for both. The
    fields a form does not show (``old``'s other languages or tones) are kept."""
    merged = {**text_value(old), **{k: v for k, v in fields.items() if k in TEXT_FIELDS}}
    cleaned = {k: (merged.get(k) or "").strip() for k in TEXT_FIELDS}
    text: dict[str, Any] = {}
    for language in LOCALES:
        du, sie = cleaned.get(language, ""), cleaned.get(f"{language}:sie", "")
        if du and sie:
            text[language] = {"du": du, "sie": sie}
        elif du or sie:
            text[language] = du or sie
    return text or None


# ---------------------------------------------------------------- the draft

def draft(session: Session, stored: StoredQuiz) -> QuizVersion | None:
    """The quiz's draft: its newest version while that is unpublished."""
    newest = versions.latest_version(session, stored)
    return newest if newest is not None and newest.is_draft else None


def catalog_of(data: Data) -> str:
    """The catalog the quiz draws from (``catalog:``; none named: the default one)."""
    return data.get("catalog") or DEFAULT_CATALOG


def set_catalog(data: Data, name: str) -> None:
    """Draw the quiz's showroom from the named catalog (the default one: no ``catalog:``)."""
    if name == DEFAULT_CATALOG:
        data.pop("catalog", None)
    else:
        data["catalog"] = name


def working_data(session: Session, stored: StoredQuiz) -> Data:
    """What the console edits: the draft, else the version shoppers get (else the newest)."""
    base = draft(session, stored) or versions.current_version(session, stored) \
        or versions.latest_version(session, stored)
    return data_of(base) if base is not None else {"slug": stored.slug}


def save(session: Session, stored: StoredQuiz, data: Data) -> QuizVersion:
    """Store ``data`` as the quiz's draft, if the format accepts it (QuizError if not:
    nothing is stored). Content some version holds already needs no draft: the draft, if
    any, goes, and that version is answered."""
    data = {**data, "slug": stored.slug}
    text = text_of(data)
    quiz = parse_quiz(text, "")  # the console names question and field, not the file
    current = draft(session, stored)
    same = session.scalar(select(QuizVersion).where(
        QuizVersion.quiz_id == stored.id, QuizVersion.content_hash == quiz.version))
    live = versions.current_version(session, stored)
    if same is None and live is not None and data_of(live) == data:
        same = live  # the same quiz, written by hand with comments: no change to publish
    if same is not None:
        if current is not None and current.id != same.id:
            session.delete(current)
        session.flush()
        return same
    if current is None:
        number = (session.scalar(select(func.max(QuizVersion.number))
                                 .where(QuizVersion.quiz_id == stored.id)) or 0) + 1
        current = QuizVersion(quiz=stored, number=number, source=SOURCE)
        session.add(current)
    current.content, current.content_hash = text, content_version(text)
    stored.title = dict(quiz.title)
    session.flush()
    log.info("quiz %s: draft version %s saved", stored.slug, current.number)
    return current


def discard(session: Session, stored: StoredQuiz) -> bool:
    """Throw the draft away (the published version stays); False if there was none."""
    current = draft(session, stored)
    if current is None:
        return False
    session.delete(current)
    session.flush()
    return True


# ---------------------------------------------------------------- new quizzes

def blank(slug: str, title: str) -> Data:
    """A new quiz's data: its title and one question to start from."""
    return {"slug": slug, "public": False, "title": {"de": title},
            "questions": [new_question("single", 1)]}


def copy_of(data: Data, slug: str, title: str) -> Data:
    """Another quiz's data under a new address and title; not public and tied to no
    visitor campaign until the marketer says so."""
    copied = copy.deepcopy(data)
    copied.update(slug=slug, public=False, title={"de": title})
    copied.pop("visitor_campaign", None)
    return copied


def create(session: Session, slug: str, data: Data) -> StoredQuiz:
    """A new quiz at ``slug`` with ``data`` as its first draft (DraftError if the address
    is taken or malformed, QuizError if the data is refused)."""
    if not SLUG.match(slug):
        raise DraftError(SLUG_FORM)
    if versions.stored_quiz(session, slug) is not None:
        raise DraftError(SLUG_TAKEN, slug=repr(slug))
    text = text_of({**data, "slug": slug})
    quiz = parse_quiz(text, "")
    stored = StoredQuiz(slug=slug, title=dict(quiz.title))
    session.add(stored)
    session.flush()
    session.add(QuizVersion(quiz=stored, number=1, content=text, content_hash=quiz.version,
                            source=SOURCE))
    session.flush()
    log.info("quiz %s created in the console", slug)
    return stored


# ---------------------------------------------------------------- questions

_PLACEHOLDER = {"de": {"du": "Neue Frage – was möchtest du wissen?",
                       "sie": "Neue Frage – was möchten Sie wissen?"}}


def new_question(qtype: str, number: int) -> Data:
    """A question of ``qtype`` to start from: placeholder text, and what its type needs
    (two options, a range's bounds), so that it is valid at once."""
    if qtype not in QUESTION_TYPES:
        raise DraftError(N_("unknown type %(type)s (known: %(known)s)"), type=repr(qtype),
                         known=", ".join(sorted(QUESTION_TYPES)))
    question: Data = {"id": f"frage-{number}", "type": qtype, "text": copy.deepcopy(_PLACEHOLDER)}
    if qtype in CHOICE_TYPES and qtype != "yesno":
        question["options"] = [{"value": f"antwort-{k}", "label": {"de": f"Antwort {k}"}}
                               for k in (1, 2)]
        if qtype == "image":
            for option in question["options"]:
                option["image"] = "img/quiz/placeholder.svg"
    elif qtype == "yesno":
        question["options"] = [{"value": "yes"}, {"value": "no"}]
    elif qtype == "range":
        question.update(min=0, max=100, step=5, unit="€", maps_to="price_max")
    return question


def _index(data: Data, qid: str) -> int:
    for i, question in enumerate(data.get("questions") or []):
        if isinstance(question, dict) and str(question.get("id")) == qid:
            return i
    raise DraftError(NO_QUESTION, id=repr(qid))


def add_question(data: Data, qtype: str) -> str:
    """Append a new question of ``qtype``; returns its id (the first free ``frage-N``)."""
    questions = data.setdefault("questions", [])
    taken = {str(q.get("id")) for q in questions if isinstance(q, dict)}
    number = len(questions) + 1
    while f"frage-{number}" in taken:
        number += 1
    question = new_question(qtype, number)
    questions.append(question)
    return question["id"]


def move_question(data: Data, qid: str, step: int) -> None:
    """Move a question up (-1) or down (+1); at either end it stays."""
    questions = data["questions"]
    at = _index(data, qid)
    to = min(max(at + step, 0), len(questions) - 1)
    questions.insert(to, questions.pop(at))


def remove_question(data: Data, qid: str) -> None:
    """Take a question out (a later question's show_if on it is then refused by the format,
    naming that question)."""
    at = _index(data, qid)
    if len(data["questions"]) == 1:
        raise DraftError(LAST_QUESTION)
    del data["questions"][at]


def set_texts(data: Data, **texts: dict[str, str]) -> None:
    """Set the quiz's title and intro (fields as ``text_value`` gives them); an intro left
    empty is dropped, a title left empty is refused (shoppers see it above every question)."""
    values = {name: text_from(fields) for name, fields in texts.items()}
    if "title" in values and values["title"] is None:
        raise DraftError(NO_TITLE)
    for name, value in values.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value


# ---------------------------------------------------------------- one question's settings

@dataclass
class OptionEdit:
    """One answer option as the console edits it; ``filter`` and ``exclude`` are the
    file's mappings (category, product_type, tags: lists; attributes: name -> spec)."""

    value: str
    label: dict[str, str]
    reason: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    filter: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)
    content_title: dict[str, str] = field(default_factory=dict)
    content_body: dict[str, str] = field(default_factory=dict)


@dataclass
class QuestionEdit:
    """A question's settings from the console (each text as ``text_value`` fields)."""

    text: dict[str, str]
    help: dict[str, str] = field(default_factory=dict)
    required: bool = True
    match: str = "auto"
    show_if_question: str = ""
    show_if_values: list[str] = field(default_factory=list)
    options: list[OptionEdit] = field(default_factory=list)
    min_choices: int | None = None
    max_choices: int | None = None
    range: dict[str, Any] = field(default_factory=dict)  # min, max, step, default, unit, maps_to
    max_length: int | None = None


def question_of(data: Data, qid: str) -> Data:
    """The question ``qid`` of the data (DraftError if there is none)."""
    return data["questions"][_index(data, qid)]


def earlier_choices(data: Data, qid: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The choice questions before ``qid`` a condition may test: (id, German text, [(option
    value, German label)])."""
    found = []
    for question in data["questions"][:_index(data, qid)]:
        qtype = question.get("type", "single")
        if qtype not in CHOICE_TYPES:
            continue
        options = []
        for option in question.get("options") or []:
            value = value_text(option.get("value"))
            label = text_value(option.get("label")).get("de") or value
            options.append((value, label))
        found.append((str(question["id"]), text_value(question.get("text"))["de"], options))
    return found


def _set(target: Data, key: str, value: Any) -> None:
    if value in (None, "", [], {}):
        target.pop(key, None)
    else:
        target[key] = value


def edit_question(data: Data, qid: str, edit: QuestionEdit) -> None:
    """Apply the console's settings to question ``qid``: what the form holds replaces what
    the question had; what it does not show (preferences, a second content block, CRM
    answers) is kept."""
    question = question_of(data, qid)
    qtype = question.get("type", "single")
    _set(question, "text", text_from(edit.text, question.get("text")))
    _set(question, "help", text_from(edit.help, question.get("help")))
    if edit.required != (question.get("required", True) is not False):
        _set(question, "required", None if edit.required else False)
    if edit.match != question.get("match", "auto"):
        _set(question, "match", None if edit.match == "auto" else edit.match)
    if edit.show_if_question:
        values = edit.show_if_values
        condition = {"question": edit.show_if_question,
                     **({"equals": values[0]} if len(values) == 1 else {"in": values})}
        if condition != _plain_condition(question.get("show_if")):
            question["show_if"] = condition
    elif question.get("show_if") is not None and _plain_condition(question["show_if"]):
        question.pop("show_if", None)
    if qtype == "multi":
        _set(question, "min_choices", edit.min_choices)
        _set(question, "max_choices", edit.max_choices)
    if qtype == "range":
        for key in ("min", "max", "step", "default", "unit", "maps_to"):
            _set(question, key, edit.range.get(key))
    if qtype == "text":
        _set(question, "max_length", edit.max_length)
    if qtype in CHOICE_TYPES:
        question["options"] = [_option(old, new) for old, new in zip(
            _padded(question.get("options") or [], len(edit.options)), edit.options,
            strict=True)]


def _plain_condition(raw: Any) -> dict | None:
    """A condition the form can show (one question, some of its answers), as it would
    write it; None for none or for a combination (not/all/any), which the form keeps."""
    if not isinstance(raw, dict) or "question" not in raw:
        return None
    values = [value_text(v) for v in raw.get("in") or [raw.get("equals")]]
    return {"question": str(raw["question"]),
            **({"equals": values[0]} if len(values) == 1 else {"in": values})}


def _padded(options: list[Data], length: int) -> list[Data]:
    return (list(options) + [{}] * length)[:length]


def _as_written(old: Any, new: Any) -> Any:
    """``new`` as the file had it, when it means the same: a single value for a list of
    one, a mapping kept as written; so a form sent back unchanged changes nothing."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _as_written(old.get(k), v) for k, v in new.items()}
    if isinstance(new, list) and old is not None and not isinstance(old, dict) and [
            value_text(v) for v in (old if isinstance(old, list) else [old])] == new:
        return old
    return new


def _option(old: Data, edit: OptionEdit) -> Data:
    option = dict(old)
    if value_text(old.get("value")) != edit.value:
        option["value"] = edit.value
    _set(option, "label", text_from(edit.label, old.get("label")))
    _set(option, "reason", text_from(edit.reason, old.get("reason")))
    _set(option, "image", edit.image)
    _set(option, "filter", _as_written(old.get("filter"), edit.filter))
    _set(option, "exclude", _as_written(old.get("exclude"), edit.exclude))
    blocks = option.get("content")
    first = (blocks[0] if isinstance(blocks, list) and blocks else blocks) or {}
    rest = blocks[1:] if isinstance(blocks, list) else []
    title = text_from(edit.content_title, first.get("title"))
    body = text_from(edit.content_body, first.get("body"))
    if title or body:
        first = {"title": title, "body": body}
        option["content"] = [first, *rest] if rest else first
    elif rest:
        option["content"] = rest
    else:
        option.pop("content", None)
    return option


def add_option(data: Data, qid: str) -> str:
    """Add an option to a choice question; returns its value (the first free
    ``antwort-N``)."""
    question = question_of(data, qid)
    if question.get("type", "single") not in CHOICE_TYPES - {"yesno"}:
        raise DraftError(N_("only questions with answers to choose from take more options"))
    options = question.setdefault("options", [])
    taken = {str(o.get("value")) for o in options}
    number = len(options) + 1
    while f"antwort-{number}" in taken:
        number += 1
    option: Data = {"value": f"antwort-{number}", "label": {"de": f"Antwort {number}"}}
    if question.get("type") == "image":
        option["image"] = "img/quiz/placeholder.svg"
    options.append(option)
    return option["value"]


def remove_option(data: Data, qid: str, value: str) -> None:
    """Take an option out (answers already given with it stay with their version)."""
    question = question_of(data, qid)
    options = question.get("options") or []
    kept = [o for o in options if value_text(o.get("value")) != value]
    if len(kept) == len(options):
        raise DraftError(N_("there is no option %(value)s"), value=repr(value))
    question["options"] = kept
    # CRM values that answered with it answer nothing now (the question is asked instead).
    answered_by = question.get("answered_by")
    if isinstance(answered_by, dict) and isinstance(answered_by.get("map"), dict):
        answered_by["map"] = {k: v for k, v in answered_by["map"].items()
                              if value_text(v) != value}
        if not answered_by["map"]:
            del question["answered_by"]


# ---------------------------------------------------------------- what changed

@dataclass(frozen=True)
class Change:
    """One line of a publication's summary: a catalog msgid and its values."""

    message: str
    params: dict[str, Any]

    def render(self, gettext: Any = N_) -> str:
        return gettext(self.message) % self.params


def _by_id(data: Data | None) -> dict[str, Data]:
    return {str(q.get("id")): q for q in (data or {}).get("questions") or []
            if isinstance(q, dict)}


def _options(question: Data) -> dict[str, Data]:
    return {str(o.get("value")): o for o in question.get("options") or []
            if isinstance(o, dict)}


_MATCHING = ("filter", "exclude", "prefer")


def changes(before: Data | None, after: Data) -> list[Change]:
    """What publishing ``after`` changes against ``before`` (None: nothing published yet):
    questions added, removed, moved or reworded, options added or removed, their catalog
    filters changed, the title or intro."""
    if before is None:
        return [Change(N_("first version: %(count)s questions"),
                       {"count": len(after.get("questions") or [])})]
    found: list[Change] = []
    for name, message in (("title", N_("the title changed")),
                          ("intro", N_("the introduction changed"))):
        if before.get(name) != after.get(name):
            found.append(Change(message, {}))
    old, new = _by_id(before), _by_id(after)
    for qid in new.keys() - old.keys():
        found.append(Change(N_("question %(id)s added"), {"id": qid}))
    for qid in old.keys() - new.keys():
        found.append(Change(N_("question %(id)s removed"), {"id": qid}))
    kept_old = [q for q in old if q in new]
    kept_new = [q for q in new if q in old]
    if kept_old != kept_new:
        found.append(Change(N_("the order of the questions changed"), {}))
    for qid in kept_new:
        was, now = old[qid], new[qid]
        if was.get("type") != now.get("type"):
            found.append(Change(N_("question %(id)s: type %(was)s → %(now)s"),
                                {"id": qid, "was": was.get("type", "single"),
                                 "now": now.get("type", "single")}))
        if was.get("text") != now.get("text"):
            found.append(Change(N_("question %(id)s: the text changed"), {"id": qid}))
        if was.get("show_if") != now.get("show_if"):
            found.append(Change(N_("question %(id)s: the condition changed"), {"id": qid}))
        before_options, after_options = _options(was), _options(now)
        for value in after_options.keys() - before_options.keys():
            found.append(Change(N_("question %(id)s: option %(value)s added"),
                                {"id": qid, "value": value}))
        for value in before_options.keys() - after_options.keys():
            found.append(Change(N_("question %(id)s: option %(value)s removed"),
                                {"id": qid, "value": value}))
        for value in after_options.keys() & before_options.keys():
            if any(before_options[value].get(k) != after_options[value].get(k)
                   for k in _MATCHING):
                found.append(Change(N_("question %(id)s: option %(value)s filters other "
                                       "products"), {"id": qid, "value": value}))
        other = {k for k in was.keys() | now.keys()
                 if k not in ("type", "text", "show_if", "options") and was.get(k) != now.get(k)}
        if other:
            found.append(Change(N_("question %(id)s: %(fields)s changed"),
                                {"id": qid, "fields": ", ".join(sorted(other))}))
    return found


def pending_changes(session: Session, stored: StoredQuiz) -> list[Change]:
    """What publishing the draft would change for shoppers (empty without a draft)."""
    current = draft(session, stored)
    if current is None:
        return []
    live = versions.current_version(session, stored)
    return changes(data_of(live) if live is not None else None, data_of(current))


_SLUGGISH = re.compile(r"[^a-z0-9]+")


def suggest_slug(title: str) -> str:
    """An address made from a title: lower case, umlauts spelled out, dashes between."""
    text = title.lower()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    return _SLUGGISH.sub("-", text).strip("-")[:64] or "quiz"
