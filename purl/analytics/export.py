"""A campaign's events for the marketer's own tools: as CSV, and page by page for the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Select, and_, or_, select
from sqlalchemy.orm import Session

from purl.models import Event, Product, QuizResponse, Recipient, ShopperProfile, as_utc
from purl.spreadsheet import csv_text, safe_csv

EXPORT_COLUMNS = ("time_utc", "kind", "channel", "variant", "recipient_code",
                  "recipient_external_id", "question_id", "product_sku", "seed", "answer")
CHUNK = 5000
_PIECE = 512 * 1024  # bytes of CSV from PostgreSQL's COPY per piece streamed
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LATEST = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)

# Times as "YYYY-MM-DD HH:MM:SS" in UTC: what Excel and LibreOffice read as a date and time
# (an ISO "T" and offset they leave as text).
# The database writes every cell as text, so a row goes from the cursor to the CSV writer
# untouched: formatting times and answers in Python was four fifths of the export's time.
# An answer event holds the value given then (several options joined by "|").
_CELLS = ("{time}", "e.kind", "e.channel", "e.variant", "r.code", "r.external_id",
          "e.question_id", "p.sku", "CASE WHEN e.is_seed THEN 'yes' ELSE 'no' END", "e.answer")
_FROM = """
FROM event e
LEFT JOIN recipient r ON r.id = e.recipient_id
LEFT JOIN product p ON p.id = e.product_id
WHERE e.campaign_id = :campaign AND e.created_at >= :start AND e.created_at < :end
ORDER BY e.created_at, e.id
"""
_TIME = {
    # SQLite keeps UTC times as "YYYY-MM-DD HH:MM:SS.ffffff": the seconds are its start.
    "sqlite": "substr(e.created_at, 1, 19)",
    "postgresql": "to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
}


def _select(dialect: str, empty: str) -> str:
    """The export's statement, each missing cell as ``empty`` makes it (``coalesce(…, '')``
    for rows of text; ``nullif(…, '')`` for PostgreSQL's COPY, which writes NULL as an
    empty cell and quotes an empty text)."""
    cells = ", ".join(empty.format(c.format(time=_TIME[dialect])) for c in _CELLS)
    return f"SELECT {cells}{_FROM}"


def _driver_params(dialect: Any, start: dt.datetime | None,
                   end: dt.datetime | None, campaign_id: int) -> dict[str, Any]:
    when = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect) or (
        lambda value: value)
    return {"campaign": int(campaign_id), "start": when(start or _EARLIEST),
            "end": when(end or _LATEST)}


def _pyformat(sql: str, params: dict[str, Any]) -> str:
    for name in params:
        sql = sql.replace(f":{name}", f"%({name})s")
    return sql


def export_chunks(
    session: Session, campaign_id: int,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
) -> Iterator[Sequence[Sequence[str]]]:
    """The campaign's events from ``start`` (inclusive) to ``end`` (exclusive) as chunks of
    text rows, the header first, in time order: the cells as stored (:func:`export_csv`
    makes them safe for a spreadsheet).

    One statement along the index (campaign, time, id), fetched :data:`CHUNK` rows at a
    time (a server-side cursor on PostgreSQL, so a fetch is one round trip per chunk, not
    per hundred rows), so memory stays flat however long the campaign.
    """
    yield [EXPORT_COLUMNS]
    connection = session.connection()
    dialect = connection.dialect
    sql = _select(dialect.name, "coalesce({}, '')")
    params = _driver_params(dialect, start, end, campaign_id)
    # The driver's own cursor: rows come as tuples of text, ready for CSV or JSON.
    raw = connection.connection.driver_connection
    if dialect.name == "postgresql":
        sql = _pyformat(sql, params)
        cursor = raw.cursor(name="purl_events_export")  # server-side: memory stays flat
        cursor.itersize = CHUNK
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK):
            yield rows
    finally:
        cursor.close()


def export_csv(
    session: Session, campaign_id: int,
    start: dt.datetime | None = None, end: dt.datetime | None = None,
) -> Iterator[str]:
    """:func:`export_chunks` as CSV text a spreadsheet opens safely, a piece per chunk.

    PostgreSQL writes the CSV itself (``COPY … TO STDOUT``): a server-side cursor may not
    run the query in parallel or hash its joins as a whole read may, and the rows as text
    tuples cost more to hand over than the lines; COPY gave twice the rows a second."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        for rows in export_chunks(session, campaign_id, start, end):
            yield csv_text(rows)
        return
    yield csv_text([EXPORT_COLUMNS])
    params = _driver_params(connection.dialect, start, end, campaign_id)
    sql = _pyformat(_select("postgresql", "nullif({}, '')"), params)
    cursor = connection.connection.driver_connection.cursor()
    piece = bytearray()
    try:
        # COPY takes no bound parameters: psycopg binds these on the client.
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params) as copy:
            for line in copy:  # one whole row each
                piece += line
                if len(piece) >= _PIECE:
                    yield safe_csv(piece.decode())
                    piece.clear()
        if piece:
            yield safe_csv(piece.decode())
    finally:
        cursor.close()


@dataclass(frozen=True)
class EventRow:
    """One event as the API lists it."""

    id: int
    created_at: dt.datetime
    kind: str
    channel: str | None
    variant: str | None
    recipient_id: int | None
    external_id: str | None
    quiz_slug: str | None
    quiz_version: str | None
    question_id: str | None
    answer: str | None
    product_sku: str | None
    is_seed: bool


def events_page(
    session: Session, campaign_id: int, *, start: dt.datetime | None = None,
    end: dt.datetime | None = None, after: tuple[dt.datetime, int] | None = None,
    limit: int = 50,
) -> list[EventRow]:
    """Up to ``limit`` of the campaign's events from ``start`` (inclusive) to ``end``
    (exclusive), in time order, after the event ``after`` names (its time and id): the key
    of the export's index, so the thousandth page costs what the first does."""
    query = (
        select(Event.id, Event.created_at, Event.kind, Event.channel, Event.variant,
               Event.recipient_id, Recipient.external_id, Event.quiz_slug, Event.quiz_version,
               Event.question_id, Event.answer, Product.sku, Event.is_seed)
        .outerjoin(Recipient, Recipient.id == Event.recipient_id)
        .outerjoin(Product, Product.id == Event.product_id)
        .where(Event.campaign_id == campaign_id)
        .order_by(Event.created_at, Event.id).limit(limit))
    if start is not None:
        query = query.where(Event.created_at >= start)
    if end is not None:
        query = query.where(Event.created_at < end)
    if after is not None:
        when, last_id = after
        # Spelled out rather than as a row value, which SQLAlchemy binds without the
        # column's type (SQLite compares times as text).
        query = query.where(or_(Event.created_at > when,
                                and_(Event.created_at == when, Event.id > last_id)))
    return [EventRow(id=r[0], created_at=as_utc(r[1]), kind=r[2], channel=r[3], variant=r[4],
                     recipient_id=r[5], external_id=r[6], quiz_slug=r[7], quiz_version=r[8],
                     question_id=r[9], answer=r[10], product_sku=r[11], is_seed=bool(r[12]))
            for r in session.execute(query)]


def quiz_responses(campaign_id: int, completed: bool | None = None) -> Select:
    """The quiz responses of a campaign's recipients with each one's id and CRM id, for a
    page by response id (``purl.api``); ``completed`` True or False: only those."""
    query = (select(QuizResponse, Recipient.id, Recipient.external_id)
             .join(ShopperProfile, ShopperProfile.id == QuizResponse.profile_id)
             .join(Recipient, Recipient.id == ShopperProfile.recipient_id)
             .where(Recipient.campaign_id == campaign_id))
    if completed is not None:
        query = query.where(QuizResponse.completed_at.is_not(None) if completed
                            else QuizResponse.completed_at.is_(None))
    return query
