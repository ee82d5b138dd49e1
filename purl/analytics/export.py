"""A campaign's events as CSV for the marketer's own tools."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from purl.models import Event, Product, Recipient, as_utc
from purl.spreadsheet import safe_cell

EXPORT_COLUMNS = ("time_utc", "kind", "channel", "variant", "recipient_code",
                  "recipient_external_id", "question_id", "product_sku", "seed")


def export_rows(session: Session, campaign_id: int) -> Iterator[list[str]]:
    """The campaign's events as CSV rows (header first), streamed in id order."""
    yield list(EXPORT_COLUMNS)
    query = (
        select(Event.created_at, Event.kind, Event.channel, Event.variant, Recipient.code,
               Recipient.external_id, Event.question_id, Product.sku, Event.is_seed)
        .outerjoin(Recipient, Recipient.id == Event.recipient_id)
        .outerjoin(Product, Product.id == Event.product_id)
        .where(Event.campaign_id == campaign_id)
        .order_by(Event.id)
        .execution_options(yield_per=2000)
    )
    for created, *rest, seed in session.execute(query):
        yield [safe_cell(as_utc(created).isoformat(timespec="seconds")),
               *(safe_cell(v) for v in rest), "yes" if seed else "no"]
