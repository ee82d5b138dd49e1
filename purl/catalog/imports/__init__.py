"""Reading shop catalog files into plain product rows.

Three formats: a Shopify product CSV export, a Google Merchant Center feed (RSS/Atom XML with
the ``g:`` namespace, or TSV) and a plain CSV (documented in the README). Every text format is
read by the reader recipient lists use (:mod:`purl.spreadsheet.reading`: encodings, workbooks,
unclosed quotes, rows as a spreadsheet numbers them). Each format yields good products and
collects ``(row, reason)`` for rows it cannot accept, so one broken row never stops the rest.
Prices are ``Decimal``, never ``float``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from purl.catalog.imports.common import (
    N_,
    Feed,
    FeedError,
    Reason,
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
    "FORMATS", "Feed", "FeedError", "Reason", "RowError", "detect_format", "parse_price",
    "product_url", "read_feed", "slug", "split_tags", "url_problem", "web_url",
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


def _counted(rows: Iterator[Any], progress: Callable[[int], None], every: int = 2000
             ) -> Iterator[Any]:
    """The table's rows, telling ``progress`` how many were read every ``every`` rows."""
    for read, row in enumerate(rows, 1):
        if read % every == 0:
            progress(read)
        yield row


def read_feed(path: str | Path, fmt: str = "auto", shop_url: str | None = None,
              sheet: str | None = None, *, mapping: Mapping[str, str] | None = None,
              url_pattern: str | None = None, currency: str | None = None,
              progress: Callable[[int], None] | None = None) -> Feed:
    """Read a catalog file in the given (or detected) format; raise FeedError if unreadable.
    ``sheet`` picks a workbook's sheet (name or number from 1). ``mapping`` (column -> field)
    without a format means the plain format; ``url_pattern`` builds missing product links
    (``{sku}``); ``currency`` is the shop's, for files that do not say. ``progress`` hears
    how many rows of a text file or workbook were read so far, now and then."""
    path = Path(path)
    if fmt not in FORMATS:
        raise FeedError(N_("unknown format %(format)r: choose one of %(formats)s"), format=fmt,
                        formats=", ".join(FORMATS))
    if mapping and fmt == "auto":
        fmt = "csv"
    if mapping and fmt != "csv":
        raise FeedError(N_("--map applies to the plain format only (--format csv)"))
    if url_pattern is not None and "{sku}" not in url_pattern:
        raise FeedError(N_("--url-pattern %(value)r lacks {sku}"), value=url_pattern)
    currency = currency_code(currency)
    if fmt in ("auto", "merchant") and _is_xml(path):
        return read_merchant_xml(path.read_bytes())
    try:
        table = read_table(path, sheet, Reason)
    except ReadError as exc:
        raise FeedError(exc.message, **exc.params) from None
    rows = table.rows  # closed below: that closes the file, also when reading stopped early
    if progress is not None:
        table.rows = _counted(rows, progress)
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
        rows.close()
