"""Sending the outbox: what is due is claimed (a lease, so two workers never send the same
delivery at once and a killed worker's claim runs out), signed, POSTed once, and either done
or scheduled again on the Standard Webhooks retry schedule; every attempt is kept.

Its functions take a ``checkpoint`` (the worker passes ``session.commit``) so each attempt
is stored as soon as it is made: a worker killed mid-way repeats at most one delivery.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload
from standardwebhooks import Webhook

from purl.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from purl.webhooks import addresses

log = logging.getLogger(__name__)

# The Standard Webhooks schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
# 10 h (PURL_WEBHOOK_RETRY_SECONDS; tests wait milliseconds).
RETRY_SECONDS = (5, 300, 1800, 7200, 18000, 36000, 36000)
USER_AGENT = "purl-webhooks/1"
READ_LIMIT = 64 * 1024  # of a response body: read only so the connection closes cleanly


@dataclass(frozen=True)
class Settings:
    retry_seconds: tuple[float, ...] = RETRY_SECONDS
    timeout: float = 10.0
    allow_private: bool = False
    lease_seconds: float = 60.0

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> Settings:
        return cls(retry_seconds=tuple(config.get("WEBHOOK_RETRY_SECONDS", RETRY_SECONDS)),
                   timeout=float(config.get("WEBHOOK_TIMEOUT_SECONDS", 10)),
                   allow_private=bool(config.get("WEBHOOK_ALLOW_PRIVATE", False)),
                   lease_seconds=float(config.get("WEBHOOK_LEASE_SECONDS", 60)))


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    error: str | None  # a code word: private, unknown-host, timeout, refused, tls,
    #                    connection, redirect, status (any other answer than 2xx)

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signed_headers(secret: str, uid: str, body: str,
                   at: dt.datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``, signed now (every attempt anew)."""
    at = at or utcnow()
    return {"webhook-id": uid, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(uid, at, body),
            "content-type": "application/json", "user-agent": USER_AGENT}


def send(url: str, secret: str, uid: str, body: str, settings: Settings) -> Outcome:
    """POST one message, once: to the address its host resolves to now, if that is allowed;
    a redirect is an answer, never followed."""
    try:
        target = addresses.parse(url, settings.allow_private)
        resolved = addresses.resolve(target, settings.allow_private)
    except addresses.AddressError as exc:
        return Outcome(None, str(exc))
    conn = addresses.connection(target, resolved, settings.timeout)
    try:
        conn.request("POST", target.path, body=body.encode("utf-8"),
                     headers=signed_headers(secret, uid, body))
        response = conn.getresponse()
        response.read(READ_LIMIT)
        status = response.status
    except TimeoutError:
        return Outcome(None, "timeout")
    except ConnectionRefusedError:
        return Outcome(None, "refused")
    except ssl.SSLError:
        return Outcome(None, "tls")
    except (OSError, http.client.HTTPException):
        return Outcome(None, "connection")
    finally:
        conn.close()
    if 200 <= status < 300:
        return Outcome(status, None)
    return Outcome(status, "redirect" if 300 <= status < 400 else "status")


def any_due(session: Session, now: dt.datetime | None = None) -> bool:
    """Whether a delivery waits to be sent (the worker's scheduler asks every second)."""
    return session.scalar(_due(now or utcnow()).limit(1)) is not None


def _due(now: dt.datetime):  # noqa: ANN202 - a select of delivery ids
    return (select(WebhookDelivery.id)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                   or_(WebhookDelivery.leased_until.is_(None),
                       WebhookDelivery.leased_until < now),
                   WebhookEndpoint.enabled.is_(True)))


def claim(session: Session, limit: int, settings: Settings,
          now: dt.datetime | None = None) -> list[int]:
    """Lease up to ``limit`` due deliveries for this worker, oldest first. Each is taken by
    one conditional UPDATE, so of two workers asking at once only one gets it."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=settings.lease_seconds)
    candidates = session.scalars(_due(now).order_by(WebhookDelivery.next_attempt_at,
                                                    WebhookDelivery.id).limit(limit)).all()
    claimed = []
    for delivery_id in candidates:
        result = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
                   or_(WebhookDelivery.leased_until.is_(None),
                       WebhookDelivery.leased_until < now))
            .values(leased_until=until), execution_options={"synchronize_session": False})
        if result.rowcount == 1:
            claimed.append(delivery_id)
    return claimed


def attempt(session: Session, delivery: WebhookDelivery, settings: Settings) -> Outcome:
    """Send one claimed delivery once and store what came of it."""
    endpoint, message = delivery.endpoint, delivery.message
    started = time.monotonic()
    outcome = send(endpoint.url, endpoint.secret, message.uid, message.body, settings)
    now = utcnow()
    session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=now,
                               status=outcome.status, error=outcome.error,
                               milliseconds=round((time.monotonic() - started) * 1000)))
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = outcome.status, outcome.error
    delivery.last_attempt_at, delivery.leased_until = now, None
    if outcome.delivered:
        delivery.status, delivery.delivered_at = "delivered", now
    elif outcome.status == 410:
        # Gone: the receiver asks not to be called again (Standard Webhooks).
        delivery.status = "failed"
        endpoint.enabled, endpoint.disabled_reason = False, "gone"
        log.warning("webhook endpoint %s answered 410: disabled", endpoint.id)
    elif delivery.attempts > len(settings.retry_seconds):
        delivery.status = "failed"
        log.warning("webhook delivery %s failed after %d attempts (%s)", delivery.id,
                    delivery.attempts, outcome.error)
    else:
        delay = settings.retry_seconds[delivery.attempts - 1]
        delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
    session.flush()
    return outcome


def deliver_due(session: Session, config: Mapping[str, Any],
                checkpoint: Callable[[], None], limit: int = 100,
                budget_seconds: float = 30.0) -> int:
    """Send what is due, ``limit`` at a time, until nothing is or ``budget_seconds`` passed
    (the worker's task then ends and the scheduler starts the next; 0: one round). Returns
    the number of attempts made."""
    settings = Settings.of(config)
    deadline = time.monotonic() + budget_seconds
    made = 0
    while True:
        claimed = claim(session, limit, settings)
        checkpoint()
        if not claimed:
            break
        for delivery_id in claimed:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None or delivery.status != "pending":
                continue  # erased or replayed meanwhile
            if not delivery.endpoint.enabled:
                delivery.leased_until = None  # switched off meanwhile: it waits
            else:
                attempt(session, delivery, settings)
                made += 1
            checkpoint()
        if time.monotonic() >= deadline:
            break
    return made


def replay(session: Session, delivery: WebhookDelivery) -> None:
    """Send a delivery again from its first attempt (same message, same webhook-id)."""
    delivery.status, delivery.attempts = "pending", 0
    delivery.next_attempt_at, delivery.leased_until = utcnow(), None
    delivery.delivered_at = None
    session.flush()


def log_for(session: Session, endpoint: WebhookEndpoint, limit: int = 50,
            before: int | None = None) -> list[WebhookDelivery]:
    """An endpoint's deliveries, newest first, ``before`` a delivery id (the log's pages),
    with their messages."""
    query = (select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
             .options(joinedload(WebhookDelivery.message))
             .order_by(WebhookDelivery.id.desc()).limit(limit))
    if before is not None:
        query = query.where(WebhookDelivery.id < before)
    return list(session.scalars(query))


def delivery_of(session: Session, endpoint: WebhookEndpoint,
                delivery_id: int) -> WebhookDelivery | None:
    """One delivery of this endpoint (None for another endpoint's)."""
    delivery = session.get(WebhookDelivery, delivery_id)
    return delivery if delivery is not None and delivery.endpoint_id == endpoint.id else None


def of_message(session: Session, endpoint: WebhookEndpoint,
               message_id: int) -> WebhookDelivery | None:
    """The delivery of message ``message_id`` to this endpoint (a test event's, say)."""
    return session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.message_id == message_id, WebhookDelivery.endpoint_id == endpoint.id))


def attempts_of(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """A delivery's attempts, first first."""
    return list(session.scalars(select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.id)))
