"""Cursor pagination: a page of rows after the last of the page before, named by its id
(or, for events in time order, its time and id)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from purl.api.problems import ApiProblem, field_error


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def _not_a_cursor() -> ApiProblem:
    return ApiProblem(422, errors=[field_error("query.cursor", "not a cursor of this API")])


def _parts(cursor: str) -> tuple[str, str]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _not_a_cursor() from None
    kind, _, value = text.partition(":")
    return kind, value


def _id(value: str) -> int:
    if not value.isdigit() or int(value) >= 2**63:
        raise _not_a_cursor()
    return int(value)


def decode(cursor: str | None) -> int | None:
    """The id a cursor continues after; a cursor no page gave out is 422."""
    if cursor is None:
        return None
    kind, value = _parts(cursor)
    if kind != "id":
        raise _not_a_cursor()
    return _id(value)


def encode_at(when: dt.datetime, last_id: int) -> str:
    text = f"at:{when.isoformat()}/{last_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_at(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """The (time, id) a time-ordered cursor continues after; 422 for any other."""
    if cursor is None:
        return None
    kind, value = _parts(cursor)
    when, _, last = value.rpartition("/")
    try:
        at = dt.datetime.fromisoformat(when) if kind == "at" else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise _not_a_cursor()
    return at, _id(last)


def page(session: Session, query: Select, id_column: InstrumentedAttribute, limit: int,
         cursor: str | None) -> tuple[Sequence, str | None]:
    """One page of ``query`` in id order and the cursor of the next (None on the last):
    stable while rows are added, and as fast on the thousandth page as on the first. A
    query of one entity gives its objects; one of several columns gives rows, the entity
    whose ids page them first."""
    after = decode(cursor)
    if after is not None:
        query = query.where(id_column > after)
    result = session.execute(query.order_by(id_column).limit(limit + 1))
    one_entity = len(query.column_descriptions) == 1
    rows = result.scalars().all() if one_entity else result.all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not (more and rows):
        return rows, None
    last = rows[-1] if one_entity else rows[-1][0]
    return rows, encode(getattr(last, id_column.key))
