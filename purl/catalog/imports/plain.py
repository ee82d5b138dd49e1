"""The plain catalog file (CSV, TSV or a workbook), documented in the README.

Its columns are found by name, German or English (``Artikelnummer``/``SKU``, ``Preis``…), or
by the marketer's ``--map COLUMN=FIELD``. ERP article lists often lack prices and links: a
missing price is stored as NULL ("Preis auf Anfrage"), a missing link is built from
``--url-pattern`` or the shop's search. Other columns become attributes keyed by the column
name in lower case, numbers (per the file's locale) stored as JSON numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from purl.catalog.imports.common import (
    N_,
    Feed,
    FeedError,
    RowError,
    built_url,
    decimal_comma,
    finish,
    labels_of,
    number,
    parse_price,
    product_url,
    records,
    slug,
    split_tags,
    tag_labels,
    truthy,
    web_url,
)
from purl.spreadsheet.reading import Table

PLAIN_COLUMNS = (
    "sku", "title", "description", "category", "product_type", "brand", "price",
    "compare_at_price", "currency", "image_url", "url", "available", "tags",
)
FIELDS = PLAIN_COLUMNS
ATTRIBUTE = "attribute"  # --map COLUMN=attribute: the column stays an attribute

# Header names recognised per field (compared case-insensitively, spaces/underscores alike).
ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "artikelnummer", "artikel-nr", "artikel-nr.", "artikelnr", "art.-nr.",
            "art.-nr", "artnr", "id"),
    "title": ("title", "titel", "bezeichnung", "artikelbezeichnung", "name", "produktname"),
    "description": ("description", "beschreibung"),
    "category": ("category", "kategorie", "warengruppe"),
    "product_type": ("product type", "produktart", "typ", "type"),
    "brand": ("brand", "marke", "hersteller", "vendor"),
    "price": ("price", "preis", "vk", "verkaufspreis"),
    "compare_at_price": ("compare at price", "uvp", "streichpreis"),
    "currency": ("currency", "währung", "waehrung"),
    "image_url": ("image url", "image", "bild", "bild-url", "bildurl", "bild url"),
    "url": ("url", "link", "produktlink", "product url"),
    "available": ("available", "verfügbar", "verfuegbar", "lagerbestand"),
    "tags": ("tags", "schlagworte"),
}
_BY_ALIAS = {alias: name for name, aliases in ALIASES.items() for alias in aliases}


def _key(header: str) -> str:
    return " ".join(header.replace("_", " ").strip().lower().split())


def column_map(header: list[str], mapping: Mapping[str, str] | None = None) -> dict[str, str]:
    """Which column holds which field: ``--map`` first, then the known header names.
    FeedError names a mapped column the file lacks or an unknown field."""
    mapping = dict(mapping or {})
    columns: dict[str, str] = {}
    taken: set[str] = set()
    by_key = {_key(h): h for h in header if h.strip()}
    for column, target in mapping.items():
        if target == ATTRIBUTE:  # kept as an attribute, even if its name says a field
            found = column if column in header else by_key.get(_key(column))
            taken.add(found or column)
            continue
        if target not in FIELDS:
            raise FeedError(N_("--map %(column)s=%(field)s: unknown field %(unknown)r "
                               "(choose from %(fields)s)"), column=column, field=target,
                            unknown=target, fields=" ".join(FIELDS))
        found = column if column in header else by_key.get(_key(column))
        if found is None:
            raise FeedError(N_("--map %(column)s=%(field)s: the file has no column %(missing)r"),
                            column=column, field=target, missing=column)
        columns[target] = found
    taken |= set(columns.values())
    for h in header:
        target = _BY_ALIAS.get(_key(h))
        if target and target not in columns and h not in taken:
            columns[target] = h
            taken.add(h)
    return columns


def _available(value: str, comma: bool) -> bool:
    amount = number(value, comma)  # Lagerbestand: a stock count
    return amount > 0 if amount is not None else truthy(value)


def read_plain(table: Table, mapping: Mapping[str, str] | None = None, *,
               url_pattern: str | None = None, shop_url: str | None = None,
               currency: str | None = None) -> Feed:
    """The plain file: the fields in PLAIN_COLUMNS found by :func:`column_map`; any other
    column goes to attributes."""
    feed = Feed("csv")
    columns = column_map(table.header, mapping)
    missing = [c for c in ("sku", "title") if c not in columns]
    if missing:
        raise FeedError(N_("the header lacks %(fields)s (name the columns with "
                           "--map COLUMN=FIELD)"), fields=", ".join(missing))
    comma = decimal_comma(table)
    known = set(columns.values())
    for line, rec in records(table):
        if "__error__" in rec:
            feed.skipped.append((line, rec["__error__"]))
            continue
        get: dict[str, str] = {f: (rec.get(c) or "").strip() for f, c in columns.items()}
        try:
            price, sign = parse_price(get["price"]) if get.get("price") else (None, None)
            compare = get.get("compare_at_price")
            category = get.get("category", "")
            kind = get.get("product_type", "")
            attributes: dict[str, Any] = {}
            for column, value in rec.items():
                value = (value or "").strip()
                if column and column not in known and value:
                    parsed = number(value, comma)
                    attributes[column.strip().lower()] = value if parsed is None else parsed
            if category and slug(category) != category:
                attributes["category_label"] = category
            if kind and slug(kind) != kind:
                attributes["product_type_label"] = kind
            sku = get["sku"]
            url = (product_url(get["url"], columns["url"]) if get.get("url")
                   else built_url(sku, url_pattern, shop_url) if sku else "")
            feed.products.append(finish({
                "sku": sku,
                "title": get["title"],
                "description": get.get("description", ""),
                "category": slug(category),
                "product_type": slug(kind),
                "brand": get.get("brand") or None,
                "price": price,
                "compare_at_price": parse_price(compare, "compare_at_price")[0] if compare
                else None,
                "currency": (get.get("currency") or sign or currency or "EUR").upper(),
                "image_url": web_url(get.get("image_url")),
                "url": url,
                "available": _available(get.get("available", ""), comma),
                "tags": split_tags(get.get("tags")),
                "attributes": attributes,
                "labels": labels_of(category, kind, tag_labels(get.get("tags"))),
            }, line))
        except RowError as exc:
            feed.skipped.append((line, exc.reason))
    return feed
