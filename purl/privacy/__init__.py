"""GDPR: export one recipient's data, erase it, and purge old events (the retention).

Plain functions over the session that only flush; the console, the CLI and the job queue
call these. The funnel reads counters (``purl.analytics.tallies``), not events, so neither
an erasure nor the retention changes its figures: erasing deletes the per-person rows that
say who was counted (without counting them down) and cuts the events' links to the person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from purl.analytics import link_tally
from purl.links.identity import visitor_profile_id
from purl.models import (
    ApiIdempotency,
    Campaign,
    Erasure,
    Event,
    FunnelReach,
    Product,
    QuizAnswered,
    QuizChoice,
    QuizProgress,
    QuizResponse,
    Recipient,
    ShopperProfile,
    User,
    as_utc,
    utcnow,
)
from purl.webhooks import outbox

log = logging.getLogger(__name__)

# The recipient's own columns, as an export lists them and an erasure empties them.
PERSONAL_FIELDS = ("external_id", "email", "first_name", "last_name", "gender", "title",
                   "company")
ERASED_IDENTITY = "erased:"


def find_recipients(session: Session, campaign: Campaign, *, recipient_id: int | None = None,
                    external_id: str | None = None, email: str | None = None
                    ) -> list[Recipient]:
    """The campaign's recipients one request names: by id, by the CRM's id, or by email
    (any case). One person with links on several channels is several rows; all of them."""
    query = select(Recipient).where(Recipient.campaign_id == campaign.id)
    if recipient_id is not None:
        query = query.where(Recipient.id == recipient_id)
    elif external_id:
        query = query.where(Recipient.external_id == external_id)
    elif email and email.strip():
        query = query.where(func.lower(Recipient.email) == email.strip().lower())
    else:
        return []
    return list(session.scalars(query.order_by(Recipient.id)))


def is_erased(recipient: Recipient) -> bool:
    return recipient.identity.startswith(ERASED_IDENTITY)


def _when(value: dt.datetime | None) -> str | None:
    return as_utc(value).isoformat(timespec="seconds") if value else None


def export_recipient(session: Session, recipient: Recipient) -> dict[str, Any]:
    """Everything purl holds about one recipient, as JSON-ready values (art. 15 / 20)."""
    profile = session.scalar(select(ShopperProfile).where(
        ShopperProfile.recipient_id == recipient.id))
    answers: list[dict[str, Any]] = []
    if profile is not None:
        answers = [{"quiz": r.quiz_slug, "quiz_version": r.quiz_version, "answers": r.answers,
                    "started_at": _when(r.started_at), "completed_at": _when(r.completed_at)}
                   for r in session.scalars(select(QuizResponse).where(
                       QuizResponse.profile_id == profile.id).order_by(QuizResponse.id))]
    mine = Event.recipient_id == recipient.id
    if profile is not None:
        mine = or_(mine, Event.profile_id == profile.id)
    events = [{"time_utc": _when(created), "kind": kind, "channel": channel, "variant": variant,
               "quiz": quiz, "question_id": question, "answer": answer, "product_sku": sku}
              for created, kind, channel, variant, quiz, question, answer, sku in session.execute(
                  select(Event.created_at, Event.kind, Event.channel, Event.variant,
                         Event.quiz_slug, Event.question_id, Event.answer, Product.sku)
                  .outerjoin(Product, Product.id == Event.product_id)
                  .where(mine).order_by(Event.id))]
    return {
        "recipient": {
            "id": recipient.id, "campaign": recipient.campaign.slug,
            **{name: getattr(recipient, name) for name in PERSONAL_FIELDS},
            "attributes": recipient.attributes or {}, "channel": recipient.channel,
            "code": recipient.code, "variant": recipient.variant,
            "created_at": _when(recipient.created_at),
            "revoked_at": _when(recipient.revoked_at), "erased": is_erased(recipient)},
        "profile": None if profile is None else {
            "email": profile.email, "consent_at": _when(profile.consent_at),
            "created_at": _when(profile.created_at), "updated_at": _when(profile.updated_at)},
        "answers": answers,
        "events": events,
    }


def erase_recipient(session: Session, recipient: Recipient, erased_by: str,
                    user: User | None = None) -> Erasure:
    """Erase one recipient (art. 17): their personal fields, their profile and answers go,
    their link is withdrawn (it answers 410), and their events stay only as anonymous
    counts. The funnel's totals do not change. Records the erasure; only flushes."""
    now = utcnow()
    profile_ids = list(session.scalars(select(ShopperProfile.id).where(
        ShopperProfile.recipient_id == recipient.id)))
    # A visitor who left their email got this link: the profile they took the quiz under
    # holds the same email and answers, so it goes too.
    visitor = visitor_profile_id(recipient.external_id, recipient.channel)
    if visitor is not None:
        profile_ids += session.scalars(select(ShopperProfile.id).where(
            ShopperProfile.id == visitor, ShopperProfile.visitor_id.is_not(None)))
    session.execute(update(Event).where(Event.recipient_id == recipient.id)
                    .values(recipient_id=None, profile_id=None, answer=None)
                    .execution_options(synchronize_session=False))
    # Which recipient reached which step: the tallies counted them already and, the link
    # withdrawn, nothing counts them again.
    session.execute(delete(FunnelReach).where(FunnelReach.recipient_id == recipient.id))
    # Messages for the shop's tools name them too, sent or waiting: they go.
    outbox.forget_recipient(session, recipient.id)
    # The API's stored answers (a day's, for retries) may name them: a day's are dropped
    # rather than searched, as a retry then only runs again.
    session.execute(delete(ApiIdempotency))
    if profile_ids:
        session.execute(update(Event).where(Event.profile_id.in_(profile_ids))
                        .values(profile_id=None, answer=None)
                        .execution_options(synchronize_session=False))
        for model in (QuizProgress, QuizAnswered, QuizChoice):
            session.execute(delete(model).where(model.profile_id.in_(profile_ids)))
        session.execute(delete(QuizResponse).where(QuizResponse.profile_id.in_(profile_ids)))
        session.execute(delete(ShopperProfile).where(ShopperProfile.id.in_(profile_ids)))
    for name in PERSONAL_FIELDS:
        setattr(recipient, name, None)
    recipient.attributes = {}
    # Unique within the campaign and channel, and says nothing about the person.
    recipient.identity = f"{ERASED_IDENTITY}{recipient.id}"
    if recipient.revoked_at is None:
        recipient.revoked_at = now
        link_tally.bump(session, recipient.campaign_id,
                        revoked=Counter([link_tally.group_of(
                            recipient.channel, recipient.variant, recipient.is_seed)]))
    record = Erasure(recipient_id=recipient.id, campaign_id=recipient.campaign_id,
                     erased_by=erased_by[:254], user_id=user.id if user else None,
                     erased_at=now)
    session.add(record)
    session.flush()
    log.info("campaign %s: recipient %s erased by %s", recipient.campaign_id, recipient.id,
             erased_by)
    return record


def erasures(session: Session, campaign: Campaign) -> Sequence[Erasure]:
    return session.scalars(select(Erasure).where(Erasure.campaign_id == campaign.id)
                           .order_by(Erasure.id)).all()


def purge_events(session: Session, install_days: int, now: dt.datetime | None = None) -> int:
    """Delete events older than their campaign's retention (``event_retention_days``), else
    the install's (``install_days``; 0 keeps them). The funnel's tallies are counters kept as
    events arrive, so its totals stay. Returns how many events went; only flushes."""
    now = now or utcnow()
    removed = 0
    own = select(Campaign.id, Campaign.event_retention_days).where(
        Campaign.event_retention_days.is_not(None), Campaign.event_retention_days > 0)
    for campaign_id, days in session.execute(own).all():
        removed += session.execute(delete(Event).where(
            Event.campaign_id == campaign_id,
            Event.created_at < now - dt.timedelta(days=days))
            .execution_options(synchronize_session=False)).rowcount or 0
    if install_days > 0:
        ruled = select(Campaign.id).where(Campaign.event_retention_days.is_not(None))
        removed += session.execute(delete(Event).where(
            and_(Event.created_at < now - dt.timedelta(days=install_days)),
            or_(Event.campaign_id.is_(None), Event.campaign_id.not_in(ruled)))
            .execution_options(synchronize_session=False)).rowcount or 0
    if removed:
        log.info("retention: %d events purged", removed)
    return removed


MAX_RETENTION_DAYS = 36500


def set_event_retention(campaign: Campaign, days: int | None) -> None:
    """A campaign's own event retention: days (0 keeps its events for ever), or None for
    the install's. Raises ValueError outside 0…36500. Only changes the object."""
    if days is not None and not 0 <= days <= MAX_RETENTION_DAYS:
        raise ValueError(days)
    campaign.event_retention_days = days
