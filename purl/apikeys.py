"""API keys: made by a user for the shop's tools, stored as a hash, scoped to all or some of
the campaigns that user may see, read-only or read-write, revocable.

A key never reaches beyond its creator: every check goes through ``purl.campaigns.access``
with the creator as the user, then narrows by the key's scope and its read-only flag. Plain
functions over the session that only flush; the API, the console and the CLI call these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, delete, select, true
from sqlalchemy.orm import Session, selectinload

from purl.campaigns import access
from purl.models import (
    ApiIdempotency,
    ApiKey,
    ApiKeyCampaign,
    Campaign,
    User,
    as_utc,
    utcnow,
)

log = logging.getLogger(__name__)

# "purl_" and 43 URL-safe characters (256 random bits): a key is found by its SHA-256, which
# is safe without a slow hash because nobody can guess a key of that many bits.
KEY_START = "purl_"
PREFIX_LENGTH = len(KEY_START) + 8
# last_used_at is written at most this often per key, not on every call.
TOUCH_EVERY = dt.timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A key that cannot be made as asked; ``str()`` is a stable code word."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(session: Session, user: User, name: str,
               campaigns: Sequence[Campaign] | None = None,
               read_only: bool = False) -> tuple[ApiKey, str]:
    """A new key of ``user`` and its secret, which is shown once and never stored.

    ``campaigns`` None: every campaign the user may see, now and later; else only these,
    each of which the user must see (``ApiKeyError("campaign")`` otherwise)."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ApiKeyError("name")
    if not user.active:
        raise ApiKeyError("inactive")
    if campaigns is not None:
        if not campaigns:
            raise ApiKeyError("campaign")
        for campaign in campaigns:
            if access.role_for(session, campaign, user) is None:
                raise ApiKeyError("campaign")
    secret = KEY_START + secrets.token_urlsafe(32)
    key = ApiKey(prefix=secret[:PREFIX_LENGTH], key_hash=digest(secret), name=name,
                 user_id=user.id, all_campaigns=campaigns is None, read_only=read_only)
    session.add(key)
    session.flush()
    for campaign in {c.id: c for c in campaigns or []}.values():
        session.add(ApiKeyCampaign(api_key_id=key.id, campaign_id=campaign.id))
    session.flush()
    log.info("api key %s (%s) created for user %s", key.id, key.prefix, user.id)
    return key, secret


def find_key(session: Session, secret: str) -> ApiKey | None:
    """The live key ``secret`` belongs to: not revoked, its creator still active; else None."""
    if not secret.startswith(KEY_START) or len(secret) > 200:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(secret))
                         .options(selectinload(ApiKey.user)))
    if key is None or key.revoked_at is not None or not key.user.active:
        return None
    return key


def touch(key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Note the key's use; True when that changed the row (at most once a minute)."""
    now = now or utcnow()
    last = as_utc(key.last_used_at)
    if last is not None and now - last < TOUCH_EVERY:
        return False
    key.last_used_at = now
    return True


def revoke_key(key: ApiKey) -> None:
    """A revoked key answers 401 from now on; the row stays for the list."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        log.info("api key %s revoked", key.id)


def keys_of(session: Session, user: User) -> list[ApiKey]:
    """The user's keys, newest first, with their campaigns."""
    return list(session.scalars(
        select(ApiKey).where(ApiKey.user_id == user.id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        .options(selectinload(ApiKey.campaigns))))


def key_of(session: Session, user: User, key_id: int) -> ApiKey | None:
    """One of the user's own keys: another user's id finds nothing."""
    return session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user.id))


def key_by_reference(session: Session, reference: str) -> ApiKey | None:
    """A key named by its id or its shown prefix (the CLI's ``apikey revoke``); None when
    nothing or more than one key matches."""
    if reference.isdigit():
        return session.get(ApiKey, int(reference))
    rows = session.scalars(select(ApiKey).where(ApiKey.prefix == reference[:PREFIX_LENGTH])
                           .limit(2)).all()
    return rows[0] if len(rows) == 1 else None


# --- what a key may reach --------------------------------------------------------------------


def visible(key: ApiKey) -> ColumnElement[bool]:
    """A where clause for ``select(Campaign)``: the campaigns ``key`` reaches, the creator's
    and, for a scoped key, only those of its scope."""
    scope = true() if key.all_campaigns else Campaign.id.in_(
        select(ApiKeyCampaign.campaign_id).where(ApiKeyCampaign.api_key_id == key.id))
    return and_(access.visible(key.user), scope)


def role_for(session: Session, key: ApiKey, campaign: Campaign) -> access.Role | None:
    """The key's role in ``campaign``: its creator's, None outside its scope, at most
    "viewer" for a read-only key."""
    if not key.all_campaigns and session.scalar(select(ApiKeyCampaign.campaign_id).where(
            ApiKeyCampaign.api_key_id == key.id,
            ApiKeyCampaign.campaign_id == campaign.id)) is None:
        return None
    role = access.role_for(session, campaign, key.user)
    if role is not None and key.read_only:
        return "viewer"
    return role


def may_create_campaigns(key: ApiKey) -> bool:
    """A new campaign would lie outside a scoped key's scope, and a read-only key writes
    nothing."""
    return key.all_campaigns and not key.read_only


# --- idempotency: a retried write answers what it answered the first time -----------------

IDEMPOTENCY_HOURS = 24


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same one: method, path with query, and body."""
    digest_ = hashlib.sha256(f"{method} {path}\n".encode())
    digest_.update(body)
    return digest_.hexdigest()


def remembered(session: Session, key: ApiKey, idempotency_key: str,
               now: dt.datetime | None = None) -> ApiIdempotency | None:
    """The answer stored under ``idempotency_key`` in the last day, if any."""
    since = (now or utcnow()) - dt.timedelta(hours=IDEMPOTENCY_HOURS)
    return session.scalar(select(ApiIdempotency).where(
        ApiIdempotency.api_key_id == key.id, ApiIdempotency.key == idempotency_key,
        ApiIdempotency.created_at >= since))


def remember(session: Session, key: ApiKey, idempotency_key: str, fingerprint_: str,
             status: int, body: str, location: str | None) -> None:
    """Store an answer (replacing an expired one under the same key); flushes, so a
    concurrent request that stored first raises IntegrityError here."""
    session.execute(delete(ApiIdempotency).where(ApiIdempotency.api_key_id == key.id,
                                                 ApiIdempotency.key == idempotency_key))
    session.add(ApiIdempotency(api_key_id=key.id, key=idempotency_key, fingerprint=fingerprint_,
                               status=status, body=body, location=location))
    session.flush()


def purge_idempotency(session: Session, now: dt.datetime | None = None) -> int:
    """Forget answers older than a day; returns how many."""
    since = (now or utcnow()) - dt.timedelta(hours=IDEMPOTENCY_HOURS)
    result = session.execute(delete(ApiIdempotency).where(ApiIdempotency.created_at < since))
    session.flush()
    return result.rowcount
