"""The plain CSV, documented in the README."""

from __future__ import annotations

from purl.catalog.imports.common import (
    Feed,
    FeedError,
    RowError,
    finish,
    parse_price,
    product_url,
    records,
    slug,
    split_tags,
    truthy,
    web_url,
)
from purl.spreadsheet.reading import Table

PLAIN_COLUMNS = (
    "sku", "title", "description", "category", "product_type", "brand", "price",
    "compare_at_price", "currency", "image_url", "url", "available", "tags",
)


def read_plain(table: Table) -> Feed:
    """The plain CSV: the columns in PLAIN_COLUMNS; any other column goes to attributes."""
    feed = Feed("csv")
    for line, rec in records(table):
        if "__error__" in rec:
            feed.skipped.append((line, rec["__error__"]))
            continue
        rec = {k.strip().lower(): (v or "").strip() for k, v in rec.items() if k}
        missing = [c for c in ("sku", "title", "price", "url") if c not in rec]
        if missing:
            raise FeedError(f"the header lacks {', '.join(missing)}")
        try:
            price, currency = parse_price(rec["price"])
            compare = rec.get("compare_at_price")
            category = rec.get("category", "")
            kind = rec.get("product_type", "")
            attributes = {k: v for k, v in rec.items() if k not in PLAIN_COLUMNS and v}
            if category and slug(category) != category:
                attributes["category_label"] = category
            if kind and slug(kind) != kind:
                attributes["product_type_label"] = kind
            feed.products.append(finish({
                "sku": rec["sku"],
                "title": rec["title"],
                "description": rec.get("description", ""),
                "category": slug(category),
                "product_type": slug(kind),
                "brand": rec.get("brand") or None,
                "price": price,
                "compare_at_price": parse_price(compare, "compare_at_price")[0] if compare
                else None,
                "currency": (rec.get("currency") or currency or "EUR").upper(),
                "image_url": web_url(rec.get("image_url")),
                "url": product_url(rec["url"], "url"),
                "available": truthy(rec.get("available")),
                "tags": split_tags(rec.get("tags")),
                "attributes": attributes,
            }, line))
        except RowError as exc:
            feed.skipped.append((line, str(exc)))
    return feed
