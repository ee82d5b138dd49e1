"""Reading shop catalog files into plain product rows.

Three formats: a Shopify product CSV export, a Google Merchant Center feed (RSS/Atom XML with
the ``g:`` namespace, or TSV) and a plain CSV (documented in the README). Each reader yields
``(line, row)`` for good products and collects ``(line, reason)`` for rows it cannot accept, so
one broken row never stops the rest. Prices are ``Decimal``, never ``float``.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

log = logging.getLogger(__name__)

FORMATS = ("auto", "shopify", "merchant", "csv")
G_NS = "http://base.google.com/ns/1.0"
CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)
LIMITS = {"sku": 128, "title": 300, "brand": 120, "url": 1000}


class FeedError(ValueError):
    """The file as a whole cannot be read (wrong format, no header, bad XML)."""


class RowError(ValueError):
    """One row cannot be imported; the message says why."""


@dataclass
class Feed:
    """Products read from one file, and the rows that were skipped."""

    format: str
    products: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)


# ---------------------------------------------------------------- values

_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "£": "GBP", "CHF": "CHF", "Fr.": "CHF"}
_PRICE = re.compile(r"^(?P<pre>[A-Za-z]{3}|[€$£])?\s*(?P<num>[-+]?[\d.,' \u00a0\u202f]+?)\s*"
                    r"(?P<post>[A-Za-z]{3}|[€$£])?$")


def parse_price(text: str, field_name: str = "price") -> tuple[Decimal, str | None]:
    """``"49.90 EUR"``, ``"1.299,95"``, ``"49,90 €"``, ``"1,299.95"`` -> (Decimal, currency).

    The last of ``.``/``,`` is the decimal mark when both appear; a lone ``,`` with one or two
    digits after it is a decimal comma. More than two decimals is refused as ambiguous rather
    than guessed (``"1.299"`` could be either).
    """
    raw = (text or "").strip()
    if not raw:
        raise RowError(f"no {field_name}")
    match = _PRICE.match(raw)
    if not match:
        raise RowError(f"{field_name} {raw!r} is not a price")
    sign = match["pre"] or match["post"]
    currency = _CURRENCY_SIGNS.get(sign, sign.upper()) if sign else None
    num = re.sub(r"[' \u00a0\u202f]", "", match["num"])
    if "," in num and "." in num:
        decimal_mark = "," if num.rfind(",") > num.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        num = num.replace(thousands, "").replace(decimal_mark, ".")
    elif "," in num:
        if re.fullmatch(r"[-+]?\d+,\d{1,2}", num):
            num = num.replace(",", ".")
        elif re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+", num):
            num = num.replace(",", "")
        else:
            raise RowError(f"{field_name} {raw!r} is not a price")
    elif num.count(".") > 1 and re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", num):
        num = num.replace(".", "")  # German thousands: "1.299.000"
    try:
        value = Decimal(num)
    except InvalidOperation:
        raise RowError(f"{field_name} {raw!r} is not a price") from None
    if value != value.quantize(CENT):
        raise RowError(f"{field_name} {raw!r} is ambiguous: more than two decimals "
                       "(write 1299 or 1.299,00)")
    if value < 0:
        raise RowError(f"{field_name} {raw!r} is negative")
    if value > MAX_PRICE:
        raise RowError(f"{field_name} {raw!r} is too large")
    return value.quantize(CENT), currency


def web_url(value: str | None) -> str | None:
    """The value if it is an absolute http(s) URL, else None (never javascript:, data:, …)."""
    value = (value or "").strip()
    parts = urlsplit(value)
    if parts.scheme.lower() in ("http", "https") and parts.netloc and not any(
        ch.isspace() or ord(ch) < 32 for ch in value
    ):
        return value
    return None


def slug(text: str) -> str:
    """A stable key for a category or product type: ``"Hunde & Katzen"`` -> ``"hunde-katzen"``."""
    text = text.strip().lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64]


def split_tags(text: str | None) -> list[str]:
    return sorted({t.strip().lower()[:64] for t in re.split(r"[,;|]", text or "") if t.strip()})


def _levels(path: str | None) -> list[str]:
    return [p.strip() for p in (path or "").split(">") if p.strip()]


def _truthy(value: str | None, default: bool = True) -> bool:
    value = (value or "").strip().lower()
    if not value:
        return default
    return value in ("true", "1", "yes", "ja", "y", "x", "active", "aktiv", "wahr")


def _finish(row: dict[str, Any], line: int) -> dict[str, Any]:
    """Common checks every format's row goes through; ``_line`` remembers where it came from."""
    row["_line"] = line
    for key, limit in LIMITS.items():
        value = row.get(key)
        if value and len(value) > limit:
            raise RowError(f"{key} is longer than {limit} characters")
    if not row.get("sku"):
        raise RowError("no product id")
    if not row.get("title"):
        raise RowError("no title")
    if row.get("url") is None:
        raise RowError("link must be an absolute http(s) URL")
    if not row.get("category"):
        row["category"] = "sonstiges"
    if not row.get("product_type"):
        row["product_type"] = row["category"]
    row["currency"] = (row.get("currency") or "EUR")[:3]
    compare = row.get("compare_at_price")
    if compare is not None and compare <= row["price"]:
        row["compare_at_price"] = None
    image = row.get("image_url")
    row["image_url"] = image if image and len(image) <= 1000 else None
    row.setdefault("tags", [])
    row.setdefault("attributes", {})
    row.setdefault("description", "")
    return row


# ---------------------------------------------------------------- text files

def _decode(data: bytes) -> str:
    # German Excel still saves Windows-1252; anything else is UTF-8 (with or without BOM).
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _dialect(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in ("\t", ";", ",")}
    return max(counts, key=lambda d: counts[d])


def _records(text: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(first line number, row) for each CSV/TSV record, whatever its delimiter."""
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_dialect(first_line))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FeedError("the file is empty") from None
    line = reader.line_num + 1
    for values in reader:
        start, line = line, reader.line_num + 1
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            yield start, {"__error__": f"{len(values)} cells but the header has {len(header)}"}
            continue
        yield start, dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))


def _merchant_key(name: str) -> str:
    name = name.strip().lower()
    name = name.removeprefix("g:")
    return re.sub(r"[\s-]+", "_", name)


# ---------------------------------------------------------------- Shopify

def read_shopify(text: str, shop_url: str | None) -> Feed:
    """A Shopify product CSV: one row per variant, the first row of a handle carries the product.

    Variants collapse into one product priced at its cheapest available variant. The export
    has no product URL, so ``shop_url`` (the storefront) builds ``/products/<handle>``.
    """
    feed = Feed("shopify")
    base = web_url(shop_url)
    if base is None:
        raise FeedError("a Shopify export has no product links: pass --shop-url https://…")
    products: dict[str, dict[str, Any]] = {}
    for line, rec in _records(text):
        if "__error__" in rec:
            feed.skipped.append((line, rec["__error__"]))
            continue
        if "Handle" not in rec or "Variant Price" not in rec:
            raise FeedError("not a Shopify product export (needs Handle and Variant Price)")
        handle = rec["Handle"].strip()
        try:
            if not handle:
                raise RowError("no Handle")
            product = products.get(handle)
            if product is None:
                product = products[handle] = _shopify_product(line, rec, base)
            elif rec.get("Title", "").strip():
                raise RowError(f"handle {handle!r} appears again with another title")
            _shopify_variant(product, rec)
        except RowError as exc:
            feed.skipped.append((line, str(exc)))
    for product in products.values():
        line = product.pop("_line")
        variants = product["attributes"]["variants"]
        if not variants:
            feed.skipped.append((line, "no variant with a valid price"))
            continue
        orderable = [v for v in variants if v["available"]] or variants
        cheapest = min(orderable, key=lambda v: Decimal(v["price"]))
        product["price"] = Decimal(cheapest["price"])
        product["compare_at_price"] = (Decimal(cheapest["compare_at_price"])
                                       if cheapest.get("compare_at_price") else None)
        product["available"] = product.pop("_published") and any(v["available"] for v in variants)
        if len(variants) == 1:
            product["attributes"].pop("variants")
        try:
            feed.products.append(_finish(product, line))
        except RowError as exc:
            feed.skipped.append((line, str(exc)))
    return feed


_SHOPIFY_KEPT = {
    "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published", "Status",
    "Image Src", "Image Position", "Product Category",
    "Google Shopping / Google Product Category",
}


def _shopify_product(line: int, rec: dict[str, str], base: str) -> dict[str, Any]:
    handle = rec["Handle"].strip()
    kind = rec.get("Type", "").strip()
    taxonomy = _levels(rec.get("Product Category") or
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
        "_published": _truthy(rec.get("Published")) and status in ("", "active"),
        "sku": handle,
        "title": rec.get("Title", "").strip(),
        "description": rec.get("Body (HTML)", "").strip(),
        "category": slug(category_label) if category_label else "",
        "product_type": slug(kind) if kind else "",
        "brand": rec.get("Vendor", "").strip() or None,
        "currency": None,
        "image_url": web_url(rec.get("Image Src")),
        "url": f"{base.rstrip('/')}/products/{handle}",
        "tags": split_tags(rec.get("Tags")),
        "attributes": attributes,
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


# ---------------------------------------------------------------- Merchant Center

_MERCHANT_CORE = {
    "id", "title", "description", "link", "image_link", "price", "sale_price", "availability",
    "product_type", "google_product_category", "brand", "item_group_id",
}
_UNAVAILABLE = {"out of stock", "out_of_stock", "discontinued", "nicht auf lager"}


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
    google = _levels(one("google_product_category"))
    own = _levels(one("product_type"))
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
        "url": web_url(one("link")),
        "available": one("availability").lower() not in _UNAVAILABLE,
        # Custom labels are the shop's own segments ("bestseller", "sale"): good tags.
        "tags": sorted({slug(v) for v in labels if v and slug(v)}),
        "attributes": attributes,
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
            feed.products.append(_finish(product, line))
        except RowError as exc:
            feed.skipped.append((line, str(exc)))


def read_merchant_text(text: str) -> Feed:
    feed = Feed("merchant")
    rows = []
    for line, rec in _records(text):
        if "__error__" in rec:
            feed.skipped.append((line, rec["__error__"]))
            continue
        item = {_merchant_key(k): v for k, v in rec.items() if k}
        if "id" not in item or "price" not in item:
            raise FeedError("not a Merchant Center feed (needs id and price columns)")
        try:
            rows.append((line, _merchant_row(item)))
        except RowError as exc:
            feed.skipped.append((line, str(exc)))
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
                feed.skipped.append((state["line"], str(exc)))
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
        raise FeedError(f"line {exc.lineno}: not well-formed XML ({expat.ErrorString(exc.code)})"
                        ) from None
    _collapse_groups(feed, rows)
    return feed


# ---------------------------------------------------------------- plain CSV

PLAIN_COLUMNS = (
    "sku", "title", "description", "category", "product_type", "brand", "price",
    "compare_at_price", "currency", "image_url", "url", "available", "tags",
)


def read_plain(text: str) -> Feed:
    """The plain CSV: the columns in PLAIN_COLUMNS; any other column goes to attributes."""
    feed = Feed("csv")
    for line, rec in _records(text):
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
            feed.products.append(_finish({
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
                "url": web_url(rec["url"]),
                "available": _truthy(rec.get("available")),
                "tags": split_tags(rec.get("tags")),
                "attributes": attributes,
            }, line))
        except RowError as exc:
            feed.skipped.append((line, str(exc)))
    return feed


# ---------------------------------------------------------------- entry point

def detect_format(path: Path, data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or path.suffix.lower() in (".xml", ".rss", ".atom"):
        return "merchant"
    header = _decode(data[:4096]).split("\n", 1)[0]
    names = {_merchant_key(h) for h in re.split(r"[\t;,]", header)}
    if {"handle", "variant_price"} <= names:
        return "shopify"
    if {"id", "price", "link"} <= names:
        return "merchant"
    return "csv"


def read_feed(path: str | Path, fmt: str = "auto", shop_url: str | None = None) -> Feed:
    """Read a catalog file in the given (or detected) format; raise FeedError if unreadable."""
    path = Path(path)
    data = path.read_bytes()
    if fmt == "auto":
        fmt = detect_format(path, data)
    if fmt == "merchant" and data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return read_merchant_xml(data)
    text = _decode(data)
    if fmt == "shopify":
        return read_shopify(text, shop_url)
    if fmt == "merchant":
        return read_merchant_text(text)
    if fmt == "csv":
        return read_plain(text)
    raise FeedError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
