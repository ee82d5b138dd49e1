"""Reading shop catalog files into plain product rows.

Three formats: a Shopify product CSV export, a Google Merchant Center feed (RSS/Atom XML with
the ``g:`` namespace, or TSV) and a plain CSV (documented in the README). Every text format is
read by the reader recipient lists use (:mod:`purl.spreadsheet.reading`: encodings, workbooks,
unclosed quotes, rows as a spreadsheet numbers them). Each format yields good products and
collects ``(row, reason)`` for rows it cannot accept, so one broken row never stops the rest.
Prices are ``Decimal``, never ``float``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from purl.catalog.imports.common import (
    Feed,
    FeedError,
    RowError,
    currency_code,
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
from purl.spreadsheet.reading import ReadError, read_table

__all__ = [
    "FORMATS", "Feed", "FeedError", "RowError", "detect_format", "parse_price", "product_url",
    "read_feed", "slug", "split_tags", "url_problem", "web_url",
]

FORMATS = ("auto", "shopify", "merchant", "csv")


_XML_START = b"\xef\xbb\xbf \t\r\n"


def _is_xml(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(4096)
    return head.lstrip(_XML_START).startswith(b"<") or path.suffix.lower() in (
        ".xml", ".rss", ".atom")


def detect_format(header: list[str]) -> str:
    """A text catalog's format from its column names."""
    names = {merchant_key(h) for h in header}
    if {"handle", "variant_price"} <= names:
        return "shopify"
    if {"id", "price", "link"} <= names:
        return "merchant"
    return "csv"


def read_feed(path: str | Path, fmt: str = "auto", shop_url: str | None = None,
              sheet: str | None = None, *, mapping: Mapping[str, str] | None = None,
              url_pattern: str | None = None, currency: str | None = None) -> Feed:
    """Read a catalog file in the given (or detected) format; raise FeedError if unreadable.
    ``sheet`` picks a workbook's sheet (name or number from 1). ``mapping`` (column -> field)
    without a format means the plain format; ``url_pattern`` builds missing product links
    (``{sku}``); ``currency`` is the shop's, for files that do not say."""
    path = Path(path)
    if fmt not in FORMATS:
        raise FeedError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if mapping and fmt == "auto":
        fmt = "csv"
    if mapping and fmt != "csv":
        raise FeedError("--map applies to the plain format only (--format csv)")
    if url_pattern is not None and "{sku}" not in url_pattern:
        raise FeedError(f"--url-pattern {url_pattern!r} lacks {{sku}}")
    currency = currency_code(currency)
    if fmt in ("auto", "merchant") and _is_xml(path):
        return read_merchant_xml(path.read_bytes())
    try:
        table = read_table(path, sheet)
    except ReadError as exc:
        raise FeedError(str(exc)) from None
    try:
        if fmt == "auto":
            fmt = detect_format(table.header)
        if fmt == "shopify":
            return read_shopify(table, shop_url, currency)
        if fmt == "merchant":
            return read_merchant_text(table)
        return read_plain(table, mapping, url_pattern=url_pattern, shop_url=shop_url,
                          currency=currency)
    finally:
        table.rows.close()
