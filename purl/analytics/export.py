"""A campaign's events as CSV for the marketer's own tools."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from purl.models import Event, Product, QuizResponse, Recipient, as_utc
from purl.spreadsheet import safe_row

EXPORT_COLUMNS = ("time_utc", "kind", "channel", "variant", "recipient_code",
                  "recipient_external_id", "question_id", "product_sku", "seed", "answer")
CHUNK = 5000
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def _answer_text(value: Any) -> str:
    """An answer as one cell: the chosen option values, several joined by "|"."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "|".join(str(v) for v in value)
    return str(value)


def export_rows(
    session: Session, campaign_id: int,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
) -> Iterator[list[str]]:
    """The campaign's events from ``start`` (inclusive) to ``end`` (exclusive) as CSV rows,
    header first, in time order.

    Read in chunks of :data:`CHUNK` along the index (campaign, time, id): each chunk starts
    where the last one ended, so the database never skips rows and memory stays flat however
    long the campaign. An answer event carries the profile's answer to its question as the
    response holds it now (an event stores which question, not the value).
    """
    yield list(EXPORT_COLUMNS)
    key = tuple_(Event.created_at, Event.id)
    position = (start or _EARLIEST, 0)
    upper = end or _LATEST
    while True:
        chunk = session.execute(
            select(Event.created_at, Event.id, Event.kind, Event.channel, Event.variant,
                   Recipient.code, Recipient.external_id, Event.question_id, Product.sku,
                   Event.is_seed, Event.profile_id, Event.quiz_slug)
            .outerjoin(Recipient, Recipient.id == Event.recipient_id)
            .outerjoin(Product, Product.id == Event.product_id)
            .where(Event.campaign_id == campaign_id, key > position, Event.created_at < upper)
            .order_by(Event.created_at, Event.id)
            .limit(CHUNK)
        ).all()
        if not chunk:
            return
        answers = _answers(session, {(r.profile_id, r.quiz_slug) for r in chunk
                                     if r.kind == "answer" and r.profile_id is not None})
        for r in chunk:
            answer = (answers.get((r.profile_id, r.quiz_slug), {}).get(r.question_id)
                      if r.kind == "answer" else None)
            yield safe_row([as_utc(r.created_at).isoformat(timespec="seconds"), r.kind,
                            r.channel or "", r.variant or "", r.code or "",
                            r.external_id or "", r.question_id or "", r.sku or "",
                            "yes" if r.is_seed else "no", _answer_text(answer)])
        if len(chunk) < CHUNK:
            return
        position = (chunk[-1].created_at, chunk[-1].id)


def _answers(session: Session, keys: set[tuple[int, str]]) -> dict[tuple[int, str], dict]:
    """The current answers of these (profile, quiz) pairs: one query per chunk."""
    if not keys:
        return {}
    profiles = {profile for profile, _ in keys}
    rows = session.execute(select(QuizResponse.profile_id, QuizResponse.quiz_slug,
                                  QuizResponse.answers)
                           .where(QuizResponse.profile_id.in_(profiles)))
    return {(p, q): a or {} for p, q, a in rows if (p, q) in keys}
