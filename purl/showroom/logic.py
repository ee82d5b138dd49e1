"""The showroom: turn a shopper's stated preferences into ranked catalog products.

Hard filters narrow the catalog inside the database query; soft preferences score what
remains. A plain function of (preferences, catalog), testable without a request.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Product, ProductTag
from ..quiz.logic import Criterion, Preferences

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pick:
    """A product chosen for a shopper, with the reasons it was chosen."""

    id: int
    sku: str
    title: str
    brand: str | None
    category: str
    product_type: str
    price: Decimal
    compare_at_price: Decimal | None
    currency: str
    image_url: str | None
    tags: frozenset[str]
    score: float
    reasons: tuple[str, ...]


def _matches(criterion: Criterion, product: Product, tags: frozenset[str]) -> bool:
    f = criterion.filter

    def listed(key: str, value: str) -> bool:
        raw = f[key]
        return value in (raw if isinstance(raw, list) else [raw])

    if "category" in f and not listed("category", product.category):
        return False
    if "product_type" in f and not listed("product_type", product.product_type):
        return False
    if "tags" in f and not any(listed("tags", t) for t in tags):
        return False
    if "price_max" in f and product.price > f["price_max"]:
        return False
    if "price_min" in f and product.price < f["price_min"]:
        return False
    if criterion.prefer_tags and not (tags & criterion.prefer_tags.keys()):
        return False
    return True


def recommend(session: Session, prefs: Preferences, limit: int = 24) -> list[Pick]:
    """Available products that satisfy every hard filter, best matches first."""
    query = select(Product).where(Product.available.is_(True))
    if prefs.categories is not None:
        query = query.where(Product.category.in_(sorted(prefs.categories)))
    if prefs.product_types is not None:
        query = query.where(Product.product_type.in_(sorted(prefs.product_types)))
    if prefs.price_max is not None:
        query = query.where(Product.price <= prefs.price_max)
    if prefs.price_min is not None:
        query = query.where(Product.price >= prefs.price_min)
    if prefs.tags_any:
        query = query.where(
            Product.id.in_(select(ProductTag.product_id).where(ProductTag.tag.in_(prefs.tags_any)))
        )
    products = session.scalars(query).all()
    if not products:
        return []
    tags_by_product: dict[int, set[str]] = defaultdict(set)
    ids = [p.id for p in products]
    for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        chunk = ids[start:start + 900]
        for product_id, tag in session.execute(
            select(ProductTag.product_id, ProductTag.tag).where(ProductTag.product_id.in_(chunk))
        ):
            tags_by_product[product_id].add(tag)

    picks = []
    for product in products:
        tags = frozenset(tags_by_product[product.id])
        score = sum(w for tag, w in prefs.tag_weights.items() if tag in tags)
        reasons = tuple(dict.fromkeys(
            c.label for c in prefs.criteria if _matches(c, product, tags)
        ))
        picks.append(Pick(
            id=product.id, sku=product.sku, title=product.title, brand=product.brand,
            category=product.category, product_type=product.product_type,
            price=product.price, compare_at_price=product.compare_at_price,
            currency=product.currency, image_url=product.image_url, tags=tags,
            score=score, reasons=reasons,
        ))
    # Best score first; among equals the cheaper, then a stable order by sku.
    picks.sort(key=lambda p: (-p.score, p.price, p.sku))
    return picks[:limit]


def with_utm(url: str, campaign: object | None) -> str:
    """The product URL with the campaign's UTM parameters (the shop's own ones are kept)."""
    if campaign is None:
        return url
    params = {
        "utm_source": getattr(campaign, "utm_source", None),
        "utm_medium": getattr(campaign, "utm_medium", None),
        "utm_campaign": getattr(campaign, "utm_campaign", None) or getattr(campaign, "slug", None),
    }
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    query += [(k, v) for k, v in params.items() if v and k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
