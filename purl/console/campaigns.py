"""Campaign and link logic for the console: plain functions over the session, only flushing."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..models import Campaign, Recipient, as_utc, utcnow

log = logging.getLogger(__name__)

# The console's dates are the shop's calendar days.
SHOP_TZ = ZoneInfo("Europe/Berlin")
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
                    variants: list[dict[str, str]]) -> Campaign:
    campaign = Campaign(slug=slug)
    apply_settings(campaign, data, variants)
    session.add(campaign)
    session.flush()
    log.info("campaign %s created", slug)
    return campaign


def set_archived(campaign: Campaign, archived: bool) -> None:
    """Archiving hides a campaign from the list; its links keep working (revoke ends them)."""
    campaign.archived_at = (campaign.archived_at or utcnow()) if archived else None


def variant_usage(session: Session, campaign: Campaign) -> dict[str, int]:
    """How many links each landing variant already has."""
    return dict(session.execute(
        select(Recipient.variant, func.count())
        .where(Recipient.campaign_id == campaign.id, Recipient.variant.is_not(None))
        .group_by(Recipient.variant)
    ).all())


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_recipients(
    session: Session, campaign: Campaign, query: str, limit: int = 50, offset: int = 0
) -> tuple[list[Recipient], int]:
    """Recipients whose name, email, external id or code contain every word of ``query``.

    Returns one page of them (in minting order) and how many match in all.
    """
    columns = (Recipient.first_name, Recipient.last_name, Recipient.email,
               Recipient.external_id, Recipient.code)
    conditions = [Recipient.campaign_id == campaign.id]
    for word in query.split()[:8]:
        pattern = _like(word.lower())
        conditions.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in columns)))
    where = and_(*conditions)
    total = session.scalar(select(func.count()).select_from(Recipient).where(where)) or 0
    rows = session.scalars(
        select(Recipient).where(where).order_by(Recipient.id).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def campaign_recipient(session: Session, campaign: Campaign, recipient_id: int) -> Recipient | None:
    """A recipient of this campaign only: an id from another campaign finds nothing."""
    return session.scalar(select(Recipient).where(
        Recipient.id == recipient_id, Recipient.campaign_id == campaign.id))


def active_links(session: Session, campaign: Campaign) -> int:
    return session.scalar(select(func.count()).select_from(Recipient).where(
        Recipient.campaign_id == campaign.id, Recipient.revoked_at.is_(None))) or 0
