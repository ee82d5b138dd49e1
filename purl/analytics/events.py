"""First-party event recording for the campaign funnel.

Events are plain rows in our own database: no third-party script, no IP address. A seed or test
recipient's events are flagged so they never count in a campaign's statistics.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from purl.analytics import tallies
from purl.models import Event, Recipient, ShopperProfile
from purl.webhooks import outbox

KINDS = ("visit", "quiz_start", "answer", "quiz_complete", "product_click", "link_request")


_INSERT = Event.__table__.insert()  # Core, built once: a visit is on the landing's hot path
ANSWER_SEPARATOR = "|"


def answer_text(value: object) -> str | None:
    """An answer as the event keeps it: the value, or a multiple choice's options joined by
    ``|`` in the order given; None for no answer."""
    if isinstance(value, list | tuple):
        value = ANSWER_SEPARATOR.join(str(v) for v in value if v is not None and v != "")
    return None if value is None or value == "" else str(value)


def record(
    session: Session,
    kind: str,
    *,
    recipient: Recipient | None = None,
    profile: ShopperProfile | None = None,
    **fields: object,
) -> None:
    """Write one event in the session's transaction (the caller commits).

    A plain INSERT rather than an ORM object: nothing reads an event back in the request that
    records it, and the unit of work cost the landing page a fifth of its time. The funnel
    and quiz tallies (``purl.analytics.tallies``) follow in the same transaction.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    row = {"kind": kind, "profile_id": profile.id if profile else None, **fields}
    if "answer" in row:
        row["answer"] = answer_text(row["answer"])
    if recipient is not None:
        row.update(recipient_id=recipient.id, campaign_id=recipient.campaign_id,
                   channel=recipient.channel, variant=recipient.variant,
                   is_seed=recipient.is_seed)
    # An event may name a profile or recipient this request created; an answer's tally reads
    # the answers the request just saved.
    if session.new or (kind == "answer" and session.dirty):
        session.flush()
    conn = session.connection()
    conn.execute(_INSERT, row)
    if row.get("is_seed"):
        return
    first = True
    if kind in tallies.FUNNEL_KINDS and row.get("recipient_id") is not None:
        first = tallies.count_funnel(conn, row)
    if kind in tallies.QUIZ_KINDS and row["profile_id"] is not None:
        tallies.count_quiz(conn, row)
    # The shop's tools hear of it in this same transaction; a worker sends it later.
    outbox.event_recorded(session, row, recipient, first)
