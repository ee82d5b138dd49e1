"""Quiz logic: what to ask next, saving answers, and what the answers mean for the catalog.

The quiz only records and interprets answers; the showroom applies the resulting
:class:`Preferences` to the catalog.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import numbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from purl.analytics import events
from purl.campaigns import offers
from purl.catalog.criteria import Alternative, Constraint, ContentBlock, Criterion, Preferences
from purl.links import recipients as links
from purl.links.identity import visitor_external_id
from purl.models import Campaign, QuizResponse, Recipient, ShopperProfile, utcnow
from purl.quiz.schema import Option, Question, Quiz, localize

log = logging.getLogger(__name__)

Answers = dict[str, Any]


def visible_questions(quiz: Quiz, answers: Answers) -> list[Question]:
    """The questions this shopper is asked, in order: a ``show_if`` sees only the answers to
    questions that are themselves shown, so a hidden branch never keeps a later one alive."""
    shown: list[Question] = []
    seen: Answers = {}
    for question in quiz.questions:
        if question.show_if is None or question.show_if.holds(seen):
            shown.append(question)
            if question.id in answers:
                seen[question.id] = answers[question.id]
    return shown


def profile_answers(quiz: Quiz, recipient: Recipient | None) -> Answers:
    """Answers the recipient's attributes (CRM columns) already give: progressive profiling."""
    if recipient is None:
        return {}
    given: Answers = {}
    for question in quiz.questions:
        if question.answered_by is None:
            continue
        value = question.answered_by.value_for(recipient.attributes)
        if value is not None:
            given[question.id] = [value] if question.type == "multi" else value
    return given


def flow(quiz: Quiz, answers: Answers, known: Answers | None = None) -> list[Question]:
    """The questions this shopper steps through: the visible ones, less those their profile
    answered (while the answer still is the profile's; a changed one is asked like any other)."""
    known = known or {}
    return [q for q in visible_questions(quiz, answers)
            if not (q.id in known and answers.get(q.id) == known[q.id])]


def next_question(quiz: Quiz, answers: Answers) -> Question | None:
    """The first question still unanswered, or None when the quiz is complete."""
    return next((q for q in visible_questions(quiz, answers) if q.id not in answers), None)


def previous_question(
    quiz: Quiz, answers: Answers, question_id: str, known: Answers | None = None
) -> Question | None:
    asked = flow(quiz, answers, known)
    ids = [q.id for q in asked]
    if question_id not in ids:
        # A question reached from the showroom's chips: Back goes to the one before it.
        ids = [q.id for q in visible_questions(quiz, answers)]
        earlier = ids[:ids.index(question_id)] if question_id in ids else []
        candidates = [q for q in asked if q.id in earlier]
        return candidates[-1] if candidates else None
    i = ids.index(question_id)
    return asked[i - 1] if i > 0 else None


def progress(
    quiz: Quiz, answers: Answers, question_id: str, known: Answers | None = None
) -> tuple[int, int]:
    """(position of this question, questions in total) for this shopper's path."""
    ids = [q.id for q in flow(quiz, answers, known)]
    if question_id in ids:
        return ids.index(question_id) + 1, len(ids)
    return max(len([i for i in ids if i in answers]), 1), max(len(ids), 1)


def option_order(question: Question, seed: str) -> list[Option]:
    """The options in the file's order, or shuffled the same way every time for one shopper
    (so Back shows what they saw) but differently across shoppers (no position bias)."""
    if not question.shuffle:
        return list(question.options)

    def key(option: Option) -> str:
        return hashlib.sha256(f"{seed}\x1f{question.id}\x1f{option.value}".encode()).hexdigest()

    return sorted(question.options, key=key)


def _number(value: Decimal) -> int | float:
    """A JSON-friendly number: whole numbers stay ints."""
    return int(value) if value == value.to_integral_value() else float(value)


def clean_value(question: Question, raw: list[str]) -> Any:
    """Turn submitted values into the stored answer; raise ValueError for anything not offered.

    An optional question left empty is stored as None (or []) so the flow moves on.
    """
    values = [v.strip() for v in raw if v is not None and v.strip() != ""]
    if question.type == "text":
        text = values[0] if values else ""
        if len(text) > question.max_length:
            raise ValueError(f"{question.id!r} takes at most {question.max_length} characters")
        if question.required and not text:
            raise ValueError(f"{question.id!r} needs an answer")
        return text or None
    if question.type == "range":
        spec = question.range
        assert spec is not None
        if not values:
            if question.required:
                raise ValueError(f"{question.id!r} needs a number")
            return None
        try:
            number = Decimal(values[0].replace(",", "."))
        except InvalidOperation:
            raise ValueError(f"{question.id!r} needs a number") from None
        if not number.is_finite() or not spec.min <= number <= spec.max:
            raise ValueError(f"{question.id!r} takes {spec.min} to {spec.max}")
        return _number(number)
    offered = {o.value for o in question.options}
    unknown = [v for v in values if v not in offered]
    if unknown:
        raise ValueError(f"not an option of {question.id!r}: {unknown[0]!r}")
    if question.type != "multi":
        if len(values) > 1:
            raise ValueError(f"{question.id!r} takes one answer")
        if not values:
            if question.required:
                raise ValueError(f"{question.id!r} needs an answer")
            return None
        return values[0]
    chosen = [o.value for o in question.options if o.value in values]  # file order, no repeats
    if len(chosen) < question.min_choices:
        raise ValueError(f"{question.id!r} needs at least {question.min_choices} answers")
    if question.max_choices and len(chosen) > question.max_choices:
        raise ValueError(f"{question.id!r} takes at most {question.max_choices} answers")
    return chosen


def start(
    session: Session, profile: ShopperProfile, quiz: Quiz, recipient: Recipient | None
) -> QuizResponse:
    """The profile's response to this quiz, created (and counted as started) on first use.

    Questions the recipient's attributes answer are filled in here, so the flow skips them.
    """
    response = session.query(QuizResponse).filter_by(
        profile_id=profile.id, quiz_slug=quiz.slug
    ).one_or_none()
    if response is None:
        known = profile_answers(quiz, recipient)
        answers = {q.id: known[q.id] for q in visible_questions(quiz, known) if q.id in known}
        response = QuizResponse(
            profile_id=profile.id, quiz_slug=quiz.slug, quiz_version=quiz.version,
            answers=answers,
        )
        session.add(response)
        session.flush()
        events.record(
            session, "quiz_start", recipient=recipient, profile=profile,
            quiz_slug=quiz.slug, quiz_version=quiz.version, offer=_offer_code(recipient, answers),
        )
        if next_question(quiz, answers) is None:  # the profile answered everything
            response.completed_at = utcnow()
            events.record(
                session, "quiz_complete", recipient=recipient, profile=profile,
                quiz_slug=quiz.slug, quiz_version=quiz.version,
                offer=_offer_code(recipient, answers),
            )
    return response


def _offer_code(recipient: Recipient | None, answers: Answers) -> str | None:
    """The offer a recipient is shown with these answers (the funnel counts per offer); the
    campaign is the one the journey loaded, so this asks the database nothing."""
    if recipient is None:
        return None
    offer = offers.offer_for(recipient.campaign, recipient.attributes, answers)
    return offer.code if offer is not None else None


def with_answer(quiz: Quiz, answers: Answers, question: Question, value: Any) -> dict:
    """The answers with this one given: a new dict, without the answers to questions this
    path no longer asks (they would be stale)."""
    given = {**answers, question.id: value}
    asked = {q.id for q in visible_questions(quiz, given)}
    return {k: v for k, v in given.items() if k in asked}


def save_answer(
    session: Session,
    response: QuizResponse,
    quiz: Quiz,
    question: Question,
    value: Any,
    recipient: Recipient | None,
) -> Question | None:
    """Store one answer and return the next question (None when complete)."""
    answers = with_answer(quiz, response.answers or {}, question, value)
    response.answers = answers  # a new dict, so SQLAlchemy sees the change
    response.quiz_version = quiz.version
    events.record(
        session, "answer", recipient=recipient, profile=response.profile,
        quiz_slug=quiz.slug, quiz_version=quiz.version, question_id=question.id,
        answer=value,
    )
    upcoming = next_question(quiz, answers)
    if upcoming is None and response.completed_at is None:
        response.completed_at = utcnow()
        events.record(
            session, "quiz_complete", recipient=recipient, profile=response.profile,
            quiz_slug=quiz.slug, quiz_version=quiz.version,
            offer=_offer_code(recipient, answers),
        )
    session.flush()
    return upcoming


def _range_label(question: Question, value: Decimal, locale: str) -> str:
    spec = question.range
    assert spec is not None
    # German 7,5 W and 1.000 g; English 7.5 W and 1,000 g.
    amount = (numbers.format_decimal(value, locale=locale)
              + (" " + spec.unit if spec.unit else ""))
    if spec.bound == "max" and spec.attribute:
        return ("up to " if locale.startswith("en") else "bis ") + amount
    if spec.bound == "min" and spec.attribute:
        return ("from " if locale.startswith("en") else "ab ") + amount
    return amount


def range_filter(question: Question, value: Decimal) -> dict[str, Any]:
    """The filter a range answer stands for: a price bound, or a bound on a numeric product
    attribute (``{"attributes": {"watt": {"max": 10}}}``); empty when it maps to nothing."""
    spec = question.range
    if spec is None or not spec.attribute:
        return {}
    if spec.attribute == "price":
        return {f"price_{spec.bound}": value}
    return {"attributes": {spec.attribute: {spec.bound: value}}}


def preferences(
    quiz: Quiz, answers: Answers, locale: str = "de", tone: str = "du"
) -> Preferences:
    """What the answers mean for the catalog: each answered question is its own constraint
    (questions narrow: AND), met by any option chosen in it (options widen: OR). A range
    sets its bound on the price or an attribute; free text is only recorded."""
    prefs = Preferences()
    for question in visible_questions(quiz, answers):
        value = answers.get(question.id)
        if value is None:
            continue
        if question.type == "range":
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            bound = Decimal(str(value))
            spec = range_filter(question, bound)
            if spec:
                label = _range_label(question, bound, locale)
                prefs.constraints.append(Constraint(
                    question.id, (Alternative(label, spec),), question.match))
                prefs.criteria.append(Criterion(question.id, label, spec, {}))
            continue
        if not question.has_options:
            continue
        values = value if isinstance(value, list) else [value]
        chosen: list[Option] = [o for o in question.options if o.value in values]
        alternatives = []
        for option in chosen:
            label = localize(option.reason or option.label, locale, tone)
            alternatives.append(Alternative(label, option.filter, option.exclude))
            for tag, weight in option.prefer_tags.items():
                prefs.tag_weights[tag] = prefs.tag_weights.get(tag, 0.0) + weight
            if option.filter or option.exclude or option.prefer_tags:
                prefs.criteria.append(Criterion(
                    question.id, label, option.filter, option.prefer_tags, option.exclude,
                ))
            for block in option.content:
                prefs.content_blocks.append(ContentBlock(
                    question.id, localize(block.title, locale, tone),
                    localize(block.body, locale, tone)
                ))
        if alternatives:
            prefs.constraints.append(Constraint(question.id, tuple(alternatives), question.match))
    return prefs


@dataclass(frozen=True)
class Chip:
    """One given answer, as shown on the showroom's "change answers" chips."""

    question_id: str
    label: str


def answer_label(question: Question, value: Any, locale: str = "de", tone: str = "du") -> str:
    """A stored answer as the shopper would say it ("Hund, Katze", "bis 80 €", their text)."""
    if value is None or value == [] or value == "":
        return ""
    if question.type == "range":
        return _range_label(question, Decimal(str(value)), locale)
    if question.type == "text":
        return str(value)
    values = value if isinstance(value, list) else [value]
    chosen = [o for o in question.options if o.value in values]
    if chosen and all(o.reason for o in chosen):
        return ", ".join(localize(o.reason or {}, locale, tone) for o in chosen)
    labels = ", ".join(localize(o.label, locale, tone) for o in chosen)
    if question.type == "yesno" and labels:
        # A bare "Ja" on a chip would say nothing; the question gives it its meaning.
        return f"{localize(question.text, locale, tone)} {labels}"
    return labels


def answer_chips(
    quiz: Quiz, answers: Answers, locale: str = "de", tone: str = "du"
) -> list[Chip]:
    chips = []
    for question in visible_questions(quiz, answers):
        label = answer_label(question, answers.get(question.id), locale, tone)
        if label:
            chips.append(Chip(question.id, label))
    return chips


def visitor_identity(profile: ShopperProfile) -> str:
    """The external id a visitor's own link is minted under (links.identity)."""
    return visitor_external_id(profile.id)


def link_visitor(
    session: Session,
    quiz: Quiz,
    campaign: Campaign,
    profile: ShopperProfile,
    response: QuizResponse,
    email: str,
) -> Recipient:
    """Mint a personal link for a visitor who left their email with consent; only flushes.

    The link opens the same showroom: the answers are copied to the new recipient's profile.
    Asking again returns the same recipient (with the newest email and answers).
    """
    email = email.strip()
    (recipient,) = links.mint(session, campaign, [links.NewRecipient(
        email=email, external_id=visitor_identity(profile), channel="web",
    )])
    recipient.email = email
    now = utcnow()
    profile.email, profile.consent_at = email, now
    owned = session.scalar(select(ShopperProfile).where(
        ShopperProfile.recipient_id == recipient.id))
    if owned is None:
        owned = ShopperProfile(recipient_id=recipient.id, email=email, consent_at=now)
        session.add(owned)
        session.flush()
    copy = session.scalar(select(QuizResponse).where(
        QuizResponse.profile_id == owned.id, QuizResponse.quiz_slug == quiz.slug))
    if copy is None:
        copy = QuizResponse(profile_id=owned.id, quiz_slug=quiz.slug)
        session.add(copy)
    copy.quiz_version = response.quiz_version
    copy.answers = dict(response.answers or {})
    copy.completed_at = response.completed_at or now
    events.record(session, "link_request", recipient=recipient, profile=profile,
                     quiz_slug=quiz.slug, quiz_version=quiz.version)
    session.flush()
    log.info("minted a visitor link in campaign %s (recipient %s)", campaign.slug, recipient.id)
    return recipient


def visitor_link(session: Session, campaign: Campaign, profile: ShopperProfile) -> Recipient | None:
    """The link minted earlier for this visitor, if any."""
    return session.scalar(select(Recipient).where(
        Recipient.campaign_id == campaign.id, Recipient.channel == "web",
        Recipient.identity == links.identity_of(
            links.NewRecipient(external_id=visitor_identity(profile))),
    ))


def facet_labels(quiz: Quiz, locale: str, tone: str = "du",
                 catalog: Mapping[str, Mapping[str, str]] | None = None
                 ) -> dict[str, dict[str, str]]:
    """Shopper-facing names for category, product-type and tag keys: the quiz's own answer
    labels (``filter: {category: hund}`` on the option "Hund") first, else the ``catalog``'s
    own spelling (its files' "LED-Downlights Cube" for ``led-downlights-cube``)."""
    labels: dict[str, dict[str, str]] = {
        kind: dict((catalog or {}).get(kind) or {}) for kind in ("category", "product_type",
                                                                 "tags")}
    quiz_labels: dict[str, dict[str, str]] = {"category": {}, "product_type": {}}
    for question in quiz.questions:
        for option in question.options:
            for key in quiz_labels:
                value = option.filter.get(key)
                if isinstance(value, str):
                    quiz_labels[key].setdefault(value, localize(option.label, locale, tone))
    for kind, named in quiz_labels.items():
        labels[kind].update(named)
    return labels
