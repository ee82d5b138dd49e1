"""Webhook endpoints: made by a user for one campaign they may edit (the surface checks the
campaign's role) or, by an admin, for the whole install; each with its own secret.

Plain functions over the session that only flush; the console, the API and tests call them.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import Iterable, Sequence

from sqlalchemy import Select, false, or_, select, update
from sqlalchemy.orm import Session

from purl.models import (
    Campaign,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from purl.webhooks import EVENT_TYPES, TEST_EVENT, addresses, outbox

log = logging.getLogger(__name__)

MAX_DESCRIPTION = 200


class WebhookError(ValueError):
    """An endpoint that cannot be saved as asked; ``str()`` is a stable code word: those of
    ``addresses.AddressError``, ``event-type``, ``description``, ``install`` (only an admin
    makes an endpoint for every campaign)."""


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _clean(url: str, description: str, event_types: Iterable[str] | None,
           allow_private: bool) -> tuple[str, str, list[str]]:
    url = url.strip()
    try:
        addresses.parse(url, allow_private)
    except addresses.AddressError as exc:
        raise WebhookError(str(exc)) from None
    description = " ".join(description.split())
    if len(description) > MAX_DESCRIPTION:
        raise WebhookError("description")
    types = list(dict.fromkeys(event_types or ()))
    if any(t not in EVENT_TYPES for t in types):
        raise WebhookError("event-type")
    return url, description, types


def create_endpoint(session: Session, user: User, url: str, *, campaign: Campaign | None,
                    event_types: Sequence[str] | None = None, description: str = "",
                    allow_private: bool = False) -> WebhookEndpoint:
    """A new endpoint of ``user``: for ``campaign`` (which the caller checked the user may
    edit), or with None for every campaign, which only an admin may make."""
    if campaign is None and not user.is_admin:
        raise WebhookError("install")
    url, description, types = _clean(url, description, event_types, allow_private)
    endpoint = WebhookEndpoint(url=url, description=description, secret=new_secret(),
                               campaign_id=campaign.id if campaign else None, user_id=user.id,
                               event_types=types, enabled=True)
    session.add(endpoint)
    session.flush()
    log.info("webhook endpoint %s created by user %s (campaign %s)", endpoint.id, user.id,
             endpoint.campaign_id)
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, *, url: str, description: str,
                    event_types: Sequence[str], enabled: bool,
                    allow_private: bool = False) -> None:
    """Save an edited endpoint; switching it on clears why it was off (its waiting
    deliveries then go), switching it off says the user did."""
    endpoint.url, endpoint.description, endpoint.event_types = _clean(
        url, description, event_types, allow_private)
    if enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_reason = None if enabled else "user"


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """A new signing secret: from the next attempt on, bodies are signed with it alone."""
    endpoint.secret = new_secret()
    return endpoint.secret


def reachable(campaign_ids: Select | None, install: bool) -> Select:
    """The endpoints of the campaigns ``campaign_ids`` selects (None: no campaign's) and,
    with ``install``, those for the whole install; unordered, for a list or a page."""
    scope = []
    if campaign_ids is not None:
        scope.append(WebhookEndpoint.campaign_id.in_(campaign_ids))
    if install:
        scope.append(WebhookEndpoint.campaign_id.is_(None))
    return select(WebhookEndpoint).where(or_(*scope) if scope else false())


def endpoints_of(session: Session, campaign_ids: Select | None,
                 install: bool) -> list[WebhookEndpoint]:
    """``reachable`` endpoints, newest first."""
    return list(session.scalars(reachable(campaign_ids, install)
                                .order_by(WebhookEndpoint.id.desc())))


def replay_failed(session: Session, endpoint: WebhookEndpoint) -> int:
    """Send every failed delivery of this endpoint again from its first attempt (after the
    receiver is fixed); returns how many."""
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), leased_until=None,
                delivered_at=None)
        .execution_options(synchronize_session=False))
    session.flush()
    return result.rowcount


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint, its deliveries and their attempts (messages for no endpoint
    left go with the retention)."""
    outbox.delete_deliveries(session, WebhookDelivery.endpoint_id == endpoint.id)
    session.delete(endpoint)
    session.flush()


def send_test(session: Session, endpoint: WebhookEndpoint) -> int:
    """Queue a test message to this endpoint alone (even while it is switched off it
    waits, and goes once it is on); returns the message's id."""
    data = {"endpoint_id": endpoint.id, "text": "Test message from purl"}
    campaign = endpoint.campaign
    if campaign is not None:
        data["campaign"] = campaign.slug
    message_id = outbox.emit(session, TEST_EVENT, data, campaign_id=endpoint.campaign_id,
                             endpoints=[endpoint.id])
    assert message_id is not None
    return message_id
