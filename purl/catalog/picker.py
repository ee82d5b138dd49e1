"""What the catalog holds, for the quiz builder's picker, and what one option leaves of it.

The builder maps an option to the catalog by picking from what the catalog actually has:
categories, product types and tags with their product counts, and product attributes with
theirs (a numeric attribute with its lowest and highest value, for a range question or a
min/max filter). Counting those reads every available product once, so the result is kept
per catalog version (it changes with every import) and a builder's clicks read it from
memory. ``option_matches`` counts and samples the products one option's filter and
exclusion leave, through the showroom's own candidate query (one rule for both).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from purl.catalog.criteria import Alternative, Constraint, number
from purl.catalog.recommend import LRU, _alternative_sql, _candidates, catalog_version
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


_facts = LRU(8)


def _ranked(counts: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def catalog_facts(session: Session) -> CatalogFacts:
    """Every category, product type, tag and attribute of the available products, with how
    many have each; computed once per catalog version."""
    version = catalog_version(session)
    hit = _facts.get(version)
    if hit is not None:
        return hit
    available = Product.available.is_(True)
    categories: Counter[str] = Counter()
    types: Counter[str] = Counter()
    for category, product_type, count in session.execute(
            select(Product.category, Product.product_type, func.count())
            .where(available).group_by(Product.category, Product.product_type)):
        categories[category] += count
        types[product_type] += count
    tags = Counter(dict(session.execute(
        select(ProductTag.tag, func.count()).join(Product, Product.id == ProductTag.product_id)
        .where(available).group_by(ProductTag.tag)).all()))
    having: Counter[str] = Counter()
    seen: dict[str, Counter[str]] = {}
    numbers: dict[str, list[float]] = {}
    textual: set[str] = set()
    for (attributes,) in session.execute(select(Product.attributes).where(available)):
        for name, raw in (attributes or {}).items():
            having[name] += 1
            for value in raw if isinstance(raw, list) else [raw]:
                text = str(value)
                seen.setdefault(name, Counter())[text] += 1
                parsed = number(value)
                if parsed is None:
                    textual.add(name)
                elif name not in textual:
                    bounds = numbers.setdefault(name, [float(parsed), float(parsed)])
                    bounds[0], bounds[1] = min(bounds[0], float(parsed)), max(bounds[1],
                                                                              float(parsed))
    attributes = tuple(
        Attribute(name, count, tuple(sorted(seen[name].items(),
                                            key=lambda item: (-item[1], item[0]))[:TOP_VALUES]),
                  *(numbers[name] if name in numbers and name not in textual else (None, None)))
        for name, count in sorted(having.items()))
    facts = CatalogFacts(sum(categories.values()), _ranked(categories), _ranked(types),
                         _ranked(tags), attributes)
    log.info("catalog facts for version %s: %s products, %s attributes", version,
             facts.products, len(attributes))
    return _facts.put(version, facts)


@dataclass(frozen=True)
class Matches:
    count: int
    sample: tuple[str, ...]  # a few of the products' titles


def option_matches(session: Session, spec: Mapping[str, Any],
                   exclude: Mapping[str, Any] | None = None) -> Matches:
    """How many available products one option's ``filter`` and ``exclude`` leave, and a
    few of them (by title), as the showroom's candidate query finds them."""
    alternative = Alternative("", dict(spec), dict(exclude or {}))
    if not alternative.uses_attributes:
        # SQL tests all of it: a count and a handful, never the whole set in Python.
        where = (Product.available.is_(True), _alternative_sql(alternative))
        count = session.scalar(select(func.count()).select_from(Product).where(*where)) or 0
        sample = session.scalars(select(Product.title).where(*where)
                                 .order_by(Product.title).limit(SAMPLE)).all()
        return Matches(count, tuple(sample))
    rows, _attributes = _candidates(session, [Constraint("builder", (alternative,))])
    rows.sort(key=lambda row: row.title)
    return Matches(len(rows), tuple(row.title for row in rows[:SAMPLE]))
