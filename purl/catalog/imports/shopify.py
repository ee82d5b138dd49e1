"""The Shopify product CSV export."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from purl.catalog.imports.common import (
    N_,
    Feed,
    FeedError,
    Reason,
    RowError,
    finish,
    labels_of,
    levels,
    parse_price,
    product_url,
    records,
    slug,
    split_tags,
    tag_labels,
    truthy,
    url_problem,
    web_url,
)
from purl.spreadsheet.reading import Table


def read_shopify(table: Table, shop_url: str | None, currency: str | None = None) -> Feed:
    """A Shopify product CSV: one row per variant, the first row of a handle carries the product.

    Variants collapse into one product priced at its cheapest available variant. The export
    has no product URL, so ``shop_url`` (the storefront) builds ``/products/<handle>``. The
    export has no currency either: ``currency`` (the shop's) is stored, else EUR.
    """
    feed = Feed("shopify")
    if not shop_url:
        raise FeedError(N_("a Shopify export has no product links: pass --shop-url https://…"))
    problem = url_problem(shop_url.strip())
    if problem is not None:
        raise FeedError(N_("--shop-url %(value)r %(problem)s"), value=shop_url.strip(),
                        problem=Reason(problem))
    base = shop_url.strip()
    products: dict[str, dict[str, Any]] = {}
    for line, rec in records(table):
        if "__error__" in rec:
            feed.skipped.append((line, rec["__error__"]))
            continue
        if "Handle" not in rec or "Variant Price" not in rec:
            raise FeedError(N_("not a Shopify product export (needs Handle and Variant Price)"))
        handle = rec["Handle"].strip()
        try:
            if not handle:
                raise RowError(N_("no Handle"))
            product = products.get(handle)
            if product is None:
                product = products[handle] = _shopify_product(line, rec, base)
            elif rec.get("Title", "").strip():
                raise RowError(N_("handle %(handle)r appears again with another title"),
                               handle=handle)
            _shopify_variant(product, rec)
        except RowError as exc:
            feed.skipped.append((line, exc.reason))
    for product in products.values():
        line = product.pop("_line")
        variants = product["attributes"]["variants"]
        if not variants:
            feed.skipped.append((line, Reason(N_("no variant with a valid price"))))
            continue
        orderable = [v for v in variants if v["available"]] or variants
        cheapest = min(orderable, key=lambda v: Decimal(v["price"]))
        product["price"] = Decimal(cheapest["price"])
        product["compare_at_price"] = (Decimal(cheapest["compare_at_price"])
                                       if cheapest.get("compare_at_price") else None)
        product["currency"] = product["currency"] or currency
        product["available"] = product.pop("_published") and any(v["available"] for v in variants)
        if len(variants) == 1:
            product["attributes"].pop("variants")
        try:
            feed.products.append(finish(product, line))
        except RowError as exc:
            feed.skipped.append((line, exc.reason))
    return feed


_SHOPIFY_KEPT = {
    "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published", "Status",
    "Image Src", "Image Position", "Product Category",
    "Google Shopping / Google Product Category",
}


def _shopify_product(line: int, rec: dict[str, str], base: str) -> dict[str, Any]:
    handle = rec["Handle"].strip()
    kind = rec.get("Type", "").strip()
    taxonomy = levels(rec.get("Product Category") or
                       rec.get("Google Shopping / Google Product Category"))
    category_label = taxonomy[0] if taxonomy else kind
    attributes: dict[str, Any] = {
        key: value.strip() for key, value in rec.items()
        if value.strip() and key not in _SHOPIFY_KEPT and not key.startswith("Variant ")
        and not key.startswith("Option")
    }
    if category_label:
        attributes["category_label"] = category_label
    if kind:
        attributes["product_type_label"] = kind
    attributes["variants"] = []
    status = rec.get("Status", "").strip().lower()
    return {
        "_line": line,
        "_published": truthy(rec.get("Published")) and status in ("", "active"),
        "sku": handle,
        "title": rec.get("Title", "").strip(),
        "description": rec.get("Body (HTML)", ""),
        "category": slug(category_label) if category_label else "",
        "product_type": slug(kind) if kind else "",
        "brand": rec.get("Vendor", "").strip() or None,
        "currency": None,
        "image_url": web_url(rec.get("Image Src")),
        "url": product_url(f"{base.rstrip('/')}/products/{handle}", "Handle"),
        "tags": split_tags(rec.get("Tags")),
        "attributes": attributes,
        "labels": labels_of(category_label, kind, tag_labels(rec.get("Tags"))),
    }


def _shopify_variant(product: dict[str, Any], rec: dict[str, str]) -> None:
    if not product["image_url"]:
        product["image_url"] = web_url(rec.get("Image Src"))
    if not rec.get("Variant Price", "").strip() and not rec.get("Option1 Value", "").strip():
        return  # an image-only row
    price, currency = parse_price(rec.get("Variant Price", ""), "Variant Price")
    compare = rec.get("Variant Compare At Price", "").strip()
    compare_at = parse_price(compare, "Variant Compare At Price")[0] if compare else None
    if currency:
        product["currency"] = currency
    tracked = bool(rec.get("Variant Inventory Tracker", "").strip())
    quantity = rec.get("Variant Inventory Qty", "").strip()
    sold_out = (tracked and rec.get("Variant Inventory Policy", "deny").strip() == "deny"
                and quantity.lstrip("-").isdigit() and int(quantity) <= 0)
    options = [rec.get(f"Option{i} Value", "").strip() for i in (1, 2, 3)]
    variant: dict[str, Any] = {
        "options": [o for o in options if o and o != "Default Title"],
        "price": str(price),
        "available": not sold_out,
    }
    if compare_at is not None and compare_at > price:
        variant["compare_at_price"] = str(compare_at)
    if rec.get("Variant SKU", "").strip():
        variant["sku"] = rec["Variant SKU"].strip()
    product["attributes"]["variants"].append(variant)
