"""Catalog upserts: products keyed by the shop's own id (sku/handle) within their catalog,
written in bulk.

A large feed is compared chunk by chunk against what is stored, and only new or changed
products are written (executemany, never one ORM object per row), so re-importing the same
file changes nothing, not even ``updated_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from purl.catalog import catalogs
from purl.catalog.imports import Feed, read_feed
from purl.catalog.imports.common import N_, Reason
from purl.models import Catalog, Product, ProductTag, utcnow

log = logging.getLogger(__name__)

PRODUCT_FIELDS = (
    "title", "description", "category", "product_type", "brand", "price", "compare_at_price",
    "currency", "image_url", "url", "available", "attributes",
)
CHUNK = 500  # stays well under SQLite's bound-parameter limit


@dataclass
class ImportReport:
    """What one import did; ``skipped`` names each refused row by its line in the file."""

    format: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    marked_unavailable: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    def summary(self) -> str:
        return (f"{self.format}: created {self.created}, updated {self.updated}, "
                f"unchanged {self.unchanged}, marked unavailable {self.marked_unavailable}, "
                f"skipped {len(self.skipped)}")


def upsert_products(session: Session, rows: Iterable[Mapping[str, Any]],
                    catalog: Catalog | None = None,
                    on_chunk: Callable[[int, int, int], None] | None = None) -> tuple[int, int]:
    """Insert new products and update changed ones by sku, in ``catalog`` (None: the default
    one); returns (created, updated).

    Only the fields a row carries are compared and written; tags are replaced by the row's
    tags when they differ. Only flushes; the caller commits (``on_chunk(created, updated,
    rows done)`` hears of each chunk written, and may commit it: a job does).
    """
    catalog = catalog or catalogs.named(session, None)
    created = updated = 0
    rows = list(rows)
    planned_at = CHUNK
    for start in range(0, len(rows), CHUNK):
        c, u = _upsert_chunk(session, catalog.id, rows[start:start + CHUNK])
        created += c
        updated += u
        if created >= planned_at:
            _refresh_statistics(session)
            planned_at = created * 2
        if on_chunk is not None:
            session.flush()
            on_chunk(created, updated, min(start + CHUNK, len(rows)))
    session.flush()
    return created, updated


def _refresh_statistics(session: Session) -> None:
    """PostgreSQL plans each chunk's lookup by (catalog, sku) from the table's statistics,
    which still say a new catalog has no products: it then reads all of the catalog's rows
    for every chunk (838 rows/s into a new catalog of 200,000). ANALYZE within the import's
    transaction counts its own new rows; run whenever the rows made so far doubled, it costs
    a few samples per import."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE product, product_tag"))


def _upsert_chunk(session: Session, catalog_id: int, rows: list[Mapping[str, Any]]
                  ) -> tuple[int, int]:
    columns = [Product.id, Product.sku, *(getattr(Product, f) for f in PRODUCT_FIELDS)]
    in_catalog = Product.catalog_id == catalog_id
    stored = {r.sku: r for r in session.execute(
        select(*columns).where(in_catalog, Product.sku.in_([r["sku"] for r in rows]))
    )}
    tags_now: dict[int, set[str]] = {}
    for product_id, tag in session.execute(
        select(ProductTag.product_id, ProductTag.tag)
        .where(ProductTag.product_id.in_([r.id for r in stored.values()]))
    ):
        tags_now.setdefault(product_id, set()).add(tag)

    now = utcnow()
    inserts, updates, retag = [], [], {}
    for row in rows:
        values = {k: row[k] for k in PRODUCT_FIELDS if k in row}
        old = stored.get(row["sku"])
        if old is None:
            inserts.append({"catalog_id": catalog_id, "sku": row["sku"], "attributes": {},
                            **values, "updated_at": now})
            continue
        changed = {k: v for k, v in values.items() if getattr(old, k) != v}
        tags = set(row.get("tags", ()))
        if changed:
            updates.append({"id": old.id, **changed, "updated_at": now})
        if "tags" in row and tags != tags_now.get(old.id, set()):
            retag[old.id] = tags
            if not changed:
                updates.append({"id": old.id, "updated_at": now})
    if inserts:
        session.execute(insert(Product), inserts)
        new_ids = dict(session.execute(
            select(Product.sku, Product.id).where(
                in_catalog, Product.sku.in_([r["sku"] for r in inserts]))
        ).all())
        for row in rows:
            if row["sku"] in new_ids and row.get("tags"):
                retag[new_ids[row["sku"]]] = set(row["tags"])
    if updates:
        session.execute(update(Product), updates)
    if retag:
        session.execute(delete(ProductTag).where(ProductTag.product_id.in_(list(retag))))
        pairs = [{"product_id": pid, "tag": t} for pid, tags in retag.items() for t in sorted(tags)]
        if pairs:
            session.execute(insert(ProductTag), pairs)
    return len(inserts), len(updates)


def mark_missing_unavailable(session: Session, keep_skus: set[str],
                             catalog: Catalog | None = None) -> int:
    """A full import: products of the catalog the file no longer lists stop being shown
    (never deleted)."""
    catalog = catalog or catalogs.named(session, None)
    gone = [pid for pid, sku in session.execute(
        select(Product.id, Product.sku).where(Product.catalog_id == catalog.id,
                                              Product.available.is_(True))
    ) if sku not in keep_skus]
    now = utcnow()
    for start in range(0, len(gone), CHUNK):
        session.execute(
            update(Product).where(Product.id.in_(gone[start:start + CHUNK]))
            .values(available=False, updated_at=now)
        )
    return len(gone)


def keep_labels(catalog: Catalog, rows: Iterable[Mapping[str, Any]]) -> None:
    """Remember how the rows write their categories, types and tags (the newest spelling
    of a key wins), for the showroom's filters."""
    labels = {kind: dict(found) for kind, found in (catalog.labels or {}).items()}
    for row in rows:
        for kind, found in (row.get("labels") or {}).items():
            labels.setdefault(kind, {}).update(found)
    if labels != (catalog.labels or {}):
        catalog.labels = labels  # a new dict: the JSON column sees the change


def read_catalog(
    path: str | Path,
    fmt: str = "auto",
    *,
    shop_url: str | None = None,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    url_pattern: str | None = None,
    currency: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Feed:
    """A catalog file's products, each sku once (in the file's order: a product listed again
    is skipped, naming the row it first appeared in); FeedError if the file is unreadable.
    ``progress`` hears how many rows were read, now and then."""
    feed = read_feed(path, fmt, shop_url, sheet, mapping=mapping, url_pattern=url_pattern,
                     currency=currency, progress=progress)
    seen: dict[str, Mapping[str, Any]] = {}
    for product in feed.products:
        if product["sku"] in seen:
            first = seen[product["sku"]].get("_line", 0)
            feed.skipped.append((product.get("_line", 0), Reason(
                N_("product id %(sku)r already in row %(row)s"), sku=product["sku"],
                row=int(first))))
            continue
        seen[product["sku"]] = product
    feed.products = list(seen.values())
    feed.skipped.sort(key=lambda skip: skip[0])
    return feed


def store_catalog(
    session: Session,
    feed: Feed,
    catalog: Catalog | None = None,
    *,
    full: bool = False,
    start: int = 0,
    checkpoint: Callable[[ImportReport, int], None] | None = None,
) -> ImportReport:
    """Upsert a read catalog's products into ``catalog`` (None: the default one). Only
    flushes, so a caller that commits once leaves the stored catalog untouched on failure
    (the CLI). A job passes ``checkpoint(report so far, products done)``, called after every
    chunk, to commit as it goes and show its progress, and ``start`` to go on after the
    products an earlier attempt committed (the report then counts from there)."""
    catalog = catalog or catalogs.named(session, None)
    report = ImportReport(format=feed.format, skipped=list(feed.skipped))
    todo = feed.products[start:]

    def chunk_done(created: int, updated: int, done: int) -> None:
        report.created, report.updated = created, updated
        report.unchanged = done - created - updated
        if checkpoint is not None:
            checkpoint(report, start + done)

    created, updated = upsert_products(session, todo, catalog, chunk_done)
    report.created, report.updated = created, updated
    report.unchanged = len(todo) - created - updated
    keep_labels(catalog, feed.products)
    if full and feed.products:
        report.marked_unavailable = mark_missing_unavailable(
            session, {p["sku"] for p in feed.products}, catalog)
    session.flush()
    return report


def import_catalog(
    session: Session,
    path: str | Path,
    fmt: str = "auto",
    *,
    full: bool = False,
    shop_url: str | None = None,
    sheet: str | None = None,
    mapping: Mapping[str, str] | None = None,
    url_pattern: str | None = None,
    currency: str | None = None,
    catalog: Catalog | None = None,
) -> ImportReport:
    """Read a catalog file and upsert its products into ``catalog`` (None: the default one);
    FeedError if the file is unreadable.

    Only flushes: the caller commits, so a failure leaves the stored catalog untouched.
    """
    feed = read_catalog(path, fmt, shop_url=shop_url, sheet=sheet, mapping=mapping,
                        url_pattern=url_pattern, currency=currency)
    report = store_catalog(session, feed, catalog, full=full)
    log.info("catalog import %s: %s", path, report.summary())
    return report
