"""The campaign funnel as the console and ``quiz report`` read it: steps per channel and
variant, per day, per question, answers, and the most clicked products. Seeds never count.

Everything here reads the tallies ``purl.analytics.tallies`` keeps as events are recorded:
a few rows per campaign, day and step, so a page costs the same at a thousand events and at
ten million."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from purl.analytics import link_tally
from purl.models import FunnelTally, OfferTally, Product, ProductTally, QuizTally

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

    def share_of(self, kind: str, base: str) -> float | None:
        """``kind``'s count as a share of ``base``'s (e.g. completed quizzes of visitors)."""
        return self.counts[kind] / self.counts[base] if self.counts[base] else None

    def add(self, other: Funnel) -> None:
        for kind in FUNNEL_STEPS:
            self.counts[kind] += other.counts[kind]


def campaign_funnels(session: Session, campaign_ids: Sequence[int]) -> dict[int, Funnel]:
    """The funnel of each campaign listed, in two grouped queries whatever their number.

    Counts are distinct recipients (from ``purl.analytics.tallies``); seeds never count.
    """
    result = {cid: Funnel() for cid in campaign_ids}
    if not result:
        return result
    for cid, count in link_tally.minted_by_campaign(session, list(result)).items():
        result[cid].counts["minted"] = count
    for cid, kind, count in session.execute(
        select(FunnelTally.campaign_id, FunnelTally.kind, func.sum(FunnelTally.count))
        .where(FunnelTally.campaign_id.in_(result))
        .group_by(FunnelTally.campaign_id, FunnelTally.kind)
    ):
        if kind in result[cid].counts:
            result[cid].counts[kind] = int(count)
    return result


SPLITS = ("", "channel", "variant")


def split_funnels(session: Session, campaign_id: int) -> dict[str, dict[str, Funnel]]:
    """The campaign's funnel whole ("") and split by ``channel`` and by ``variant``, from one
    grouped query of the link tally and one of the funnel tallies.

    Counts are distinct recipients; seed recipients and their events never count. Each
    recipient belongs to exactly one channel and one variant, so the groups add up.
    """
    result: dict[str, dict[str, Funnel]] = {by: {} for by in SPLITS}

    def add(channel: str | None, variant: str | None, kind: str, count: int) -> None:
        for by, key in (("", ""), ("channel", channel or ""), ("variant", variant or "")):
            result[by].setdefault(key, Funnel()).counts[kind] += int(count)

    for channel, variant, count in link_tally.minted_by_group(session, campaign_id):
        add(channel, variant, "minted", count)
    for channel, variant, kind, count in session.execute(
        select(FunnelTally.channel, FunnelTally.variant, FunnelTally.kind,
               func.sum(FunnelTally.count))
        .where(FunnelTally.campaign_id == campaign_id, FunnelTally.kind.in_(_EVENT_STEPS))
        .group_by(FunnelTally.channel, FunnelTally.variant, FunnelTally.kind)
    ):
        add(channel, variant, kind, count)
    result[""].setdefault("", Funnel())
    return {by: dict(sorted(groups.items())) for by, groups in result.items()}


def offer_funnels(session: Session, campaign_id: int) -> dict[str, Funnel]:
    """Distinct recipients per step under each offer code they were shown at that step (the
    funnel per offer; ``minted`` stays 0: a link is minted before any offer is shown)."""
    found: dict[str, Funnel] = {}
    for offer, kind, count in session.execute(
        select(OfferTally.offer, OfferTally.kind, OfferTally.count)
        .where(OfferTally.campaign_id == campaign_id).order_by(OfferTally.offer)
    ):
        if kind in _EVENT_STEPS:
            found.setdefault(offer, Funnel()).counts[kind] += int(count)
    return found


def funnels(session: Session, campaign_id: int, by: str | None = None) -> dict[str, Funnel]:
    """The campaign's funnel split by ``channel`` or ``variant`` (one entry "" when None)."""
    if by not in (None, "channel", "variant"):
        raise ValueError(f"cannot split a funnel by {by!r}")
    return split_funnels(session, campaign_id)[by or ""]


def funnel(session: Session, campaign_id: int) -> Funnel:
    return funnels(session, campaign_id)[""]


@dataclass(frozen=True)
class Day:
    day: dt.date
    visit: int
    quiz_complete: int
    product_click: int


def daily(session: Session, campaign_id: int, first: dt.date, last: dt.date) -> list[Day]:
    """Recipients per UTC day who visited, completed the quiz, clicked a product for the
    first time (so the days add up to the funnel)."""
    rows = session.execute(
        select(FunnelTally.day, FunnelTally.kind, func.sum(FunnelTally.count))
        .where(FunnelTally.campaign_id == campaign_id,
               FunnelTally.kind.in_(("visit", "quiz_complete", "product_click")),
               FunnelTally.day >= first, FunnelTally.day <= last)
        .group_by(FunnelTally.day, FunnelTally.kind)
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for value, kind, count in rows:
        counts[(str(value)[:10], kind)] = int(count)
    days, current = [], first
    while current <= last:
        key = current.isoformat()
        days.append(Day(current, counts.get((key, "visit"), 0),
                        counts.get((key, "quiz_complete"), 0),
                        counts.get((key, "product_click"), 0)))
        current += dt.timedelta(days=1)
    return days


def event_span(session: Session, campaign_id: int) -> tuple[dt.date, dt.date] | None:
    """First and last UTC day on which a recipient (never a seed) first reached a step."""
    first, last = session.execute(
        select(func.min(FunnelTally.day), func.max(FunnelTally.day))
        .where(FunnelTally.campaign_id == campaign_id)
    ).one()
    if first is None:
        return None
    return _date(first), _date(last)


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class QuestionStep:
    question_id: str
    answered: int
    of_started: float | None
    # Started, did not finish, and this was the last question they answered: where they
    # left. A question only some answers lead to (show_if) is skipped by the others on
    # purpose, which is no loss, so nobody counts as lost before a question they never saw.
    stopped_after: int
    stopped_of_started: float | None = None


@dataclass(frozen=True)
class QuizReach:
    """How far a quiz's shoppers got: the drop-off between questions shows where it loses
    people."""

    started: int
    completed: int
    questions: list[QuestionStep]
    # Started and left before giving a single answer: lost at the first question shown.
    stopped_before_first: int = 0

    @property
    def stopped(self) -> int:
        return self.stopped_before_first + sum(q.stopped_after for q in self.questions)


def _quiz_scope(campaign_id: int | None, quiz_slug: str | None) -> list:
    scope = []
    if campaign_id is not None:
        scope.append(QuizTally.campaign_id == campaign_id)
    if quiz_slug is not None:
        scope.append(QuizTally.quiz_slug == quiz_slug)
    return scope


def quiz_reach(session: Session, question_ids: Sequence[str], *, campaign_id: int | None = None,
               quiz_slug: str | None = None) -> QuizReach:
    """Distinct shoppers (with a link or without) who started, answered each question,
    stopped after it, and completed, in one campaign or one quiz; seeds never count.

    The one definition of drop-off, for the console's funnel and ``quiz report``. Questions
    are listed in ``question_ids`` order; an answered question not among them (a quiz file
    changed since) follows under its id. Read from the tallies (``purl.analytics.tallies``).
    """
    counts: dict[tuple[str, str], int] = {}
    for measure, question, count in session.execute(
        select(QuizTally.measure, QuizTally.question_id, func.sum(QuizTally.count))
        .where(*_quiz_scope(campaign_id, quiz_slug),
               QuizTally.measure.in_(("started", "completed", "answered", "stopped")))
        .group_by(QuizTally.measure, QuizTally.question_id)
    ):
        counts[(measure, question)] = int(count)
    started = counts.get(("started", ""), 0)
    answered = {q: n for (m, q), n in counts.items() if m == "answered" and n}
    ids = list(question_ids) + sorted(set(answered) - set(question_ids) - {""})

    def share(n: int) -> float | None:
        return n / started if started else None

    return QuizReach(started, counts.get(("completed", ""), 0), [
        QuestionStep(qid, answered.get(qid, 0), share(answered.get(qid, 0)),
                     counts.get(("stopped", qid), 0), share(counts.get(("stopped", qid), 0)))
        for qid in ids], counts.get(("stopped", ""), 0))


@dataclass(frozen=True)
class OptionCount:
    option: str
    count: int  # shoppers whose answer holds this option now
    share: float | None  # of the shoppers who answered the question
    by_version: dict[str, int]  # the same, per quiz version it was chosen under


@dataclass(frozen=True)
class AnswerCounts:
    question_id: str
    answered: int
    options: list[OptionCount]


def answer_counts(session: Session, options: dict[str, Sequence[str]], *,
                  campaign_id: int | None = None,
                  quiz_slug: str | None = None) -> list[AnswerCounts]:
    """How often each option of each question is chosen (``options``: question id → option
    values in the quiz's order; options no longer in the quiz follow, by count). A multiple
    choice counts each option its answer holds, so its shares can add up past 100 %."""
    scope = _quiz_scope(campaign_id, quiz_slug)
    answered = dict(session.execute(
        select(QuizTally.question_id, func.sum(QuizTally.count))
        .where(*scope, QuizTally.measure == "answered").group_by(QuizTally.question_id)).all())
    chosen: dict[str, dict[str, dict[str, int]]] = {}
    for question, option, version, count in session.execute(
        select(QuizTally.question_id, QuizTally.option, QuizTally.quiz_version,
               func.sum(QuizTally.count))
        .where(*scope, QuizTally.measure == "chosen")
        .group_by(QuizTally.question_id, QuizTally.option, QuizTally.quiz_version)
    ):
        if count:
            chosen.setdefault(question, {}).setdefault(option, {})[version] = int(count)
    result = []
    for question in list(options) + sorted(set(chosen) - set(options)):
        held = chosen.get(question, {})
        base = int(answered.get(question) or 0)
        known = list(options.get(question, ()))
        extra = sorted(set(held) - set(known), key=lambda o: (-sum(held[o].values()), o))
        result.append(AnswerCounts(question, base, [
            OptionCount(o, sum(held.get(o, {}).values()),
                        sum(held.get(o, {}).values()) / base if base else None,
                        dict(sorted(held.get(o, {}).items())))
            for o in known + extra]))
    return result


@dataclass(frozen=True)
class ProductClicks:
    product: Product
    clicks: int
    shoppers: int


def top_products(session: Session, campaign_id: int, limit: int = 10) -> list[ProductClicks]:
    rows = session.execute(
        select(Product, ProductTally.clicks, ProductTally.shoppers)
        .join(ProductTally, ProductTally.product_id == Product.id)
        .where(ProductTally.campaign_id == campaign_id, ProductTally.clicks > 0)
        .order_by(ProductTally.clicks.desc(), Product.title)
        .limit(limit)
    ).all()
    return [ProductClicks(product, int(n), int(shoppers)) for product, n, shoppers in rows]
