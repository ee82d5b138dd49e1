"""Quiz definitions: YAML files in ``quizzes/``, loaded into plain dataclasses.

A quiz is content, reviewed like code. Loading validates it and every problem names the file,
the question and what is wrong, so ``flask quiz check`` and the app's log say the same thing.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

QUESTION_TYPES = {"single", "multi"}
FILTER_FIELDS = {"category", "product_type", "tags", "price_min", "price_max"}
LOCALES = ("de", "en")


class QuizError(ValueError):
    """A quiz file that cannot be served; the message names file, question and problem."""


Text = dict[str, str]


def localize(text: Text, locale: str) -> str:
    """The text in ``locale``, falling back to German, then to whatever there is."""
    return text.get(locale[:2]) or text.get("de") or next(iter(text.values()), "")


@dataclass(frozen=True)
class Option:
    value: str
    label: Text
    filter: dict[str, Any] = field(default_factory=dict)
    prefer_tags: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: Text
    options: tuple[Option, ...]
    help: Text = field(default_factory=dict)
    required: bool = True

    def option(self, value: str) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Quiz:
    slug: str
    version: str
    title: Text
    intro: Text
    questions: tuple[Question, ...]
    public: bool = True
    source: str = ""

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def index(self, question_id: str) -> int:
        return next(i for i, q in enumerate(self.questions) if q.id == question_id)


def _text(raw: Any, where: str) -> Text:
    if isinstance(raw, str):
        return {"de": raw}
    if isinstance(raw, dict) and raw and all(isinstance(v, str) for v in raw.values()):
        unknown = set(raw) - set(LOCALES)
        if unknown:
            raise QuizError(f"{where}: unknown language {sorted(unknown)}, use {list(LOCALES)}")
        return dict(raw)
    raise QuizError(f"{where}: expected a text or a mapping of language to text")


def _option(raw: Any, where: str) -> Option:
    if not isinstance(raw, dict) or "value" not in raw or "label" not in raw:
        raise QuizError(f"{where}: each option needs a value and a label")
    value = str(raw["value"])
    where = f"{where}, option {value!r}"
    filt = raw.get("filter") or {}
    if not isinstance(filt, dict):
        raise QuizError(f"{where}: filter must be a mapping")
    unknown = set(filt) - FILTER_FIELDS
    if unknown:
        raise QuizError(
            f"{where}: filter on unknown catalog field {sorted(unknown)[0]!r} "
            f"(known: {', '.join(sorted(FILTER_FIELDS))})"
        )
    for key in ("price_min", "price_max"):
        if key in filt:
            try:
                filt[key] = Decimal(str(filt[key]))
            except InvalidOperation:
                raise QuizError(f"{where}: {key} must be a number") from None
    prefer = raw.get("prefer") or {}
    tags = prefer.get("tags", {}) if isinstance(prefer, dict) else None
    if not isinstance(tags, dict):
        raise QuizError(f"{where}: prefer.tags must map tag to weight")
    return Option(
        value=value,
        label=_text(raw["label"], where),
        filter=filt,
        prefer_tags={str(k): float(v) for k, v in tags.items()},
    )


def _question(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise QuizError(f"{where}: every question needs an id")
    qid = str(raw["id"])
    where = f"{where.rsplit(',', 1)[0]}, question {qid!r}"
    qtype = raw.get("type", "single")
    if qtype not in QUESTION_TYPES:
        known = ", ".join(sorted(QUESTION_TYPES))
        raise QuizError(f"{where}: unknown type {qtype!r} (known: {known})")
    raw_options = raw.get("options")
    if not isinstance(raw_options, list) or len(raw_options) < 2:
        raise QuizError(f"{where}: needs at least two options")
    options = tuple(_option(o, where) for o in raw_options)
    seen: set[str] = set()
    for option in options:
        if option.value in seen:
            raise QuizError(f"{where}: duplicate option value {option.value!r}")
        seen.add(option.value)
    return Question(
        id=qid,
        type=qtype,
        text=_text(raw.get("text"), where),
        options=options,
        help=_text(raw["help"], where) if raw.get("help") else {},
        required=bool(raw.get("required", True)),
    )


def parse_quiz(content: str, source: str) -> Quiz:
    """Parse and validate one quiz file's text; raise QuizError naming ``source``."""
    try:
        raw = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        raise QuizError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise QuizError(f"{source}: expected a mapping with slug, title and questions")
    slug = raw.get("slug")
    if not slug or not isinstance(slug, str):
        raise QuizError(f"{source}: missing slug")
    questions_raw = raw.get("questions")
    if not isinstance(questions_raw, list) or not questions_raw:
        raise QuizError(f"{source}: needs a list of questions")
    questions = tuple(_question(q, f"{source}, question #{i + 1}")
                      for i, q in enumerate(questions_raw))
    ids = [q.id for q in questions]
    for qid in ids:
        if ids.count(qid) > 1:
            raise QuizError(f"{source}, question {qid!r}: duplicate question id")
    return Quiz(
        slug=slug,
        # The content hash lets old answers be read against the file they were given to.
        version=hashlib.sha256(content.encode()).hexdigest()[:12],
        title=_text(raw.get("title", slug), f"{source}: title"),
        intro=_text(raw["intro"], f"{source}: intro") if raw.get("intro") else {},
        questions=questions,
        public=bool(raw.get("public", True)),
        source=source,
    )


_cache: dict[Path, tuple[float, Quiz]] = {}


def load_quiz_file(path: Path) -> Quiz:
    """Load one file, reusing the parsed quiz until the file changes."""
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    quiz = parse_quiz(path.read_text(encoding="utf-8"), path.name)
    _cache[path] = (mtime, quiz)
    return quiz


def list_quizzes(folder: str | Path) -> list[Quiz]:
    """Every valid quiz in ``folder``; invalid ones are logged and not served."""
    quizzes = []
    for path in sorted(Path(folder).glob("*.y*ml")):
        try:
            quizzes.append(load_quiz_file(path))
        except QuizError as exc:
            log.error("quiz not served: %s", exc)
    return quizzes


def get_quiz(folder: str | Path, slug: str) -> Quiz | None:
    return next((q for q in list_quizzes(folder) if q.slug == slug), None)
