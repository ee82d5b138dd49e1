"""What a shopper asked the catalog for: the quiz's answers, translated into the catalog's
own terms (categories, product types, tags, prices, product attributes) for the showroom.

Each answered question is one :class:`Constraint` (questions narrow: AND); the options chosen
in it are its alternatives (options widen: OR); within one option every field must hold, a
list field by any of its values, and nothing its ``exclude`` names may. These functions decide
what a product row meets; ``purl.catalog.recommend`` turns the same rules into SQL where it can.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

# Filter fields and the ones an exclusion may name.
LIST_FIELDS = ("category", "product_type", "tags")
PRICE_FIELDS = ("price_min", "price_max")
MATCHES = ("must", "nice", "auto")
_LEADING_NUMBER = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)")


class ProductLike(Protocol):
    category: str
    product_type: str
    price: Decimal
    tags: frozenset[str]


def values(raw: Any) -> list[str]:
    """A filter field's values: one value or a list, as authored."""
    if raw is None:
        return []
    return [str(v) for v in raw] if isinstance(raw, list | tuple | set | frozenset) else [str(raw)]


def number(raw: Any) -> Decimal | None:
    """A catalog attribute as a number: 7, 7.5, "7,5" and "7 W" all read; anything else None."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int | float | Decimal):
        result = Decimal(str(raw))
    else:
        found = _LEADING_NUMBER.match(str(raw))
        if not found:
            return None
        try:
            result = Decimal(found.group(1).replace(",", "."))
        except InvalidOperation:
            return None
    return result if result.is_finite() else None


def attribute(attributes: Mapping[str, Any] | None, name: str) -> Any:
    """A product's attribute by name; feeds vary in case ("Watt", "watt"), so that is ignored."""
    attributes = attributes or {}
    if name in attributes:
        return attributes[name]
    wanted = name.casefold()
    return next((v for k, v in attributes.items() if str(k).casefold() == wanted), None)


def attribute_holds(attributes: Mapping[str, Any] | None, name: str, spec: Mapping) -> bool:
    """Whether a product's attribute meets ``spec``: ``{"in": [values]}`` (any of them, case
    ignored; a list-valued attribute by any of its items) or ``{"min": n, "max": n}``."""
    raw = attribute(attributes, name)
    if raw is None:
        return False
    items = raw if isinstance(raw, list) else [raw]
    if "in" in spec:
        wanted = {str(v).strip().casefold() for v in spec["in"]}
        return any(str(item).strip().casefold() in wanted for item in items)
    for item in items:
        value = number(item)
        if value is None:
            continue
        if "min" in spec and value < Decimal(str(spec["min"])):
            continue
        if "max" in spec and value > Decimal(str(spec["max"])):
            continue
        return True
    return False


def filter_holds(
    spec: Mapping[str, Any], row: ProductLike, attributes: Mapping[str, Any] | None
) -> bool:
    """Every field of one option's ``filter`` holds for the product."""
    for key in ("category", "product_type"):
        if key in spec and getattr(row, key) not in values(spec[key]):
            return False
    if "tags" in spec and not row.tags & set(values(spec["tags"])):
        return False
    # A product without a price ("Preis auf Anfrage") meets any budget.
    if "price_min" in spec and row.price is not None and row.price < Decimal(
            str(spec["price_min"])):
        return False
    if "price_max" in spec and row.price is not None and row.price > Decimal(
            str(spec["price_max"])):
        return False
    return all(attribute_holds(attributes, name, wanted)
               for name, wanted in (spec.get("attributes") or {}).items())


def excluded(
    spec: Mapping[str, Any], row: ProductLike, attributes: Mapping[str, Any] | None
) -> bool:
    """Whether anything one option's ``exclude`` names applies to the product."""
    for key in ("category", "product_type"):
        if key in spec and getattr(row, key) in values(spec[key]):
            return True
    if "tags" in spec and row.tags & set(values(spec["tags"])):
        return True
    return any(attribute_holds(attributes, name, wanted)
               for name, wanted in (spec.get("attributes") or {}).items())


@dataclass(frozen=True)
class Alternative:
    """What one chosen option asks of a product: its ``filter`` and its ``exclude``."""

    label: str
    filter: Mapping[str, Any]
    exclude: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.filter and not self.exclude

    def holds(self, row: ProductLike, attributes: Mapping[str, Any] | None) -> bool:
        return filter_holds(self.filter, row, attributes) and not excluded(
            self.exclude, row, attributes)

    @property
    def uses_attributes(self) -> bool:
        return bool(self.filter.get("attributes") or self.exclude.get("attributes"))


@dataclass(frozen=True)
class Constraint:
    """One answered question as a hard filter: a product meets one of its alternatives.

    ``match`` says how far the showroom may give way when too few products are left:
    ``must`` never, ``nice`` first of all, ``auto`` by what it filters (see recommend).
    """

    question_id: str
    alternatives: tuple[Alternative, ...]
    match: str = "auto"

    @property
    def active(self) -> bool:
        # An option chosen without a filter ("Budget egal") means: anything goes.
        return bool(self.alternatives) and not any(a.empty for a in self.alternatives)

    def holds(self, row: ProductLike, attributes: Mapping[str, Any] | None) -> bool:
        return not self.active or any(a.holds(row, attributes) for a in self.alternatives)

    @property
    def uses_attributes(self) -> bool:
        return any(a.uses_attributes for a in self.alternatives)

    def key(self) -> list:
        """What decides the products this constraint allows (no labels): for cache keys."""
        return [self.question_id, self.match,
                [[_plain(a.filter), _plain(a.exclude)] for a in self.alternatives]]


def _plain(spec: Mapping[str, Any]) -> Any:
    """A filter as sorted plain data, so equal filters give equal keys."""
    if isinstance(spec, Mapping):
        return sorted((str(k), _plain(v)) for k, v in spec.items())
    if isinstance(spec, list | tuple | set | frozenset):
        return sorted(str(v) for v in spec)
    return str(spec)


@dataclass(frozen=True)
class Criterion:
    """One chosen option, as the showroom names it: a label, hard filters, soft weights."""

    question_id: str
    label: str
    filter: dict[str, Any]
    prefer_tags: dict[str, float]
    exclude: dict[str, Any] = field(default_factory=dict)

    def matches(self, row: ProductLike, attributes: Mapping[str, Any] | None) -> bool:
        """Whether the product is what this answer asked for (a reason to show it)."""
        if not filter_holds(self.filter, row, attributes):
            return False
        if excluded(self.exclude, row, attributes):
            return False
        return not (self.prefer_tags and not (row.tags & self.prefer_tags.keys()))

    @property
    def uses_attributes(self) -> bool:
        return bool(self.filter.get("attributes") or self.exclude.get("attributes"))


@dataclass(frozen=True)
class ContentBlock:
    """Advice for the showroom, already in the shopper's language (plain text: escape it)."""

    question_id: str
    title: str
    body: str


@dataclass
class Preferences:
    """Catalog constraints and preferences stated through the quiz."""

    constraints: list[Constraint] = field(default_factory=list)
    tag_weights: dict[str, float] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    content_blocks: list[ContentBlock] = field(default_factory=list)

    def active(self) -> list[Constraint]:
        return [c for c in self.constraints if c.active]

    def constraint(self, question_id: str) -> Constraint | None:
        return next((c for c in self.constraints if c.question_id == question_id), None)
