"""The outbox: a message per event worth telling, and a delivery per endpoint that wants it,
written in the caller's transaction (so a message exists exactly when its event does; a
rolled-back request sends nothing). Sending is the worker's (``delivery``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from purl.models import (
    Batch,
    Campaign,
    Product,
    QuizResponse,
    Recipient,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
    utcnow,
)
from purl.statements import Prepared
from purl.webhooks import EVENT_TYPES, TEST_EVENT

log = logging.getLogger(__name__)

_MESSAGES = WebhookMessage.__table__
_DELIVERIES = WebhookDelivery.__table__
# Which endpoints may want a campaign's events: its own, and the install's.
_LISTENERS = (select(WebhookEndpoint.id, WebhookEndpoint.event_types)
              .where(WebhookEndpoint.enabled.is_(True),
                     or_(WebhookEndpoint.campaign_id.is_(None),
                         WebhookEndpoint.campaign_id == bindparam("campaign_id"))))
_INSTALL_LISTENERS = (select(WebhookEndpoint.id, WebhookEndpoint.event_types)
                      .where(WebhookEndpoint.enabled.is_(True),
                             WebhookEndpoint.campaign_id.is_(None)))
_WRITE_MESSAGE = _MESSAGES.insert().values(
    {c: bindparam(c) for c in ("uid", "event_type", "campaign_id", "recipient_id", "body",
                               "created_at")}).returning(_MESSAGES.c.id)
_WRITE_DELIVERY = _DELIVERIES.insert().values(
    {c: bindparam(c) for c in ("message_id", "endpoint_id", "status", "attempts",
                               "next_attempt_at")})
_built: dict[str, dict[str, Prepared]] = {}


def _statements(conn: Connection) -> dict[str, Prepared]:
    """The outbox's statements for the connection's dialect, compiled once and run on the
    driver's cursor: every recording request asks for listeners, and through SQLAlchemy
    the two writes of a message cost a first visit a tenth of its time."""
    built = _built.get(conn.dialect.name)
    if built is None:
        built = _built[conn.dialect.name] = {
            name: Prepared(statement, conn.dialect) for name, statement in (
                ("listeners", _LISTENERS), ("install", _INSTALL_LISTENERS),
                ("message", _WRITE_MESSAGE), ("delivery", _WRITE_DELIVERY))}
    return built


def new_uid() -> str:
    """A message id (the ``webhook-id`` header): ``msg_`` and 128 random bits."""
    return "msg_" + secrets.token_urlsafe(16)


def wants(event_types: Sequence[str] | None, event_type: str) -> bool:
    """Whether an endpoint asking for ``event_types`` (empty: all) wants ``event_type``."""
    return not event_types or event_type in event_types


def listeners(session: Session, campaign_id: int | None, event_type: str) -> list[int]:
    """The enabled endpoints that want ``event_type`` of this campaign (or of no campaign:
    a visitor's quiz outside any campaign reaches the install's endpoints only)."""
    return _listeners(session.connection(), campaign_id, event_type)


def _listeners(conn: Connection, campaign_id: int | None, event_type: str) -> list[int]:
    statements = _statements(conn)
    rows = (statements["install"].all(conn, {}) if campaign_id is None
            else statements["listeners"].all(conn, {"campaign_id": campaign_id}))
    # The driver's rows: SQLite hands the JSON column over as its text.
    return [endpoint_id for endpoint_id, types in rows
            if wants(json.loads(types) if isinstance(types, str) else types, event_type)]


def body(event_type: str, data: dict[str, Any], at: dt.datetime) -> str:
    """The JSON every attempt sends, as Standard Webhooks lays it out: type, timestamp,
    data."""
    return json.dumps({"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"),
                       "data": data}, ensure_ascii=False, separators=(",", ":"), default=str)


def emit(session: Session, event_type: str, data: dict[str, Any], *,
         campaign_id: int | None, recipient_id: int | None = None,
         endpoints: Sequence[int] | None = None) -> int | None:
    """Write ``event_type`` for every endpoint that wants it (or for ``endpoints``); returns
    the message's id, or None when no endpoint wants it (nothing is written)."""
    if event_type not in EVENT_TYPES and event_type != TEST_EVENT:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    targets = list(endpoints) if endpoints is not None else listeners(
        session, campaign_id, event_type)
    if not targets:
        return None
    return _emit(session.connection(), event_type, data, campaign_id, recipient_id, targets)


def _emit(conn: Connection, event_type: str, data: dict[str, Any], campaign_id: int | None,
          recipient_id: int | None, targets: Sequence[int]) -> int:
    now = utcnow()
    statements = _statements(conn)
    (message_id,) = statements["message"].first(conn, {
        "uid": new_uid(), "event_type": event_type, "campaign_id": campaign_id,
        "recipient_id": recipient_id, "body": body(event_type, data, now),
        "created_at": now})
    deliveries = [{"message_id": message_id, "endpoint_id": endpoint_id, "status": "pending",
                   "attempts": 0, "next_attempt_at": now} for endpoint_id in targets]
    # One endpoint, the usual case: a plain execute, cheaper than executemany of one.
    statements["delivery"].run(conn, deliveries[0] if len(deliveries) == 1 else deliveries)
    log.info("webhook %s: message %s for %d endpoint(s)", event_type, message_id,
             len(targets))
    return message_id


# --- what each event tells ---------------------------------------------------------------

def _recipient(recipient: Recipient, personal: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"id": recipient.id, "external_id": recipient.external_id,
                            "code": recipient.code, "channel": recipient.channel,
                            "variant": recipient.variant}
    if personal:
        data.update(email=recipient.email, first_name=recipient.first_name,
                    last_name=recipient.last_name)
    return data


def _campaign_slug(session: Session, campaign_id: int | None) -> str | None:
    if campaign_id is None:
        return None
    campaign = session.get(Campaign, campaign_id)
    return campaign.slug if campaign is not None else None


# An event kind (purl.analytics.events) and the webhook it becomes.
EVENT_OF_KIND = {"visit": "recipient.visited", "quiz_start": "quiz.started",
                 "quiz_complete": "quiz.completed", "product_click": "product.clicked",
                 "link_request": "lead.created"}


def event_recorded(session: Session, row: dict[str, Any], recipient: Recipient | None,
                   first: bool) -> None:
    """Tell the endpoints of an event just recorded (``row`` as inserted into ``event``;
    ``first``: the recipient's first event of its kind). A repeated visit is no news; a
    seed's events stay inside purl, as they stay out of the statistics."""
    event_type = EVENT_OF_KIND.get(row["kind"])
    if event_type is None or row.get("is_seed"):
        return
    if event_type == "recipient.visited" and not first:
        return
    campaign_id = row.get("campaign_id")
    # The connection asked for once: through Flask-SQLAlchemy's session each ask costs as
    # much as a statement, and the shopper's request pays for every one.
    conn = session.connection()
    targets = _listeners(conn, campaign_id, event_type)
    if not targets:
        return
    data: dict[str, Any] = {
        "campaign": (recipient.campaign.slug if recipient is not None
                     else _campaign_slug(session, campaign_id)),
        "recipient": (_recipient(recipient, personal=event_type == "lead.created")
                      if recipient is not None else None),
        "profile_id": row.get("profile_id"),
        "occurred_at": (row.get("created_at") or utcnow()).isoformat(),
    }
    if row.get("quiz_slug"):
        data["quiz"] = {"slug": row["quiz_slug"], "version": row.get("quiz_version")}
    if event_type == "quiz.completed" and row.get("profile_id") is not None:
        data["answers"] = session.scalar(select(QuizResponse.answers).where(
            QuizResponse.profile_id == row["profile_id"],
            QuizResponse.quiz_slug == row.get("quiz_slug"))) or {}
    if event_type == "product.clicked" and row.get("product_id") is not None:
        product = session.get(Product, row["product_id"])
        if product is not None:
            data["product"] = {"id": product.id, "sku": product.sku, "title": product.title,
                               "url": product.url}
    _emit(conn, event_type, data, campaign_id,
          recipient.id if recipient is not None else None, targets)


def batch_finished(session: Session, batch: Batch, campaign: Campaign) -> None:
    """Tell a batch's campaign endpoints it finished (done or failed), with its counts."""
    targets = listeners(session, campaign.id, "batch.finished")
    if not targets:
        return
    emit(session, "batch.finished", {
        "campaign": campaign.slug,
        "batch": {"id": batch.id, "status": batch.status, "rows": batch.total_rows,
                  "minted": batch.minted, "reused": batch.reused, "updated": batch.updated,
                  "rejected": batch.rejected, "error": batch.error},
    }, campaign_id=campaign.id, endpoints=targets)


_BULK = {"synchronize_session": False}


def delete_deliveries(session: Session, which: ColumnElement[bool]) -> None:
    """Delete the deliveries ``which`` selects, with their attempts."""
    deliveries = select(WebhookDelivery.id).where(which)
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)),
                    execution_options=_BULK)
    session.execute(delete(WebhookDelivery).where(which), execution_options=_BULK)


def delete_messages(session: Session, which: ColumnElement[bool]) -> int:
    """Delete the messages ``which`` selects, with their deliveries and attempts."""
    delete_deliveries(session, WebhookDelivery.message_id.in_(
        select(WebhookMessage.id).where(which)))
    result = session.execute(delete(WebhookMessage).where(which), execution_options=_BULK)
    return result.rowcount or 0


def forget_recipient(session: Session, recipient_id: int) -> int:
    """Delete every message telling of this recipient, sent or not (erasure)."""
    return delete_messages(session, WebhookMessage.recipient_id == recipient_id)


def purge(session: Session, days: int, now: dt.datetime | None = None) -> int:
    """Delete messages older than ``days`` whose deliveries are all done (delivered or
    failed); 0 days keeps them for ever. A message still being retried stays."""
    if days <= 0:
        return 0
    before = (now or utcnow()) - dt.timedelta(days=days)
    unfinished = select(WebhookDelivery.message_id).where(WebhookDelivery.status == "pending")
    return delete_messages(session, and_(WebhookMessage.created_at < before,
                                         WebhookMessage.id.not_in(unfinished)))
