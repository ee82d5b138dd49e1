"""The Google Merchant Center feed: RSS/Atom XML with the ``g:`` namespace, or TSV."""

from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

from purl.catalog.imports.common import (
    N_,
    Feed,
    FeedError,
    RowError,
    finish,
    labels_of,
    levels,
    parse_price,
    product_url,
    records,
    slug,
    web_url,
)
from purl.spreadsheet.reading import Table

G_NS = "http://base.google.com/ns/1.0"

_MERCHANT_CORE = {
    "id", "title", "description", "link", "image_link", "price", "sale_price", "availability",
    "product_type", "google_product_category", "brand", "item_group_id",
}
_UNAVAILABLE = {"out of stock", "out_of_stock", "discontinued", "nicht auf lager"}


def merchant_key(name: str) -> str:
    name = name.strip().lower()
    name = name.removeprefix("g:")
    return re.sub(r"[\s-]+", "_", name)


def _merchant_row(item: dict[str, Any]) -> dict[str, Any]:
    def one(key: str) -> str:
        value = item.get(key, "")
        return (value[0] if isinstance(value, list) else value).strip()

    price, currency = parse_price(one("price"), "price")
    sale = one("sale_price")
    compare_at = None
    if sale:
        sale_price, sale_currency = parse_price(sale, "sale_price")
        if sale_price < price:
            price, compare_at = sale_price, price
        currency = currency or sale_currency
    google = levels(one("google_product_category"))
    own = levels(one("product_type"))
    category_label = (google or own or [""])[0]
    type_label = (own or google or [""])[-1]
    labels = [one(f"custom_label_{i}") for i in range(5)]
    attributes: dict[str, Any] = {
        key: value for key, value in sorted(item.items())
        if key not in _MERCHANT_CORE and value and not key.startswith("custom_label_")
    }
    for key, value in (("category_label", category_label), ("product_type_label", type_label),
                       ("google_product_category", one("google_product_category")),
                       ("product_type_path", one("product_type"))):
        if value:
            attributes[key] = value
    if any(labels):
        attributes["custom_labels"] = labels
    return {
        "sku": one("item_group_id") or one("id"),
        "_id": one("id"),
        "title": one("title"),
        "description": one("description"),
        "category": slug(category_label) if category_label else "",
        "product_type": slug(type_label) if type_label else "",
        "brand": one("brand") or None,
        "price": price,
        "compare_at_price": compare_at,
        "currency": currency,
        "image_url": web_url(one("image_link")),
        "url": product_url(one("link"), "link"),
        "available": one("availability").lower() not in _UNAVAILABLE,
        # Custom labels are the shop's own segments ("bestseller", "sale"): good tags.
        "tags": sorted({slug(v) for v in labels if v and slug(v)}),
        "attributes": attributes,
        "labels": labels_of(category_label, type_label, [v for v in labels if v], slug),
    }


def _collapse_groups(feed: Feed, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """Items sharing an item_group_id are variants of one product (priced at the cheapest)."""
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for line, row in rows:
        groups.setdefault(row["sku"], []).append((line, row))
    for members in groups.values():
        line, product = members[0]
        if len(members) > 1:
            orderable = [r for _, r in members if r["available"]] or [r for _, r in members]
            cheapest = min(orderable, key=lambda r: r["price"])
            product = dict(cheapest)
            product["available"] = any(r["available"] for _, r in members)
            product["attributes"] = dict(cheapest["attributes"])
            product["attributes"]["variants"] = [
                {"id": r["_id"], "price": str(r["price"]), "available": r["available"],
                 **{k: r["attributes"][k] for k in ("color", "size") if k in r["attributes"]}}
                for _, r in members
            ]
            product["attributes"].pop("size", None)
            product["attributes"].pop("color", None)
        product.pop("_id", None)
        try:
            feed.products.append(finish(product, line))
        except RowError as exc:
            feed.skipped.append((line, exc.reason))


def read_merchant_text(table: Table) -> Feed:
    feed = Feed("merchant")
    rows = []
    for line, rec in records(table):
        if "__error__" in rec:
            feed.skipped.append((line, rec["__error__"]))
            continue
        item = {merchant_key(k): v for k, v in rec.items() if k}
        if "id" not in item or "price" not in item:
            raise FeedError(N_("not a Merchant Center feed (needs id and price columns)"))
        try:
            rows.append((line, _merchant_row(item)))
        except RowError as exc:
            feed.skipped.append((line, exc.reason))
    _collapse_groups(feed, rows)
    return feed


def read_merchant_xml(data: bytes) -> Feed:
    """RSS 2.0 ``<item>`` or Atom ``<entry>`` elements with ``g:`` fields.

    Parsed with expat, which expands no external entities, to know each item's line.
    """
    feed = Feed("merchant")
    rows: list[tuple[int, dict[str, Any]]] = []
    parser = expat.ParserCreate(namespace_separator=" ")
    state: dict[str, Any] = {"item": None, "depth": 0, "text": [], "line": 0}

    def local(name: str) -> tuple[str, bool]:
        ns, _, tag = name.rpartition(" ")
        return tag, ns == G_NS

    def start(name: str, attrs: dict[str, str]) -> None:
        tag, _ = local(name)
        if state["item"] is None:
            if tag in ("item", "entry"):
                state.update(item={}, depth=0, line=parser.CurrentLineNumber)
            return
        state["depth"] += 1
        state["text"] = []
        if state["depth"] == 1 and tag == "link" and attrs.get("href"):
            state["item"]["link"] = attrs["href"]

    def end(name: str) -> None:
        tag, _ = local(name)
        item = state["item"]
        if item is None:
            return
        if state["depth"] == 0:
            try:
                rows.append((state["line"], _merchant_row(item)))
            except RowError as exc:
                feed.skipped.append((state["line"], exc.reason))
            state["item"] = None
            return
        if state["depth"] == 1:  # nested g:shipping/g:tax children are not product fields
            value = "".join(state["text"]).strip()
            if value:
                if tag in item and tag.endswith("_link"):
                    existing = item[tag]
                    item[tag] = [*(existing if isinstance(existing, list) else [existing]), value]
                else:
                    item.setdefault(tag, value)
        state["depth"] -= 1
        state["text"] = []

    def chars(data: str) -> None:
        state["text"].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise FeedError(N_("line %(line)d: not well-formed XML (%(problem)s)"),
                        line=exc.lineno, problem=expat.ErrorString(exc.code)) from None
    _collapse_groups(feed, rows)
    return feed
