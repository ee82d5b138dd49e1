"""What every catalog format shares: values (prices, URLs, slugs, tags), reading a text file
into CSV/TSV records, and the checks every product row goes through.

Prices are ``Decimal``, never ``float``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

import nh3

from purl.spreadsheet.reading import Table

CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)
LIMITS = {"sku": 255,  # Shopify allows handles of 255 characters
           "title": 300, "brand": 120, "url": 1000}


def N_(message: str) -> str:
    """Marks a msgid for extraction; the text is translated where it is shown."""
    return message


class Reason(str):
    """Why a row or a file was refused: ``str`` is the English text (the CLI's), and
    ``msgid``/``params`` let a surface say it in the user's language (:meth:`translated`),
    also after it was stored (:meth:`stored`, :meth:`restored`)."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Reason:
        self = super().__new__(cls, msgid % params if params else msgid)
        self.msgid, self.params = msgid, params
        return self

    def __mod__(self, params: Any) -> Reason:
        # The spreadsheet reader fills its own msgids with ``%``: they stay translatable.
        return Reason(self.msgid, **params) if isinstance(params, dict) else Reason(str(self))

    def __reduce__(self) -> tuple:  # str subclasses pickle by value otherwise
        return (_restore, (self.stored(),))

    def translated(self, gettext: Callable[[str], str]) -> str:
        values = {k: v.translated(gettext) if isinstance(v, Reason) else v
                  for k, v in self.params.items()}
        text = gettext(self.msgid)
        try:
            return text % values if values else text
        except (KeyError, TypeError, ValueError):  # a translation that does not fit its values
            return str(self)

    def stored(self) -> dict[str, Any]:
        return {"msgid": self.msgid, "params": {
            k: v.stored() if isinstance(v, Reason) else v for k, v in self.params.items()}}

    @classmethod
    def restored(cls, data: Any) -> Reason:
        """A reason from :meth:`stored` (or plain text, kept as it is)."""
        if not isinstance(data, dict):
            return cls(str(data))
        params = {k: cls.restored(v) if isinstance(v, dict) else v
                  for k, v in (data.get("params") or {}).items()}
        return cls(str(data.get("msgid") or ""), **params)


def _restore(data: dict[str, Any]) -> Reason:
    return Reason.restored(data)


# The field names a reason may name, to be said in the user's words ("Preis", not "price");
# a column of the file is named as the file writes it.
FIELD_WORDS = (N_("price"), N_("compare_at_price"), N_("sku"), N_("title"), N_("link"),
               N_("url"), N_("brand"), N_("--url-pattern"), N_("--shop-url"))


def _field(name: str) -> Reason:
    return Reason(name)


class _Refusal(ValueError):
    def __init__(self, message: str, **params: Any) -> None:
        self.reason = Reason(message, **params)
        super().__init__(str(self.reason))

    def translated(self, gettext: Callable[[str], str]) -> str:
        return self.reason.translated(gettext)


class FeedError(_Refusal):
    """The file as a whole cannot be read (wrong format, no header, bad XML)."""


class RowError(_Refusal):
    """One row cannot be imported; ``reason`` says why."""


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
    name = _field(field_name)
    if not raw:
        raise RowError(N_("no %(field)s"), field=name)
    match = _PRICE.match(raw)
    if not match:
        raise RowError(N_("%(field)s %(value)r is not a price"), field=name, value=raw)
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
            raise RowError(N_("%(field)s %(value)r is not a price"), field=name, value=raw)
    elif num.count(".") > 1 and re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+", num):
        num = num.replace(".", "")  # German thousands: "1.299.000"
    try:
        value = Decimal(num)
    except InvalidOperation:
        raise RowError(N_("%(field)s %(value)r is not a price"), field=name,
                       value=raw) from None
    if value != value.quantize(CENT):
        raise RowError(N_("%(field)s %(value)r is ambiguous: more than two decimals "
                          "(write 1299 or 1.299,00)"), field=name, value=raw)
    if value < 0:
        raise RowError(N_("%(field)s %(value)r is negative"), field=name, value=raw)
    if value > MAX_PRICE:
        raise RowError(N_("%(field)s %(value)r is too large"), field=name, value=raw)
    return value.quantize(CENT), currency


def url_problem(value: str | None) -> str | None:
    """Why ``value`` may not be a catalog link (product page, image, storefront), or None.

    The one rule for every URL a catalog brings in and every redirect to one: an absolute
    http(s) URL with a host, and nothing a browser reads differently from a person:
    no user name or password before the host (``https://shop.de@evil.tld/`` goes to evil.tld),
    no backslash in the host part, no whitespace or control characters anywhere.
    """
    value = value or ""
    if not value.strip():
        return N_("is empty")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return N_("contains whitespace or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return N_("is not a valid URL")
    if parts.scheme.lower() not in ("http", "https"):
        return N_("must start with http:// or https://")
    if "@" in parts.netloc:
        return N_("must not contain a user name or password (user@host)")
    if "\\" in parts.netloc or not parts.hostname:
        return N_("has no valid host name")
    return None


def web_url(value: str | None) -> str | None:
    """The value (stripped) if it is a link :func:`url_problem` accepts, else None."""
    value = (value or "").strip()
    return value if url_problem(value) is None else None


def product_url(value: str | None, field_name: str = "link") -> str:
    """A row's product link, or RowError naming the field and what is wrong with it."""
    value = (value or "").strip()
    problem = url_problem(value)
    name = _field(field_name)
    if problem is not None:
        shown = value if len(value) <= 80 else value[:77] + "..."
        if value:
            raise RowError(N_("%(field)s %(value)r %(problem)s"), field=name, value=shown,
                           problem=Reason(problem))
        raise RowError(N_("no %(field)s: it must be an absolute http(s) URL"), field=name)
    return value


def plain_text(markup: str | None) -> str:
    """Catalog HTML (Shopify's ``Body (HTML)``, feed descriptions) as plain text: nh3 drops
    every tag and the content of script/style, so the showroom shows it escaped, never as
    markup."""
    text = nh3.clean(markup or "", tags=set())
    return re.sub(r"[ \t]*\n\s*\n\s*", "\n\n", html.unescape(text)).strip()


def currency_code(value: str | None) -> str | None:
    """``--currency usd`` -> ``"USD"``; FeedError for anything but three letters."""
    if value is None:
        return None
    code = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise FeedError(N_("--currency %(value)r is not a three-letter currency code (EUR, USD)"),
                        value=value)
    return code


def decimal_comma(table: Table) -> bool:
    """A ``;`` or tab separated file is read as German: ``7,5`` is seven and a half."""
    return table.delimiter in (";", "\t")


_DE_NUMBER = re.compile(r"[-+]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")
_EN_NUMBER = re.compile(r"[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def number(text: str, comma: bool) -> int | float | None:
    """A cell as a JSON number per the file's locale (``"7,5"`` -> 7.5 in a German file,
    ``"1.200"`` -> 1200), or None if it is not just a number (``"IP44"``, ``"7,5 W"``,
    ``"00420"``)."""
    raw = text.strip()
    if re.match(r"[-+]?0\d", raw):
        return None  # a code ("00420", a postcode), not an amount: its zeros matter
    if comma and _DE_NUMBER.fullmatch(raw):
        raw = raw.replace(".", "").replace(",", ".")
    elif not comma and _EN_NUMBER.fullmatch(raw):
        raw = raw.replace(",", "")
    else:
        return None
    value = float(raw)
    return int(value) if "." not in raw and abs(value) < 2**53 else value


def built_url(sku: str, url_pattern: str | None, shop_url: str | None) -> str:
    """A product link for a row without one: ``url_pattern`` with ``{sku}`` (quoted), else the
    shop's search for the sku; RowError if neither is known."""
    if url_pattern:
        return product_url(url_pattern.replace("{sku}", quote(sku, safe="")), "--url-pattern")
    if shop_url:
        return product_url(f"{shop_url.strip().rstrip('/')}/search?q={quote(sku, safe='')}",
                           "--shop-url")
    raise RowError(N_("no url: pass --url-pattern 'https://shop.example/artikel/{sku}' "
                      "or --shop-url"))


def slug(text: str) -> str:
    """A stable key for a category or product type: ``"Hunde & Katzen"`` -> ``"hunde-katzen"``."""
    text = text.strip().lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64]


def split_tags(text: str | None) -> list[str]:
    return sorted({t.strip().lower()[:64] for t in re.split(r"[,;|]", text or "") if t.strip()})


def labels_of(category: str | None, product_type: str | None, tags: list[str],
              tag_key: Callable[[str], str] | None = None) -> dict[str, dict[str, str]]:
    """How a row writes its category, product type and tags, by the keys they are stored
    under (``slug``; tags: lower case, or ``tag_key``), for the showroom's filter labels."""
    key = tag_key or (lambda tag: tag.strip().lower()[:64])
    found: dict[str, dict[str, str]] = {"category": {}, "product_type": {}, "tags": {}}
    for kind, label in (("category", category), ("product_type", product_type)):
        if label and label.strip() and slug(label):
            found[kind][slug(label)] = label.strip()
    for tag in tags:
        if tag.strip() and key(tag):
            found["tags"][key(tag)] = tag.strip()
    return found


def tag_labels(text: str | None) -> list[str]:
    """A tag field's tags as written (``split_tags`` keys them)."""
    return [t for t in re.split(r"[,;|]", text or "") if t.strip()]


def levels(path: str | None) -> list[str]:
    return [p.strip() for p in (path or "").split(">") if p.strip()]


def truthy(value: str | None, default: bool = True) -> bool:
    value = (value or "").strip().lower()
    if not value:
        return default
    return value in ("true", "1", "yes", "ja", "y", "x", "active", "aktiv", "wahr")


def finish(row: dict[str, Any], line: int) -> dict[str, Any]:
    """Common checks every format's row goes through; ``_line`` remembers where it came from."""
    row["_line"] = line
    for key, limit in LIMITS.items():
        value = row.get(key)
        if value and len(value) > limit:
            raise RowError(N_("%(field)s is longer than %(limit)d characters"), field=_field(key),
                           limit=limit)
    if not row.get("sku"):
        raise RowError(N_("no product id"))
    if not row.get("title"):
        raise RowError(N_("no title"))
    row["url"] = product_url(row.get("url"))  # each reader checked it; this keeps any new one
    if not row.get("category"):
        row["category"] = "sonstiges"
    if not row.get("product_type"):
        row["product_type"] = row["category"]
    row["currency"] = (row.get("currency") or "EUR")[:3]
    compare = row.get("compare_at_price")
    if compare is not None and (row["price"] is None or compare <= row["price"]):
        row["compare_at_price"] = None
    image = row.get("image_url")
    row["image_url"] = image if image and len(image) <= 1000 else None
    row.setdefault("tags", [])
    row.setdefault("attributes", {})
    row["description"] = plain_text(row.get("description"))
    return row


# ---------------------------------------------------------------- text files

def records(table: Table) -> Iterator[tuple[int, dict[str, str]]]:
    """(row, record by column name) for each record of ``table``; a refused record comes as
    ``{"__error__": reason}``. Blank records are left out (their rows still count)."""
    header = table.header
    for row, values, reason in table.rows:
        if reason is not None:
            yield row, {"__error__": reason}
            continue
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header) and any(v.strip() for v in values[len(header):]):
            yield row, {"__error__": Reason(N_("%(cells)d cells but the header has %(columns)d"),
                                            cells=len(values), columns=len(header))}
            continue
        yield row, dict(zip(header, values + [""] * (len(header) - len(values)), strict=False))
