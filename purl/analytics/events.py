"""First-party event recording for the campaign funnel.

Events are plain rows in our own database: no third-party script, no IP address. A seed or test
recipient's events are flagged so they never count in a campaign's statistics.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from purl.models import Event, Recipient, ShopperProfile

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
