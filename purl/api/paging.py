"""Cursor pagination: a page of rows after the last id of the page before."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from purl.api.problems import ApiProblem, field_error


def encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode(cursor: str | None) -> int | None:
    """The id a cursor continues after; a cursor no page gave out is 422."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        last = int(value) if kind == "id" and value.isdigit() else None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        last = None
    if last is None or last >= 2**63:
        raise ApiProblem(422, errors=[field_error("query.cursor", "not a cursor of this API")])
    return last


def page(session: Session, query: Select, id_column: InstrumentedAttribute, limit: int,
         cursor: str | None) -> tuple[Sequence, str | None]:
    """One page of ``query`` in id order and the cursor of the next (None on the last):
    stable while rows are added, and as fast on the thousandth page as on the first."""
    after = decode(cursor)
    if after is not None:
        query = query.where(id_column > after)
    rows = session.scalars(query.order_by(id_column).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode(rows[-1].id) if more and rows else None
