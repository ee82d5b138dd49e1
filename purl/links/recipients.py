"""PURL logic: minting links for recipients and resolving a followed link.

Plain functions over the session: the CLI, the console and the views all call these.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from purl.analytics import link_tally
from purl.campaigns.records import link_base
from purl.campaigns.variants import pick_variant, variant_keys
from purl.links import codes, tokens
from purl.links.identity import identity_for
from purl.models import Campaign, Recipient, as_utc, utcnow

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
    withdrawn = session.execute(
        update(Recipient)
        .where(Recipient.campaign_id == campaign.id, Recipient.id.in_(list(recipient_ids)),
               Recipient.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(Recipient.channel, Recipient.variant, Recipient.is_seed)
        .execution_options(synchronize_session="fetch")
    ).all()
    link_tally.bump(session, campaign.id,
                    revoked=Counter(link_tally.group_of(*r) for r in withdrawn))
    session.flush()
    return len(withdrawn)


def identity_of(person: NewRecipient) -> str:
    """Who this is within a campaign: external id, else normalised email, else the content."""
    return identity_for(
        (person.external_id or "").strip(), (person.email or "").strip(),
        person.first_name or "", person.last_name or "", person.company or "",
    )


_CORRECTABLE = ("external_id", "email", "first_name", "last_name", "gender", "title", "company")


def _correct(known: Recipient, person: NewRecipient) -> bool:
    """Take a known person's corrected details (what ``person`` gives: None is "not given"),
    keeping their link, as a re-run of a list does in bulk. Whether anything changed."""
    changed = False
    for name in _CORRECTABLE:
        value = getattr(person, name)
        if value is not None and getattr(known, name) != value:
            setattr(known, name, value)
            changed = True
    return changed


def mint(session: Session, campaign: Campaign, people: Sequence[NewRecipient]) -> list[Recipient]:
    """Give each person a recipient row with a fresh random code; reuse existing ones, with
    their details corrected where ``people`` says otherwise (the link stays).

    One ORM object per row: fine for a handful (demo, tests). Large lists go through the
    bulk path of the batch importer.
    """
    result = []
    keys = variant_keys(campaign)
    ordinal = link_tally.links_minted(session, campaign.id)
    minted: Counter[link_tally.Group] = Counter()
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
            _correct(existing, person)
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
            variant=pick_variant(keys, ordinal),
        )
        ordinal += 1
        session.add(recipient)
        result.append(recipient)
        minted[link_tally.group_of(recipient.channel, recipient.variant,
                                    recipient.is_seed)] += 1
    session.flush()
    link_tally.bump(session, campaign.id, minted=minted)
    return result


def link_url(recipient: Recipient, campaign: Campaign, keys: Sequence[str], base_url: str) -> str:
    """The recipient's signed link, under the campaign's link base (``base_url`` by default)."""
    return f"{link_base(campaign, base_url)}/p/{tokens.sign(recipient.link_key, keys)}"


def link_key_column(key: str) -> InstrumentedAttribute[str | None]:
    """Where to find the recipient whose link carries ``key``: a code, or an older link's
    public id (24 characters, never a code's 13)."""
    return Recipient.code if len(key) == codes.LENGTH else Recipient.public_id


def check_live(recipient: Recipient, campaign: Campaign, now: dt.datetime | None = None) -> None:
    """Raise LinkGone when the link was revoked, its campaign revoked, or the campaign ended:
    the one rule every way in (link, typed code, QR image) applies."""
    expires = as_utc(campaign.expires_at)
    if recipient.revoked_at or campaign.revoked_at or (expires and expires <= (now or utcnow())):
        raise LinkGone


_BY_KEY = {  # built once per kind of key: SQLAlchemy reuses the compiled statement
    column.key: select(Recipient, Campaign).join(Campaign, Campaign.id == Recipient.campaign_id)
    .where(column == bindparam("key"))
    for column in (Recipient.code, Recipient.public_id)
}


def find_by_key(session: Session, key: str) -> tuple[Recipient, Campaign] | None:
    """The recipient whose link carries ``key`` (a code, or an older link's public id), with
    its campaign, in one query; None when there is none."""
    row = session.execute(_BY_KEY[link_key_column(key).key], {"key": key}).first()
    return (row[0], row[1]) if row else None


def resolve(
    session: Session, token: str, keys: Sequence[str], now: dt.datetime | None = None
) -> Recipient:
    """The recipient a followed link belongs to, or LinkNotFound / LinkGone."""
    key = tokens.unsign(token, keys)
    found = find_by_key(session, key) if key is not None else None
    if found is None:
        raise LinkNotFound
    check_live(*found, now=now)
    return found[0]


_SEARCHED = (Recipient.first_name, Recipient.last_name, Recipient.email, Recipient.external_id)
_LAST_CHAR = "\U0010ffff"


def _after_prefix(prefix: str) -> str:
    """The least text greater than every text starting with ``prefix`` (code point order)."""
    last = ord(prefix[-1])
    if last == 0x10FFFF:
        return prefix + _LAST_CHAR
    following = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1  # no surrogates
    return prefix[:-1] + chr(following)


def _prefix_of(session: Session, campaign: Campaign, word: str):  # noqa: ANN202
    """Rows where some searched column starts with ``word`` (any case) or the code does.

    A prefix is an index range (``>= word`` and ``<`` the text just past it) in code point
    order: SQLite compares bytes, PostgreSQL compares in the C collation the indexes of
    migration 0015 use. The campaign sits in every branch so each one is its own index range.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    low, high = word.lower(), _after_prefix(word.lower())
    branches = []
    for column in _SEARCHED:
        lowered = func.lower(column)
        if postgres:
            lowered = lowered.collate("C")
        branches.append(and_(Recipient.campaign_id == campaign.id, lowered >= low,
                             lowered < high))
    code = codes.prefix_form(word)
    if code:
        branches.append(and_(Recipient.code >= code, Recipient.code < _after_prefix(code),
                             Recipient.campaign_id == campaign.id))
    return or_(*branches)


@dataclass(frozen=True)
class LinkPage:
    """One page of a campaign's links in minting order, and the keys of its neighbours."""

    rows: list[Recipient]
    after: int | None = None  # the "next" page starts after this id, if there is one
    before: int | None = None  # the "previous" page ends before this id, if there is one


def search_recipients(
    session: Session, campaign: Campaign, query: str, limit: int = 50,
    after: int | None = None, before: int | None = None,
) -> LinkPage:
    """Recipients where every word of ``query`` starts a name, email, customer number or
    code, one page of them in minting order: after the id ``after``, or the page ending just
    before ``before``. Reads ``limit + 1`` rows to know whether more follow; never counts."""
    conditions = [_prefix_of(session, campaign, word)
                  for word in query.replace("\x00", "").split()[:8]]
    # A search reads its index ranges (each holds the campaign) and sorts the few matches;
    # "+ 0" keeps SQLite from walking every id in order instead. A plain page walks the
    # campaign's ids.
    key = Recipient.id + 0 if conditions else Recipient.id
    if not conditions:
        conditions.append(Recipient.campaign_id == campaign.id)
    backwards = before is not None
    if backwards:
        conditions.append(key < before)
    elif after is not None:
        conditions.append(key > after)
    order = Recipient.id.desc() if backwards else Recipient.id
    rows = list(session.scalars(
        select(Recipient).where(*conditions).order_by(order).limit(limit + 1)
    ))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        return LinkPage(rows, after=rows[-1].id if rows else before,
                        before=rows[0].id if more else None)
    return LinkPage(rows, after=rows[-1].id if more else None,
                    before=None if after is None else rows[0].id if rows else after + 1)


def campaign_recipient(session: Session, campaign: Campaign, recipient_id: int) -> Recipient | None:
    """A recipient of this campaign only: an id from another campaign finds nothing."""
    return session.scalar(select(Recipient).where(
        Recipient.id == recipient_id, Recipient.campaign_id == campaign.id))



EDITABLE = ("first_name", "last_name", "gender", "title", "company")
_BY_CONTENT = ("first_name", "last_name", "company")  # what a "row:" identity is made of


class NotEditable(ValueError):
    """A change that would make the recipient someone else; ``str()`` names the field."""


def update_details(recipient: Recipient, details: Mapping[str, str | None],
                   attributes: Mapping[str, str | None]) -> None:
    """Change a recipient's names, salutation and extra attributes (None removes one); the
    link stays. Who they are stays too: a recipient told apart by their name and company
    (no CRM id, no email) keeps those, as a changed name would be a new person."""
    if recipient.identity.startswith("row:"):
        for name in _BY_CONTENT:
            if name in details and details[name] != getattr(recipient, name):
                raise NotEditable(name)
    for name, value in details.items():
        if name not in EDITABLE:
            raise NotEditable(name)
        setattr(recipient, name, value)
    if attributes:
        merged = dict(recipient.attributes or {})
        for key, value in attributes.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        recipient.attributes = merged
