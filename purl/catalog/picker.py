"""What the catalog holds, for the quiz builder's picker, and what one option leaves of it.

The builder maps an option to the catalog by picking from what the catalog actually has:
categories, product types and tags with their product counts, and product attributes with
theirs (a numeric attribute with its lowest and highest value, for a range question or a
min/max filter). Counting those reads every available product once, so the result is kept
per catalog version (it changes with every import) and a builder's clicks read it from
memory. ``option_matches`` counts and samples the products one option's filter and
exclusion leave on an index of the same pass (a bit set per value), testing prices and
attributes by the showroom's own rules (criteria); a test holds it to the showroom's query.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from purl.catalog.catalogs import DEFAULT, id_of
from purl.catalog.criteria import attribute_holds, filter_holds, number, values
from purl.catalog.recommend import LRU, catalog_version
from purl.models import Product, ProductTag

log = logging.getLogger(__name__)

TOP_VALUES = 50  # an attribute's most frequent values offered to pick from
SAMPLE = 5  # products shown under an option's count


@dataclass(frozen=True)
class Attribute:
    name: str
    count: int  # available products that have it
    values: tuple[tuple[str, int], ...] = ()  # its most frequent values, with counts
    low: float | None = None  # numeric: every value a number (as feeds write "7,5 W" too)
    high: float | None = None

    @property
    def numeric(self) -> bool:
        return self.low is not None


@dataclass(frozen=True)
class CatalogFacts:
    products: int
    categories: tuple[tuple[str, int], ...]
    product_types: tuple[tuple[str, int], ...]
    tags: tuple[tuple[str, int], ...]
    attributes: tuple[Attribute, ...] = field(default_factory=tuple)

    def numeric_attributes(self) -> list[Attribute]:
        return [a for a in self.attributes if a.numeric]


@dataclass
class _Index:
    """The available products as bit sets (bit i: the i-th product by title) per value of
    what an option can filter on, so that counting an option is a few ANDs and ORs of
    integers instead of a query over the catalog."""

    titles: list[str] = field(default_factory=list)
    category: dict[str, int] = field(default_factory=dict)
    product_type: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    prices: dict[Decimal | None, int] = field(default_factory=dict)
    # attribute name (case folded, as criteria.attribute matches it) -> the product's value
    # (as its JSON) -> (that value, bit set)
    attributes: dict[str, dict[str, tuple[Any, int]]] = field(default_factory=dict)

    @property
    def everything(self) -> int:
        return (1 << len(self.titles)) - 1


def _bits(positions: list[int], size: int) -> int:
    """A bit set of ``positions``, made at once (OR-ing one bit at a time into an integer
    of 50,000 bits copies it every time)."""
    buffer = bytearray((size + 7) // 8)
    for position in positions:
        buffer[position >> 3] |= 1 << (position & 7)
    return int.from_bytes(buffer, "little")


_facts = LRU(8)


def _ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _build(session: Session, catalog: str) -> tuple[CatalogFacts, _Index]:
    """One pass over the catalog's available products: the facts and the index."""
    index = _Index()
    available = and_(Product.catalog_id == id_of(catalog), Product.available.is_(True))
    tags_of: dict[int, list[str]] = {}
    for product_id, tag in session.execute(
            select(ProductTag.product_id, ProductTag.tag).join(
                Product, Product.id == ProductTag.product_id).where(available)):
        tags_of.setdefault(product_id, []).append(tag)
    seen: dict[str, Counter[str]] = {}
    names: dict[str, str] = {}
    having: Counter[str] = Counter()
    numbers: dict[str, list[float]] = {}
    textual: set[str] = set()
    rows = session.execute(
        select(Product.id, Product.title, Product.category, Product.product_type,
               Product.price, Product.attributes).where(available)
        .order_by(Product.title, Product.id))
    spots: dict[str, dict[Any, list[int]]] = {
        "category": {}, "product_type": {}, "prices": {}, "tags": {}}
    attribute_spots: dict[str, dict[str, tuple[Any, list[int]]]] = {}
    for position, (product_id, title, category, product_type, price, attributes) in \
            enumerate(rows):
        index.titles.append(title)
        spots["category"].setdefault(category, []).append(position)
        spots["product_type"].setdefault(product_type, []).append(position)
        spots["prices"].setdefault(price, []).append(position)
        for tag in tags_of.get(product_id, ()):
            spots["tags"].setdefault(tag, []).append(position)
        for name, raw in (attributes or {}).items():
            folded = str(name).casefold()
            names.setdefault(folded, str(name))
            key = json.dumps(raw, sort_keys=True, default=str)
            attribute_spots.setdefault(folded, {}).setdefault(key, (raw, []))[1].append(position)
            having[folded] += 1
            for value in raw if isinstance(raw, list) else [raw]:
                seen.setdefault(folded, Counter())[str(value)] += 1
                parsed = number(value)
                if parsed is None:
                    textual.add(folded)
                else:
                    bounds = numbers.setdefault(folded, [float(parsed), float(parsed)])
                    bounds[0] = min(bounds[0], float(parsed))
                    bounds[1] = max(bounds[1], float(parsed))
    size = len(index.titles)
    for name, table in spots.items():
        setattr(index, name, {value: _bits(at, size) for value, at in table.items()})
    index.attributes = {folded: {key: (raw, _bits(at, size)) for key, (raw, at) in table.items()}
                        for folded, table in attribute_spots.items()}

    def counted(table: dict[str, int]) -> tuple[tuple[str, int], ...]:
        return _ranked(Counter({value: bits.bit_count() for value, bits in table.items()}))

    attributes_found = tuple(
        Attribute(names[folded], count,
                  tuple(sorted(seen[folded].items(),
                               key=lambda item: (-item[1], item[0]))[:TOP_VALUES]),
                  *(numbers[folded] if folded in numbers and folded not in textual
                    else (None, None)))
        for folded, count in sorted(having.items(), key=lambda item: names[item[0]]))
    facts = CatalogFacts(len(index.titles), counted(index.category),
                         counted(index.product_type), counted(index.tags), attributes_found)
    return facts, index


def _built(session: Session, catalog: str) -> tuple[CatalogFacts, _Index]:
    version = catalog_version(session, catalog)
    hit = _facts.get((catalog, version))
    if hit is None:
        hit = _facts.put((catalog, version), _build(session, catalog))
        log.info("catalog %s facts for version %s: %s products, %s attributes", catalog,
                 version, hit[0].products, len(hit[0].attributes))
    return hit


def catalog_facts(session: Session, catalog: str = DEFAULT) -> CatalogFacts:
    """Every category, product type, tag and attribute of the catalog's available products,
    with how many have each; computed once per catalog version."""
    return _built(session, catalog)[0]


@dataclass(frozen=True)
class Matches:
    count: int
    sample: tuple[str, ...]  # a few of the products' titles


class _Priced:
    """A product as ``filter_holds`` reads its price (the rule for a budget, kept there)."""

    category = product_type = ""
    tags: frozenset[str] = frozenset()

    def __init__(self, price: Decimal | None) -> None:
        self.price = price


def _any(table: dict[str, int], wanted: Any) -> int:
    bits = 0
    for value in values(wanted):
        bits |= table.get(value, 0)
    return bits


def _attribute_bits(index: _Index, name: str, spec: Mapping) -> int:
    """The products whose attribute ``name`` meets ``spec``, by the showroom's own rule
    (criteria.attribute_holds), asked once per distinct value the catalog holds."""
    bits = 0
    for raw, holders in index.attributes.get(name.casefold(), {}).values():
        if attribute_holds({name: raw}, name, spec):
            bits |= holders
    return bits


def _lowest(bits: int, count: int) -> list[int]:
    found = []
    while bits and len(found) < count:
        low = bits & -bits
        found.append(low.bit_length() - 1)
        bits ^= low
    return found


def option_matches(session: Session, spec: Mapping[str, Any],
                   exclude: Mapping[str, Any] | None = None, catalog: str = DEFAULT
                   ) -> Matches:
    """How many available products one option's ``filter`` and ``exclude`` (as the format
    builds them) leave, and the first few of them by title: what the showroom's candidate
    query would find, counted on the catalog's index."""
    _facts_found, index = _built(session, catalog)
    exclude = exclude or {}
    bits = index.everything
    for key in ("category", "product_type", "tags"):
        table = getattr(index, key)
        if key in spec:
            bits &= _any(table, spec[key])
        if key in exclude:
            bits &= ~_any(table, exclude[key])
    budget = {k: spec[k] for k in ("price_min", "price_max") if k in spec}
    if budget:
        allowed = 0
        for price, holders in index.prices.items():
            if filter_holds(budget, _Priced(price), None):
                allowed |= holders
        bits &= allowed
    for name, wanted in (spec.get("attributes") or {}).items():
        bits &= _attribute_bits(index, name, wanted)
    for name, wanted in (exclude.get("attributes") or {}).items():
        bits &= ~_attribute_bits(index, name, wanted)
    bits &= index.everything
    return Matches(bits.bit_count(), tuple(index.titles[i] for i in _lowest(bits, SAMPLE)))
