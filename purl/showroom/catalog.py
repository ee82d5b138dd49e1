"""Catalog upserts: products keyed by the shop's own id (sku/handle)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..models import Product, ProductTag

log = logging.getLogger(__name__)

PRODUCT_FIELDS = (
    "title", "description", "category", "product_type", "brand", "price", "compare_at_price",
    "currency", "image_url", "url", "available",
)


def upsert_products(session: Session, rows: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Insert new products and update changed ones by sku; returns (created, updated).

    Tags are replaced with the row's tags. Only flushes; the caller commits.
    """
    rows = list(rows)
    existing = {
        p.sku: p for p in session.scalars(
            select(Product).where(Product.sku.in_([r["sku"] for r in rows]))
        )
    }
    created = updated = 0
    for row in rows:
        product = existing.get(row["sku"])
        values = {k: row[k] for k in PRODUCT_FIELDS if k in row}
        if product is None:
            product = Product(sku=row["sku"], attributes={}, **values)
            session.add(product)
            created += 1
        else:
            changed = {k: v for k, v in values.items() if getattr(product, k) != v}
            for key, value in changed.items():
                setattr(product, key, value)
            updated += bool(changed)
        session.flush()
        tags = sorted(set(row.get("tags", ())))
        current = set(session.scalars(
            select(ProductTag.tag).where(ProductTag.product_id == product.id)
        ))
        if current != set(tags):
            session.execute(delete(ProductTag).where(ProductTag.product_id == product.id))
            session.add_all(ProductTag(product_id=product.id, tag=t) for t in tags)
    session.flush()
    return created, updated
