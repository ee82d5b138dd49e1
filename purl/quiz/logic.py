"""Quiz logic: what to ask next, saving answers, and what the answers mean for the catalog.

The quiz only records and interprets answers; the showroom applies the resulting
:class:`Preferences` to the catalog.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from .. import analytics
from ..models import QuizResponse, Recipient, ShopperProfile, utcnow
from .definition import Option, Question, Quiz, localize

log = logging.getLogger(__name__)

Answers = dict[str, Any]


def visible_questions(quiz: Quiz, answers: Answers) -> list[Question]:
    """The questions this shopper is asked, in order."""
    return list(quiz.questions)


def next_question(quiz: Quiz, answers: Answers) -> Question | None:
    """The first question still unanswered, or None when the quiz is complete."""
    return next((q for q in visible_questions(quiz, answers) if q.id not in answers), None)


def previous_question(quiz: Quiz, answers: Answers, question_id: str) -> Question | None:
    asked = visible_questions(quiz, answers)
    ids = [q.id for q in asked]
    if question_id not in ids:
        return None
    i = ids.index(question_id)
    return asked[i - 1] if i > 0 else None


def progress(quiz: Quiz, answers: Answers, question_id: str) -> tuple[int, int]:
    """(position of this question, questions in total) for this shopper's path."""
    ids = [q.id for q in visible_questions(quiz, answers)]
    position = ids.index(question_id) + 1 if question_id in ids else len(ids)
    return position, len(ids)


def clean_value(question: Question, raw: list[str]) -> str | list[str]:
    """Turn submitted values into the stored answer; raise ValueError for values not offered."""
    offered = {o.value for o in question.options}
    values = [v for v in raw if v != ""]
    unknown = [v for v in values if v not in offered]
    if unknown:
        raise ValueError(f"not an option of {question.id!r}: {unknown[0]!r}")
    if question.type == "single":
        if len(values) != 1:
            raise ValueError(f"{question.id!r} takes exactly one answer")
        return values[0]
    if question.required and not values:
        raise ValueError(f"{question.id!r} needs at least one answer")
    # Keep the quiz's order, drop repeats.
    return [o.value for o in question.options if o.value in values]


def start(
    session: Session, profile: ShopperProfile, quiz: Quiz, recipient: Recipient | None
) -> QuizResponse:
    """The profile's response to this quiz, created (and counted as started) on first use."""
    response = session.query(QuizResponse).filter_by(
        profile_id=profile.id, quiz_slug=quiz.slug
    ).one_or_none()
    if response is None:
        response = QuizResponse(
            profile_id=profile.id, quiz_slug=quiz.slug, quiz_version=quiz.version, answers={}
        )
        session.add(response)
        session.flush()
        analytics.record(
            session, "quiz_start", recipient=recipient, profile=profile,
            quiz_slug=quiz.slug, quiz_version=quiz.version,
        )
    return response


def save_answer(
    session: Session,
    response: QuizResponse,
    quiz: Quiz,
    question: Question,
    value: str | list[str],
    recipient: Recipient | None,
) -> Question | None:
    """Store one answer and return the next question (None when complete)."""
    answers = dict(response.answers or {})
    answers[question.id] = value
    # Answers to questions this path no longer asks would be stale: drop them.
    asked = {q.id for q in visible_questions(quiz, answers)}
    answers = {k: v for k, v in answers.items() if k in asked}
    response.answers = answers  # a new dict, so SQLAlchemy sees the change
    response.quiz_version = quiz.version
    analytics.record(
        session, "answer", recipient=recipient, profile=response.profile,
        quiz_slug=quiz.slug, quiz_version=quiz.version, question_id=question.id,
    )
    upcoming = next_question(quiz, answers)
    if upcoming is None and response.completed_at is None:
        response.completed_at = utcnow()
        analytics.record(
            session, "quiz_complete", recipient=recipient, profile=response.profile,
            quiz_slug=quiz.slug, quiz_version=quiz.version,
        )
    session.flush()
    return upcoming


@dataclass(frozen=True)
class Criterion:
    """One chosen option, as the showroom sees it: a label, hard filters, soft weights."""

    question_id: str
    label: str
    filter: dict[str, Any]
    prefer_tags: dict[str, float]


@dataclass
class Preferences:
    """Catalog constraints and preferences stated through the quiz."""

    categories: set[str] | None = None
    product_types: set[str] | None = None
    tags_any: set[str] | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    tag_weights: dict[str, float] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)


def _intersect(current: set[str] | None, new: set[str]) -> set[str]:
    return set(new) if current is None else current & new


def preferences(quiz: Quiz, answers: Answers, locale: str = "de") -> Preferences:
    """What the answers mean for the catalog: options within a question widen (OR), questions
    narrow (AND)."""
    prefs = Preferences()
    for question in visible_questions(quiz, answers):
        value = answers.get(question.id)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        chosen: list[Option] = [o for o in question.options if o.value in values]
        by_field: dict[str, set[str]] = {}
        maxes: list[Decimal] = []
        mins: list[Decimal] = []
        for option in chosen:
            for key in ("category", "product_type", "tags"):
                if key in option.filter:
                    raw = option.filter[key]
                    by_field.setdefault(key, set()).update(raw if isinstance(raw, list) else [raw])
            if "price_max" in option.filter:
                maxes.append(option.filter["price_max"])
            if "price_min" in option.filter:
                mins.append(option.filter["price_min"])
            for tag, weight in option.prefer_tags.items():
                prefs.tag_weights[tag] = prefs.tag_weights.get(tag, 0.0) + weight
            if option.filter or option.prefer_tags:
                prefs.criteria.append(Criterion(
                    question.id, localize(option.label, locale), option.filter, option.prefer_tags
                ))
        if "category" in by_field:
            prefs.categories = _intersect(prefs.categories, by_field["category"])
        if "product_type" in by_field:
            prefs.product_types = _intersect(prefs.product_types, by_field["product_type"])
        if "tags" in by_field:
            prefs.tags_any = _intersect(prefs.tags_any, by_field["tags"])
        if maxes and len(maxes) == len(chosen):  # an option without a cap means "any price"
            cap = max(maxes)
            prefs.price_max = cap if prefs.price_max is None else min(prefs.price_max, cap)
        if mins and len(mins) == len(chosen):
            floor = min(mins)
            prefs.price_min = floor if prefs.price_min is None else max(prefs.price_min, floor)
    return prefs


@dataclass(frozen=True)
class Chip:
    """One given answer, as shown on the showroom's "change answers" chips."""

    question_id: str
    label: str


def answer_chips(quiz: Quiz, answers: Answers, locale: str = "de") -> list[Chip]:
    chips = []
    for question in visible_questions(quiz, answers):
        value = answers.get(question.id)
        values = value if isinstance(value, list) else [value]
        labels = [localize(o.label, locale) for o in question.options if o.value in values]
        if labels:
            chips.append(Chip(question.id, ", ".join(labels)))
    return chips
