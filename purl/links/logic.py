"""PURL logic: minting links for recipients and resolving a followed link.

Plain functions over the session: the CLI, the console and the views all call these.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..models import Campaign, Recipient, as_utc, utcnow
from . import codes, tokens
from .rows import identity_for

log = logging.getLogger(__name__)


class LinkNotFound(LookupError):
    """Tampered, unknown or foreign-key-signed token: answered with 404."""


class LinkGone(LookupError):
    """Revoked or expired link: answered with 410."""


@dataclass(frozen=True)
class NewRecipient:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    external_id: str | None = None
    gender: str | None = None
    title: str | None = None
    company: str | None = None
    channel: str = "email"
    is_seed: bool = False


def pick_variant(campaign: Campaign, ordinal: int) -> str | None:
    """The landing variant for a campaign's ``ordinal``-th recipient (0-based).

    Round-robin in minting order: deterministic, and as even as a split can be.
    """
    keys = [v["key"] for v in (campaign.variants or []) if v.get("key")]
    return keys[ordinal % len(keys)] if keys else None


def landing_copy(campaign: Campaign, recipient: Recipient) -> tuple[str, str]:
    """(headline, message) this recipient's landing page shows: their variant's, if any."""
    for variant in campaign.variants or []:
        if variant.get("key") == recipient.variant:
            return (variant.get("headline") or campaign.headline,
                    variant.get("message") or campaign.message)
    return campaign.headline, campaign.message


def revoke(
    session: Session, campaign: Campaign, recipient_ids: Sequence[int] | None = None
) -> int:
    """Withdraw links: the given recipients' of this campaign, or the whole campaign's.

    Returns how many links were newly revoked. Revoked links answer 410. Only flushes.
    """
    now = utcnow()
    if recipient_ids is None:
        if campaign.revoked_at is None:
            campaign.revoked_at = now
        count = session.scalar(
            select(func.count()).where(Recipient.campaign_id == campaign.id,
                                       Recipient.revoked_at.is_(None))
        )
        session.flush()
        return count or 0
    result = session.execute(
        update(Recipient)
        .where(Recipient.campaign_id == campaign.id, Recipient.id.in_(list(recipient_ids)),
               Recipient.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return result.rowcount


def identity_of(person: NewRecipient) -> str:
    """Who this is within a campaign: external id, else normalised email, else the content."""
    return identity_for(
        (person.external_id or "").strip(), (person.email or "").strip(),
        person.first_name or "", person.last_name or "", person.company or "",
    )


def mint(session: Session, campaign: Campaign, people: Sequence[NewRecipient]) -> list[Recipient]:
    """Give each person a recipient row with a fresh random code; reuse existing ones.

    One ORM object per row: fine for a handful (demo, tests). Large lists go through the
    bulk path of the batch importer.
    """
    result = []
    ordinal = session.scalar(
        select(func.count()).where(Recipient.campaign_id == campaign.id)
    ) or 0
    for person in people:
        identity = identity_of(person)
        existing = session.scalar(
            select(Recipient).where(
                Recipient.campaign_id == campaign.id,
                Recipient.channel == person.channel,
                Recipient.identity == identity,
            )
        )
        if existing is not None:
            result.append(existing)
            continue
        recipient = Recipient(
            campaign_id=campaign.id,
            code=codes.new_code(),
            identity=identity,
            channel=person.channel,
            external_id=person.external_id,
            email=person.email,
            first_name=person.first_name,
            last_name=person.last_name,
            gender=person.gender,
            title=person.title,
            company=person.company,
            is_seed=person.is_seed,
            attributes={},
            variant=pick_variant(campaign, ordinal),
        )
        ordinal += 1
        session.add(recipient)
        result.append(recipient)
    session.flush()
    return result


def link_url(recipient: Recipient, campaign: Campaign, keys: Sequence[str], base_url: str) -> str:
    base = (campaign.base_url or base_url).rstrip("/")
    return f"{base}/p/{tokens.sign(recipient.link_key, keys)}"


def link_key_column(key: str) -> InstrumentedAttribute[str | None]:
    """Where to find the recipient whose link carries ``key``: a code, or an older link's
    public id (24 characters, never a code's 13)."""
    return Recipient.code if len(key) == codes.LENGTH else Recipient.public_id


def resolve(
    session: Session, token: str, keys: Sequence[str], now: dt.datetime | None = None
) -> Recipient:
    """The recipient a followed link belongs to, or LinkNotFound / LinkGone."""
    key = tokens.unsign(token, keys)
    if key is None:
        raise LinkNotFound
    recipient = session.scalar(select(Recipient).where(link_key_column(key) == key))
    if recipient is None:
        raise LinkNotFound
    now = now or utcnow()
    campaign = recipient.campaign
    expires = as_utc(campaign.expires_at)
    if recipient.revoked_at or campaign.revoked_at or (expires and expires <= now):
        raise LinkGone
    return recipient

