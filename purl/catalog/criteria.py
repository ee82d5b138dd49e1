"""What a shopper asked the catalog for: the quiz's answers, translated into the catalog's
own terms (categories, product types, tags, a price range) for the showroom to pick from."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Criterion:
    """One chosen option, as the showroom sees it: a label, hard filters, soft weights."""

    question_id: str
    label: str
    filter: dict[str, Any]
    prefer_tags: dict[str, float]


@dataclass(frozen=True)
class ContentBlock:
    """Advice for the showroom, already in the shopper's language (plain text: escape it)."""

    question_id: str
    title: str
    body: str


@dataclass
class Preferences:
    """Catalog constraints and preferences stated through the quiz."""

    categories: set[str] | None = None
    product_types: set[str] | None = None
    tags_any: set[str] | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    tag_weights: dict[str, float] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)
    content_blocks: list[ContentBlock] = field(default_factory=list)
