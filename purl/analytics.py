"""First-party event recording for the campaign funnel.

Events are plain rows in our own database: no third-party script, no IP address. A seed or test
recipient's events are flagged so they never count in a campaign's statistics.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Date, case, cast, func, literal, select
from sqlalchemy.orm import Session

from .models import Event, Product, Recipient, ShopperProfile, as_utc

log = logging.getLogger(__name__)

KINDS = ("visit", "quiz_start", "answer", "quiz_complete", "product_click", "link_request")


def record(
    session: Session,
    kind: str,
    *,
    recipient: Recipient | None = None,
    profile: ShopperProfile | None = None,
    **fields: object,
) -> Event:
    """Add one event to the session (the caller commits)."""
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = Event(kind=kind, profile_id=profile.id if profile else None, **fields)
    if recipient is not None:
        event.recipient_id = recipient.id
        event.campaign_id = recipient.campaign_id
        event.channel = recipient.channel
        event.variant = recipient.variant
        event.is_seed = recipient.is_seed
    session.add(event)
    return event


# --- Funnel queries for the console -------------------------------------------------------

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
    # Started, did not finish, and this is the furthest question they answered. Not
    # "answered the one before but not this": a question only some answers lead to (show_if)
    # is skipped by the others on purpose, which is no loss.
    stopped_after: int


def question_dropoff(
    session: Session, campaign_id: int, question_ids: Sequence[str]
) -> list[QuestionStep]:
    """Per quiz question (in quiz order): distinct recipients who answered it, and how many
    stopped after it."""
    real = (Event.campaign_id == campaign_id, Event.is_seed.is_(False),
            Recipient.is_seed.is_(False))
    answered = dict(session.execute(
        select(Event.question_id, func.count(func.distinct(Event.recipient_id)))
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(*real, Event.kind == "answer")
        .group_by(Event.question_id)
    ).all())
    finished = select(Event.recipient_id).where(
        Event.campaign_id == campaign_id, Event.kind == "quiz_complete",
        Event.recipient_id.is_not(None))
    position = case({q: i for i, q in enumerate(question_ids)}, value=Event.question_id,
                    else_=-1)
    furthest = (
        select(Event.recipient_id, func.max(position).label("furthest"))
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(*real, Event.kind == "answer", Event.recipient_id.not_in(finished))
        .group_by(Event.recipient_id)
        .subquery()
    )
    stopped = dict(session.execute(
        select(furthest.c.furthest, func.count()).group_by(furthest.c.furthest)).all())
    started = funnel(session, campaign_id)["quiz_start"]
    return [QuestionStep(question_id, answered.get(question_id, 0),
                         answered.get(question_id, 0) / started if started else None,
                         stopped.get(i, 0))
            for i, question_id in enumerate(question_ids)]


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


# --- A/B comparison -------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """Variant ``challenger`` against ``control`` on successes / trials."""

    control: str
    challenger: str
    control_trials: int
    control_successes: int
    challenger_trials: int
    challenger_successes: int
    z: float | None
    p_value: float | None
    alpha: float = 0.05

    @property
    def control_rate(self) -> float | None:
        return self.control_successes / self.control_trials if self.control_trials else None

    @property
    def challenger_rate(self) -> float | None:
        return (self.challenger_successes / self.challenger_trials
                if self.challenger_trials else None)

    @property
    def enough_data(self) -> bool:
        # The normal approximation needs a handful of successes and failures on each side.
        return all(n >= 5 for n in (
            self.control_successes, self.control_trials - self.control_successes,
            self.challenger_successes, self.challenger_trials - self.challenger_successes))

    @property
    def significant(self) -> bool:
        return self.enough_data and self.p_value is not None and self.p_value < self.alpha


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """Two-sided two-proportion z-test with pooled variance: (z, p) or None if undefined.

    z = (p2 - p1) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (x1 + x2) / (n1 + n2).
    """
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None
    z = (x2 / n2 - x1 / n1) / se
    return z, math.erfc(abs(z) / math.sqrt(2))


def compare_variants(
    by_variant: dict[str, Funnel], success: str = "quiz_complete", trials: str = "visit"
) -> list[Comparison]:
    """Each variant against the first (the control), on ``success`` per ``trials``."""
    keys = [k for k in by_variant if k]
    if len(keys) < 2:
        return []
    control = by_variant[keys[0]]
    result = []
    for key in keys[1:]:
        other = by_variant[key]
        test = two_proportion_z(control[success], control[trials], other[success], other[trials])
        result.append(Comparison(
            keys[0], key, control[trials], control[success], other[trials], other[success],
            test[0] if test else None, test[1] if test else None,
        ))
    return result


# --- CSV export ---------------------------------------------------------------------------

EXPORT_COLUMNS = ("time_utc", "kind", "channel", "variant", "recipient_code",
                  "recipient_external_id", "question_id", "product_sku", "seed")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(session: Session, campaign_id: int) -> Iterator[list[str]]:
    """The campaign's events as CSV rows (header first), streamed in id order."""
    yield list(EXPORT_COLUMNS)
    query = (
        select(Event.created_at, Event.kind, Event.channel, Event.variant, Recipient.code,
               Recipient.external_id, Event.question_id, Product.sku, Event.is_seed)
        .outerjoin(Recipient, Recipient.id == Event.recipient_id)
        .outerjoin(Product, Product.id == Event.product_id)
        .where(Event.campaign_id == campaign_id)
        .order_by(Event.id)
        .execution_options(yield_per=2000)
    )
    for created, *rest, seed in session.execute(query):
        yield [safe_cell(as_utc(created).isoformat(timespec="seconds")),
               *(safe_cell(v) for v in rest), "yes" if seed else "no"]
