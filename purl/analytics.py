"""First-party event recording for the campaign funnel.

Events are plain rows in our own database: no third-party script, no IP address. A seed or test
recipient's events are flagged so they never count in a campaign's statistics.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import Event, Recipient, ShopperProfile

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


def funnel_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """Distinct recipients per funnel step, seeds left out."""
    rows = session.execute(
        select(Event.kind, func.count(func.distinct(Event.recipient_id)))
        .where(Event.campaign_id == campaign_id, Event.is_seed.is_(False))
        .group_by(Event.kind)
    ).all()
    counts = {kind: 0 for kind in KINDS}
    counts.update(dict(rows))
    return counts
