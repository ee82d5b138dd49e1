"""A campaign's record: create, change, archive, its dates and its link base.

Plain functions over the session that only flush; the console, the CLI, the demo and the API
call these.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from purl.models import Campaign, User, as_utc, utcnow

log = logging.getLogger(__name__)

# The console's dates are the shop's calendar days.
SHOP_TZ = ZoneInfo("Europe/Berlin")
# The shapes of a campaign's fields, checked by the console's form and the API's schemas.
SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"
UTM_VALUE = r"^[A-Za-z0-9._~-]+$"
OFFER_CODE = r"^[A-Za-z0-9_-]+$"
CAMPAIGN_FIELDS = ("name", "quiz_slug", "locale", "tone", "headline", "message", "starts_on",
                   "ends_on", "utm_source", "utm_medium", "utm_campaign", "offer_code",
                   "offer_text")


def expires_at_for(day: dt.date | None) -> dt.datetime | None:
    """Links work until the end of ``day`` in the shop's time zone."""
    if day is None:
        return None
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, SHOP_TZ)
    return midnight.astimezone(dt.UTC)


def expiry_day(expires_at: dt.datetime | None) -> dt.date | None:
    if expires_at is None:
        return None
    return (as_utc(expires_at).astimezone(SHOP_TZ) - dt.timedelta(seconds=1)).date()


def slug_from(name: str) -> str:
    """A slug for addresses from a campaign name: "Winter 2026 – Stammkunden" → winter-2026-…"""
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
    text = re.sub(r"[^a-z0-9]+", "-", name.lower().translate(table)).strip("-")
    return text[:64].rstrip("-") or "campaign"


def slug_taken(session: Session, slug: str) -> bool:
    return session.scalar(select(Campaign.id).where(Campaign.slug == slug)) is not None


def unique_slug(session: Session, wanted: str) -> str:
    slug, n = wanted, 2
    while slug_taken(session, slug):
        suffix = f"-{n}"
        slug, n = wanted[: 64 - len(suffix)] + suffix, n + 1
    return slug


def apply_settings(campaign: Campaign, data: dict, variants: list[dict[str, str]]) -> None:
    """Copy the campaign form's values onto ``campaign``; empty texts become None/""."""
    for name in CAMPAIGN_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            value = value.strip()
        if name in ("headline", "message"):
            value = value or ""
        elif name.startswith(("utm_", "offer_")):
            value = value or None
        setattr(campaign, name, value)
    campaign.expires_at = expires_at_for(data.get("expires_on"))
    campaign.variants = variants


def create_campaign(session: Session, slug: str, data: dict,
                    variants: list[dict[str, str]] | None = None,
                    base_url: str | None = None, owner: User | None = None) -> Campaign:
    """A new campaign from the campaign form's values (``CAMPAIGN_FIELDS``, ``expires_on``),
    owned by ``owner`` (None: the admins' alone, see ``purl.campaigns.access``)."""
    campaign = Campaign(slug=slug, base_url=base_url or None,
                        owner_id=owner.id if owner is not None else None)
    apply_settings(campaign, data, variants or [])
    session.add(campaign)
    session.flush()
    log.info("campaign %s created", slug)
    return campaign


def set_archived(campaign: Campaign, archived: bool) -> None:
    """Archiving hides a campaign from the list; its links keep working (revoke ends them)."""
    campaign.archived_at = (campaign.archived_at or utcnow()) if archived else None


def link_base(campaign: Campaign, default: str) -> str:
    """Where this campaign's links start: its own address, else the install's."""
    return (campaign.base_url or default).rstrip("/")
