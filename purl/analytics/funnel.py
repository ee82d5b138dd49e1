"""The campaign funnel as the console and ``quiz report`` read it: steps per channel and
variant, per day, per question, and the most clicked products. Seeds never count."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Date, cast, func, literal, select
from sqlalchemy.orm import Session

from purl.models import Event, Product, Recipient, as_utc

log = logging.getLogger(__name__)

FUNNEL_STEPS = ("minted", "visit", "quiz_start", "quiz_complete", "product_click")
_EVENT_STEPS = FUNNEL_STEPS[1:]


@dataclass(frozen=True)
class Step:
    kind: str
    count: int
    of_minted: float | None  # share of the links minted, 0..1 (None when nothing minted)
    of_previous: float | None  # share of the step before, 0..1


@dataclass
class Funnel:
    """Distinct recipients per step of one campaign (or one channel / variant of it)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FUNNEL_STEPS, 0))

    def __getitem__(self, kind: str) -> int:
        return self.counts[kind]

    @property
    def steps(self) -> list[Step]:
        minted = self.counts["minted"]
        steps, previous = [], None
        for kind in FUNNEL_STEPS:
            count = self.counts[kind]
            steps.append(Step(
                kind, count,
                count / minted if minted else None,
                (count / previous if previous else None) if previous is not None else None,
            ))
            previous = count
        return steps

    def add(self, other: Funnel) -> None:
        for kind in FUNNEL_STEPS:
            self.counts[kind] += other.counts[kind]


def _group_column(by: str | None):  # noqa: ANN202
    if by is None:
        return literal("")
    if by == "channel":
        return Recipient.channel
    if by == "variant":
        return func.coalesce(Recipient.variant, "")
    raise ValueError(f"cannot split a funnel by {by!r}")


def funnels(session: Session, campaign_id: int, by: str | None = None) -> dict[str, Funnel]:
    """The campaign's funnel split by ``channel`` or ``variant`` (one entry "" when None).

    Counts are distinct recipients; seed recipients and their events never count. Each
    recipient belongs to exactly one channel and one variant, so the groups add up.
    """
    group = _group_column(by)
    result: dict[str, Funnel] = {}
    minted = session.execute(
        select(group, func.count(Recipient.id))
        .where(Recipient.campaign_id == campaign_id, Recipient.is_seed.is_(False))
        .group_by(group)
    ).all()
    for key, count in minted:
        result.setdefault(key or "", Funnel()).counts["minted"] = count
    steps = session.execute(
        select(group, Event.kind, func.count(func.distinct(Event.recipient_id)))
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(Event.campaign_id == campaign_id, Event.kind.in_(_EVENT_STEPS),
               Event.is_seed.is_(False), Recipient.is_seed.is_(False))
        .group_by(group, Event.kind)
    ).all()
    for key, kind, count in steps:
        result.setdefault(key or "", Funnel()).counts[kind] = count
    if by is None and not result:
        result[""] = Funnel()
    return dict(sorted(result.items()))


def funnel(session: Session, campaign_id: int) -> Funnel:
    return funnels(session, campaign_id)[""]


def _day(session: Session):  # noqa: ANN202
    # Days in UTC on both databases, so the chart and the CSV export agree.
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Event.created_at), Date)
    return func.date(Event.created_at)


@dataclass(frozen=True)
class Day:
    day: dt.date
    visit: int
    quiz_complete: int
    product_click: int


def daily(session: Session, campaign_id: int, first: dt.date, last: dt.date) -> list[Day]:
    """Distinct recipients per UTC day who visited, completed the quiz, clicked a product."""
    day = _day(session)
    start = dt.datetime.combine(first, dt.time.min, dt.UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, dt.UTC)
    rows = session.execute(
        select(day, Event.kind, func.count(func.distinct(Event.recipient_id)))
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(Event.campaign_id == campaign_id, Event.is_seed.is_(False),
               Recipient.is_seed.is_(False),
               Event.kind.in_(("visit", "quiz_complete", "product_click")),
               Event.created_at >= start, Event.created_at < end)
        .group_by(day, Event.kind)
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for value, kind, count in rows:
        counts[(str(value)[:10], kind)] = count
    days, current = [], first
    while current <= last:
        key = current.isoformat()
        days.append(Day(current, counts.get((key, "visit"), 0),
                        counts.get((key, "quiz_complete"), 0),
                        counts.get((key, "product_click"), 0)))
        current += dt.timedelta(days=1)
    return days


def event_span(session: Session, campaign_id: int) -> tuple[dt.date, dt.date] | None:
    """First and last day (UTC) with a counted event, or None."""
    first, last = session.execute(
        select(func.min(Event.created_at), func.max(Event.created_at))
        .where(Event.campaign_id == campaign_id, Event.is_seed.is_(False))
    ).one()
    if first is None:
        return None
    return as_utc(first).date(), as_utc(last).date()


@dataclass(frozen=True)
class QuestionStep:
    question_id: str
    answered: int
    of_started: float | None
    # Started, did not finish, and this was the last question they answered: where they
    # left. A question only some answers lead to (show_if) is skipped by the others on
    # purpose, which is no loss, so nobody counts as lost before a question they never saw.
    stopped_after: int


@dataclass(frozen=True)
class QuizReach:
    """How far a quiz's shoppers got: the drop-off between questions shows where it loses
    people."""

    started: int
    completed: int
    questions: list[QuestionStep]


def quiz_reach(session: Session, question_ids: Sequence[str], *, campaign_id: int | None = None,
               quiz_slug: str | None = None) -> QuizReach:
    """Distinct shoppers (with a link or without) who started, answered each question,
    stopped after it, and completed, in one campaign or one quiz; seeds never count.

    The one definition of drop-off, for the console's funnel and ``quiz report``. Questions
    are listed in ``question_ids`` order; an answered question not among them (a quiz file
    changed since) follows under its id.
    """
    scope = [Event.is_seed.is_(False), Event.profile_id.is_not(None)]
    if campaign_id is not None:
        scope.append(Event.campaign_id == campaign_id)
    if quiz_slug is not None:
        scope.append(Event.quiz_slug == quiz_slug)
    who = func.count(func.distinct(Event.profile_id))
    steps = dict(session.execute(
        select(Event.kind, who)
        .where(*scope, Event.kind.in_(("quiz_start", "quiz_complete")))
        .group_by(Event.kind)
    ).all())
    answered = dict(session.execute(
        select(Event.question_id, who).where(*scope, Event.kind == "answer")
        .group_by(Event.question_id)
    ).all())
    finished = select(Event.profile_id).where(*scope, Event.kind == "quiz_complete")
    last_answers = (select(func.max(Event.id))
                    .where(*scope, Event.kind == "answer", Event.profile_id.not_in(finished))
                    .group_by(Event.profile_id))
    stopped = dict(session.execute(
        select(Event.question_id, func.count()).where(Event.id.in_(last_answers))
        .group_by(Event.question_id)
    ).all())
    started = steps.get("quiz_start", 0)
    ids = list(question_ids) + sorted(set(answered) - set(question_ids) - {None})
    return QuizReach(started, steps.get("quiz_complete", 0), [
        QuestionStep(qid, answered.get(qid, 0),
                     answered.get(qid, 0) / started if started else None, stopped.get(qid, 0))
        for qid in ids])


@dataclass(frozen=True)
class ProductClicks:
    product: Product
    clicks: int
    shoppers: int


def top_products(session: Session, campaign_id: int, limit: int = 10) -> list[ProductClicks]:
    clicks = func.count(Event.id)
    rows = session.execute(
        select(Product, clicks, func.count(func.distinct(Event.recipient_id)))
        .join(Event, Event.product_id == Product.id)
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(Event.campaign_id == campaign_id, Event.kind == "product_click",
               Event.is_seed.is_(False), Recipient.is_seed.is_(False))
        .group_by(Product.id)
        .order_by(clicks.desc(), Product.title)
        .limit(limit)
    ).all()
    return [ProductClicks(product, n, shoppers) for product, n, shoppers in rows]
