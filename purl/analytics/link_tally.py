"""How many links each campaign has, kept as they are minted and revoked.

One row per campaign, channel, variant and seed flag: the links minted and how many of them
are revoked. The console's campaign list, campaign page and funnel read these few rows, never
count a million recipients. Every path that adds a recipient or revokes one bumps them in the
same transaction: :func:`recipients.mint` and ``revoke``, the batch's bulk store, erasure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from purl.models import LinkTally

# A group: (channel, variant or "", is_seed).
Group = tuple[str, str, bool]


def _upsert_sql(mark: str) -> str:
    """The bump as driver SQL with the driver's placeholder (``?`` or ``%s``): the bulk
    store writes through its own cursor, the ORM paths through ``exec_driver_sql``."""
    return (
        "INSERT INTO link_tally (campaign_id, channel, variant, is_seed, links, revoked) "
        f"VALUES ({', '.join([mark] * 6)}) "
        "ON CONFLICT (campaign_id, channel, variant, is_seed) DO UPDATE SET "
        "links = link_tally.links + excluded.links, "
        "revoked = link_tally.revoked + excluded.revoked"
    )


def group_of(channel: str, variant: str | None, is_seed: bool) -> Group:
    """A recipient's group in the tally: no variant is "", the seed flag a bool."""
    return (channel, variant or "", bool(is_seed))


def _rows(campaign_id: int, minted: Counter[Group] | None,
          revoked: Counter[Group] | None) -> list[tuple]:
    minted, revoked = minted or Counter(), revoked or Counter()
    return [(campaign_id, *group, minted[group], revoked[group])
            for group in set(minted) | set(revoked) if minted[group] or revoked[group]]


def bump(session: Session, campaign_id: int, minted: Counter[Group] | None = None,
         revoked: Counter[Group] | None = None) -> None:
    """Add ``minted`` new links and ``revoked`` withdrawn ones to the campaign's tally."""
    if rows := _rows(campaign_id, minted, revoked):
        connection = session.connection()
        mark = "%s" if connection.dialect.name == "postgresql" else "?"
        connection.exec_driver_sql(_upsert_sql(mark), rows)


def bump_through(cursor: Any, mark: str, campaign_id: int, minted: Counter[Group]) -> None:
    """:func:`bump` through a driver cursor (the batch's bulk store, which commits through
    the driver)."""
    if rows := _rows(campaign_id, minted, None):
        cursor.executemany(_upsert_sql(mark), rows)


def links_minted(session: Session, campaign_id: int) -> int:
    """Every link the campaign has, seeds and revoked ones too (the variant round-robin's
    ordinal)."""
    return int(session.scalar(select(func.coalesce(func.sum(LinkTally.links), 0))
                              .where(LinkTally.campaign_id == campaign_id)) or 0)


def active_links(session: Session, campaign_id: int) -> int:
    """Links not revoked one by one (a revoked campaign's links keep counting here)."""
    return int(session.scalar(
        select(func.coalesce(func.sum(LinkTally.links - LinkTally.revoked), 0))
        .where(LinkTally.campaign_id == campaign_id)) or 0)


def variant_usage(session: Session, campaign_id: int) -> dict[str, int]:
    """How many links each landing variant has."""
    return {variant: int(count) for variant, count in session.execute(
        select(LinkTally.variant, func.sum(LinkTally.links))
        .where(LinkTally.campaign_id == campaign_id, LinkTally.variant != "")
        .group_by(LinkTally.variant))}


def minted_by_campaign(session: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """Links minted per campaign, seeds left out (the funnel's first step)."""
    return {cid: int(count) for cid, count in session.execute(
        select(LinkTally.campaign_id, func.sum(LinkTally.links))
        .where(LinkTally.campaign_id.in_(list(campaign_ids)), LinkTally.is_seed.is_(False))
        .group_by(LinkTally.campaign_id))}


def minted_by_group(session: Session, campaign_id: int) -> list[tuple[str, str, int]]:
    """(channel, variant, links) of the campaign, seeds left out."""
    return [(channel, variant, int(count)) for channel, variant, count in session.execute(
        select(LinkTally.channel, LinkTally.variant, func.sum(LinkTally.links))
        .where(LinkTally.campaign_id == campaign_id, LinkTally.is_seed.is_(False))
        .group_by(LinkTally.channel, LinkTally.variant))]

