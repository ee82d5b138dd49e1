"""Reading shop catalog files into plain product rows.

Three formats: a Shopify product CSV export, a Google Merchant Center feed (RSS/Atom XML with
the ``g:`` namespace, or TSV) and a plain CSV (documented in the README). Each reader yields
``(line, row)`` for good products and collects ``(line, reason)`` for rows it cannot accept, so
one broken row never stops the rest. Prices are ``Decimal``, never ``float``.
"""

from __future__ import annotations

import re
from pathlib import Path

from purl.catalog.imports.common import (
    Feed,
    FeedError,
    RowError,
    decode,
    parse_price,
    product_url,
    slug,
    split_tags,
    url_problem,
    web_url,
)
from purl.catalog.imports.merchant import merchant_key, read_merchant_text, read_merchant_xml
from purl.catalog.imports.plain import read_plain
from purl.catalog.imports.shopify import read_shopify

__all__ = [
    "FORMATS", "Feed", "FeedError", "RowError", "detect_format", "parse_price", "product_url",
    "read_feed", "slug", "split_tags", "url_problem", "web_url",
]

FORMATS = ("auto", "shopify", "merchant", "csv")


def detect_format(path: Path, data: bytes) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or path.suffix.lower() in (".xml", ".rss", ".atom"):
        return "merchant"
    header = decode(data[:4096]).split("\n", 1)[0]
    names = {merchant_key(h) for h in re.split(r"[\t;,]", header)}
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
    text = decode(data)
    if fmt == "shopify":
        return read_shopify(text, shop_url)
    if fmt == "merchant":
        return read_merchant_text(text)
    if fmt == "csv":
        return read_plain(text)
    raise FeedError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
