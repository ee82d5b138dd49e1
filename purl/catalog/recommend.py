"""The showroom: turn a shopper's stated preferences into ranked catalog products.

Hard filters from the answers narrow the catalog inside the database query (indexed); soft
preferences score what remains; a gentle penalty keeps one product type from filling the whole
page. When the answers leave too few products, the weakest constraint is relaxed first and the
shopper is told which. The shopper's own catalog filters (category, price, tags, sort) then
refine that personal set. :func:`recommend` is a plain function of (preferences, filters,
catalog), testable without a request; :func:`cached_recommend` memoises it per catalog version
for the hot read path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    bindparam,
    case,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from purl.catalog.catalogs import DEFAULT, id_of
from purl.catalog.criteria import Alternative, Constraint, Preferences, values
from purl.catalog.curation import NONE as NO_CURATION
from purl.catalog.curation import Curation
from purl.models import Catalog, Product, ProductTag

log = logging.getLogger(__name__)

MIN_PICKS = 6  # fewer than this and the answers are relaxed, weakest first
DIVERSITY = 0.75  # score a product loses per product of its type already shown
SORTS = ("match", "price-asc", "price-desc")
# Which parts of an answer give way first when too few products match (see _relax_steps).
RELAX_ORDER = ("tags", "attributes", "price_min", "price_max", "product_type")
BUDGET_STEPS = (Decimal("1.5"), Decimal("2"), Decimal("3"))
# A showroom URL's filters: at most this many tags (all must match, so more find nothing), and
# only this many values of a repeated parameter are looked at.
MAX_TAGS = 10
MAX_VALUES = 50
MAX_PAGES = 10  # "show more" adds a page of products (a campaign's size, 24 by default)
CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")  # Product.price is Numeric(10, 2)


@dataclass(frozen=True)
class _Row:
    """A catalog product as the showroom reads it: one Core query, no ORM objects."""

    id: int
    sku: str
    title: str
    brand: str | None
    category: str
    product_type: str
    price: Decimal | None  # None: "Preis auf Anfrage"
    compare_at_price: Decimal | None
    currency: str
    image_url: str | None
    tags: frozenset[str]


@dataclass(frozen=True)
class Pick(_Row):
    """A product chosen for a shopper, with the reasons it was chosen."""

    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Filters:
    """The shopper's own catalog filters, as carried in the showroom URL's query string."""

    category: str | None = None
    product_type: str | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    tags: tuple[str, ...] = ()
    sort: str = "match"
    pages: int = 1  # how many pages of products are shown ("show more" adds one)

    @classmethod
    def from_query(cls, args: Mapping[str, Any], terms: CatalogTerms | None = None) -> Filters:
        """Read filters from request args; values that make no sense are ignored, not errors.

        The result is a showroom's cache key, so every spelling of one choice reads the same
        (prices in whole cents, tags sorted, a repeated parameter's first value) and, given
        the catalog's ``terms``, nothing the catalog does not have survives: unknown
        categories, types and tags, or a price bound beyond its dearest product, are dropped
        (they could only select nothing or everything, and would each cost a new showroom).
        """
        def one(key: str) -> str | None:
            value = args.get(key)
            return value.strip()[:64] or None if isinstance(value, str) else None

        def known(value: str | None, vocabulary: frozenset[str] | None) -> str | None:
            return value if vocabulary is None or value in vocabulary else None

        def money(key: str) -> Decimal | None:
            raw = (one(key) or "").replace(",", ".")
            try:
                value = Decimal(raw) if raw else None
                if value is None or not value.is_finite() or not 0 <= value <= MAX_PRICE:
                    return None
                value = value.quantize(CENT, rounding=ROUND_HALF_UP)
            except InvalidOperation:
                return None
            if terms is not None and terms.price_max is not None and value > terms.price_max:
                return None
            return value

        getlist = getattr(args, "getlist", None)
        tags = getlist("tag") if getlist else ([args["tag"]] if args.get("tag") else [])
        wanted = {t.strip()[:64] for t in tags[:MAX_VALUES] if isinstance(t, str)}
        if terms is not None:
            wanted &= terms.tags
        wanted.discard("")
        low, high = money("min"), money("max")
        if low is not None and low <= 0:
            low = None  # every price is at least 0
        if low is not None and high is not None and low > high:
            low, high = high, low  # typed the wrong way round
        sort = one("sort") or "match"
        try:
            pages = min(max(int(one("pages") or 1), 1), MAX_PAGES)
        except ValueError:
            pages = 1
        return cls(
            category=known(one("category"), terms and terms.categories),
            product_type=known(one("type"), terms and terms.product_types),
            price_min=low, price_max=high,
            tags=tuple(sorted(wanted))[:MAX_TAGS],
            sort=sort if sort in SORTS else "match", pages=pages,
        )

    def query(self, **changes: Any) -> dict[str, Any]:
        """Query parameters for these filters (with ``changes``), for links and forms."""
        f = replace(self, **changes)
        args: dict[str, Any] = {}
        if f.category:
            args["category"] = f.category
        if f.product_type:
            args["type"] = f.product_type
        if f.price_min is not None:
            args["min"] = _plain(f.price_min)
        if f.price_max is not None:
            args["max"] = _plain(f.price_max)
        if f.tags:
            args["tag"] = list(f.tags)
        if f.sort != "match":
            args["sort"] = f.sort
        if f.pages != 1:
            args["pages"] = f.pages
        return args

    def link(self, **changes: Any) -> str:
        """The query string for these filters (with ``changes``), for a link."""
        return urlencode(self.query(**changes), doseq=True)

    @property
    def more(self) -> int | None:
        """How many pages the "show more" link asks for; None once the page shows the most."""
        return self.pages + 1 if self.pages < MAX_PAGES else None

    @property
    def active(self) -> bool:
        return bool(self.query(sort="match", pages=1))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True)
class CatalogTerms:
    """What the catalog has to filter by: a shopper's filter outside these selects nothing new."""

    categories: frozenset[str]
    product_types: frozenset[str]
    tags: frozenset[str]
    price_max: Decimal | None
    # How many available products have each tag: what summing a tag's weights costs.
    tag_counts: Mapping[str, int] = field(default_factory=dict)
    # How the catalog's files write its keys ({"tags": {"ip44": "IP44"}}): filter labels.
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def catalog_terms(session: Session, version: Any = None, catalog: str = DEFAULT
                  ) -> CatalogTerms:
    """The catalog's categories, product types, tags and highest price, remembered per catalog
    version (three queries once per import, then a dictionary lookup)."""
    version = catalog_version(session, catalog) if version is None else version
    hit = _terms.get((catalog, version))
    if hit is not None:
        return hit
    available = and_(Product.catalog_id == id_of(catalog), Product.available.is_(True))
    kinds = session.execute(
        select(Product.category, Product.product_type).where(available).distinct()).all()
    tag_counts = dict(session.execute(
        select(ProductTag.tag, func.count(ProductTag.product_id))
        .join(Product, Product.id == ProductTag.product_id).where(available)
        .group_by(ProductTag.tag)).all())
    return _terms.put((catalog, version), CatalogTerms(
        categories=frozenset(c for c, _t in kinds),
        product_types=frozenset(t for _c, t in kinds),
        tags=frozenset(tag_counts), tag_counts=tag_counts,
        labels=session.scalar(select(Catalog.labels).where(Catalog.name == catalog)) or {},
        price_max=session.scalar(select(func.max(Product.price)).where(available)),
    ))


@dataclass(frozen=True)
class Facet:
    value: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Showroom:
    """What the showroom shows: picks, how many matched, what was relaxed, and the facets."""

    picks: list[Pick]
    total: int  # products matching the answers and the shopper's filters
    personal_total: int  # products matching the answers alone
    relaxed: tuple[str, ...] = ()  # labels of the answers that were relaxed
    categories: tuple[Facet, ...] = ()
    product_types: tuple[Facet, ...] = ()
    tags: tuple[Facet, ...] = ()
    price_floor: Decimal | None = None
    price_ceiling: Decimal | None = None
    filters: Filters = field(default_factory=Filters)


_COLUMNS = (Product.id, Product.sku, Product.title, Product.brand, Product.category,
            Product.product_type, Product.price, Product.compare_at_price, Product.currency,
            Product.image_url)
_WITH_TAGS = select(ProductTag.product_id)


def _alternative_sql(alt: Alternative) -> ColumnElement[bool]:
    """What SQL can test of one option: all but product attributes (JSON, tested afterwards
    in Python, since feeds write numbers as "7,5 W" that neither database casts alike)."""
    parts: list[ColumnElement[bool]] = []
    spec, exclude = alt.filter, alt.exclude
    for key, column in (("category", Product.category), ("product_type", Product.product_type)):
        if key in spec:
            parts.append(column.in_(values(spec[key])))
        if key in exclude:
            parts.append(column.not_in(values(exclude[key])))
    # A product without a price ("Preis auf Anfrage") is never hidden by a budget answer.
    if "price_min" in spec:
        parts.append(or_(Product.price.is_(None), Product.price >= Decimal(str(spec["price_min"]))))
    if "price_max" in spec:
        parts.append(or_(Product.price.is_(None), Product.price <= Decimal(str(spec["price_max"]))))
    if "tags" in spec:
        parts.append(Product.id.in_(_WITH_TAGS.where(ProductTag.tag.in_(values(spec["tags"])))))
    if "tags" in exclude:
        parts.append(Product.id.not_in(
            _WITH_TAGS.where(ProductTag.tag.in_(values(exclude["tags"])))))
    return and_(*parts) if parts else true()


def _constraint_sql(constraint: Constraint) -> ColumnElement[bool]:
    """What SQL can test of one answer: any of its options."""
    alternatives = constraint.alternatives
    kinds = {tuple(a.filter) for a in alternatives if not a.exclude}
    if len(kinds) == 1 and len(alternatives) > 1 and kinds <= {("category",), ("product_type",)}:
        # Several types (or categories) chosen: one IN list, which an index seeks, where an
        # OR of comparisons is a filter over every product of the catalog (PostgreSQL).
        key = next(iter(kinds))[0]
        column = Product.category if key == "category" else Product.product_type
        return column.in_(sorted({v for a in alternatives for v in values(a.filter[key])}))
    return or_(*(_alternative_sql(a) for a in alternatives))


def _in_catalog(catalog: str) -> ColumnElement[bool]:
    return and_(Product.catalog_id == id_of(catalog), Product.available.is_(True))


def _load(session: Session, where: ColumnElement[bool], with_attributes: bool = False,
          ids: list[int] | None = None) -> tuple[list[_Row], dict[int, dict]]:
    """The products ``where`` selects (or those of ``ids``, in that order) as rows with their
    tags, and their attributes by id when asked."""
    query = select(*_COLUMNS).where(where)
    if ids is not None:
        query = query.where(Product.id.in_(ids))
    if with_attributes:
        query = query.add_columns(Product.attributes)
    rows = session.execute(query).all()
    if not rows:
        return [], {}
    tags: dict[int, set[str]] = defaultdict(set)
    wanted = {r.id for r in rows}
    tag_query = select(ProductTag.product_id, ProductTag.tag)
    if len(wanted) <= 900:  # stay under SQLite's bound-parameter limit
        tag_query = tag_query.where(ProductTag.product_id.in_(wanted))
    else:
        tag_query = tag_query.where(ProductTag.product_id.in_(
            select(Product.id).where(query.whereclause)  # type: ignore[arg-type]
        ))
    for product_id, tag in session.execute(tag_query):
        if product_id in wanted:
            tags[product_id].add(tag)
    width = len(_COLUMNS)
    found = [_Row(*r[:width], tags=frozenset(tags[r.id])) for r in rows]
    if ids is not None:
        position = {product_id: n for n, product_id in enumerate(ids)}
        found.sort(key=lambda row: position[row.id])
    attributes = {r.id: (r[width] or {}) for r in rows} if with_attributes else {}
    return found, attributes


@dataclass(frozen=True)
class _Allowed:
    """The products the answers allow: a SQL condition, and how many it selects."""

    where: ColumnElement[bool]
    count: int


def _allowed(session: Session, catalog: str, constraints: list[Constraint],
             excluded: tuple[int, ...] = ()) -> _Allowed:
    """The catalog's available products meeting every constraint, counted by the database.

    Everything but product attributes is tested in SQL. Attributes (JSON, written as feeds
    write them: "7,5 W" neither database casts alike) are tested in Python on the rows SQL
    left, and the condition then names those products by id.
    """
    active = [c for c in constraints if c.active]
    where = and_(_in_catalog(catalog), *(_constraint_sql(c) for c in active),
                 *([Product.id.not_in(excluded)] if excluded else []))
    in_python = [c for c in active if c.uses_attributes]
    if not in_python:
        return _Allowed(where, session.scalar(select(func.count(Product.id)).where(where)) or 0)
    rows, attributes = _load(session, where, with_attributes=True)
    ids = [r.id for r in rows if all(c.holds(r, attributes[r.id]) for c in in_python)]
    if not ids:
        return _Allowed(false(), 0)
    # Literal ids: a long list binds no parameter each (SQLite allows some thousands only).
    chosen = bindparam("allowed_ids", ids, expanding=True, literal_execute=True, type_=Integer)
    return _Allowed(and_(where, Product.id.in_(chosen)), len(ids))


@dataclass(frozen=True)
class _Step:
    """One way of giving way: loosen one question's constraint (``fields`` of its options'
    filters, or all of it)."""

    index: int
    fields: tuple[str, ...] | None  # None: the whole constraint


def _relax_steps(constraints: list[Constraint]) -> list[_Step]:
    """In which order answers give way: every "nice to have" first (the last question
    first), then the others by what they filter, a must-have tag first, then product
    attributes, a price floor, the budget (raised step by step), the kind of product. A
    "must", a category and an exclusion never do (the animal, "no decaf")."""
    steps = [_Step(i, None) for i in reversed(range(len(constraints)))
             if constraints[i].match == "nice" and constraints[i].active]
    for kind in RELAX_ORDER:
        steps += [_Step(i, (kind,)) for i in reversed(range(len(constraints)))
                  if constraints[i].match == "auto" and constraints[i].active
                  and any(kind in a.filter for a in constraints[i].alternatives)]
    return steps


def _loosen(constraint: Constraint, fields: tuple[str, ...] | None,
            budget: Decimal | None = None) -> Constraint:
    """The constraint with ``fields`` dropped from its options (or all of it), or, given a
    ``budget`` factor, with its price caps raised by that factor instead."""
    if budget is not None:
        alternatives = tuple(
            replace(a, filter={**a.filter, "price_max": Decimal(str(a.filter["price_max"]))
                               * budget}) if "price_max" in a.filter else a
            for a in constraint.alternatives)
        return replace(constraint, alternatives=alternatives)
    if fields is None:
        return replace(constraint, alternatives=())
    alternatives = tuple(
        replace(a, filter={k: v for k, v in a.filter.items() if k not in fields})
        for a in constraint.alternatives)
    return replace(constraint, alternatives=alternatives)


def _personal_set(
    session: Session, catalog: str, prefs: Preferences, excluded: tuple[int, ...] = ()
) -> tuple[_Allowed, tuple[str, ...]]:
    """The products the answers allow, relaxing the weakest constraints while too few match;
    with the labels of the answers that gave way."""
    constraints = list(prefs.constraints)
    allowed = _allowed(session, catalog, constraints, excluded)
    relaxed: list[str] = []
    for step in _relax_steps(constraints):
        if allowed.count >= MIN_PICKS:
            break
        original = constraints[step.index]
        if not original.active:
            continue
        loosened = [a.label for a in original.alternatives
                    if step.fields is None or any(f in a.filter for f in step.fields)]
        relaxed += [label for label in loosened if label not in relaxed]
        if step.fields is None or "price_max" in step.fields:
            # A little over budget beats no product at all; drop the cap only as a last step.
            for factor in BUDGET_STEPS if any(
                    "price_max" in a.filter for a in original.alternatives) else ():
                constraints[step.index] = _loosen(original, None, factor)
                allowed = _allowed(session, catalog, constraints, excluded)
                if allowed.count >= MIN_PICKS:
                    break
            if allowed.count >= MIN_PICKS:
                continue
        constraints[step.index] = _loosen(original, step.fields)
        allowed = _allowed(session, catalog, constraints, excluded)
    return allowed, tuple(relaxed)


def _ranked(session: Session, where: ColumnElement[bool], prefs: Preferences, sort: str,
            limit: int, candidates: int, tag_counts: Mapping[str, int],
            pinned: tuple[int, ...] = ()) -> list[tuple[int, float]]:
    """The ids and scores of the best ``limit`` of the ``candidates`` products ``where``
    selects, by the database (``tag_counts``: the catalog's, to choose how to score);
    ``pinned`` ones first, in their order, when sorted by match.

    A product's score is the weights of the preferred tags it has, summed. By match: best
    score first, each further product of a type counting DIVERSITY less than the one before
    it (its rank within its type, from a window function), so one type does not fill the
    page; ties go to the cheaper, then by sku. By price: products without a price after
    every priced one.
    """
    sku, product_type = Product.sku, Product.product_type
    if session.get_bind().dialect.name == "postgresql":
        # By code point, as SQLite and Python compare, and several times quicker to sort
        # than the database's language rules (the type only groups, so any order does).
        sku, product_type = sku.collate("C"), product_type.collate("C")
    pin = (case({pid: n for n, pid in enumerate(pinned)}, value=Product.id,
                else_=len(pinned)) if pinned else literal(0))
    query = select(Product.id, product_type.label("product_type"), Product.price,
                   sku.label("sku"), pin.label("pin"),
                   case((Product.price.is_(None), 1), else_=0).label("unpriced"))
    if prefs.tag_weights:
        weights = sorted(prefs.tag_weights.items())
        weight = case(*((ProductTag.tag == tag, float(w)) for tag, w in weights), else_=0.0)
        preferred = ProductTag.tag.in_([tag for tag, _w in weights])
        if candidates * len(weights) <= sum(tag_counts.get(tag, 0) for tag, _w in weights):
            # Few candidates: each one's tags looked up.
            summed = (select(func.sum(weight))
                      .where(ProductTag.product_id == Product.id, preferred)
                      .scalar_subquery())
            query = query.add_columns(func.coalesce(summed, 0.0).label("score"))
        else:
            # Many: the preferred tags' products summed once, then joined.
            scores = (select(ProductTag.product_id, func.sum(weight).label("score"))
                      .where(preferred).group_by(ProductTag.product_id).subquery())
            query = (query.add_columns(func.coalesce(scores.c.score, 0.0).label("score"))
                     .outerjoin(scores, scores.c.product_id == Product.id))
    else:
        query = query.add_columns(literal(0.0).label("score"))
    scored = query.where(where).subquery()
    if sort in ("price-asc", "price-desc"):
        price = scored.c.price if sort == "price-asc" else scored.c.price.desc()
        ranked = (select(scored.c.id, scored.c.score)
                  .order_by(scored.c.unpriced, price, scored.c.sku).limit(limit))
    else:
        rank = func.row_number().over(
            partition_by=scored.c.product_type,
            order_by=(scored.c.score.desc(), scored.c.unpriced, scored.c.price,
                      scored.c.sku)).label("rank")
        standing = select(scored, rank).subquery()
        # Only a type's first ``limit`` can make the page: the rest are not sorted again.
        ranked = (select(standing.c.id, standing.c.score)
                  .where(standing.c.rank <= limit)
                  .order_by(standing.c.pin,
                            (standing.c.score - DIVERSITY * (standing.c.rank - 1)).desc(),
                            standing.c.unpriced, standing.c.price, standing.c.sku)
                  .limit(limit))
    return [(product_id, float(value)) for product_id, value in session.execute(ranked)]


def recommend_showroom(
    session: Session, prefs: Preferences, filters: Filters | None = None, limit: int = 24,
    catalog: str = DEFAULT, curation: Curation = NO_CURATION,
    terms: CatalogTerms | None = None,
) -> Showroom:
    """The shopper's showroom for these answers and filters, from the named catalog, as the
    campaign's ``curation`` pins and excludes products (a plain function, no request):
    counted, faceted and ranked by the database, so only the page's products come back as
    rows. ``terms``: the catalog's, when the caller has them already."""
    filters = filters or Filters()
    limit *= filters.pages  # ``limit``: one page's worth; the shopper may ask for more
    personal, relaxed = _personal_set(session, catalog, prefs, curation.excluded)
    # The shopper's own price range wants a price: products without one stay out (NULL).
    narrowing = []
    if filters.price_min is not None:
        narrowing.append(Product.price >= filters.price_min)
    if filters.price_max is not None:
        narrowing.append(Product.price <= filters.price_max)
    narrowing += [Product.id.in_(_WITH_TAGS.where(ProductTag.tag == tag))
                  for tag in filters.tags]
    # Facet counts: what each choice would give, with the shopper's other filters applied;
    # one grouped count by category and type gives both, and the total.
    groups = session.execute(
        select(Product.category, Product.product_type, func.count(Product.id),
               func.min(Product.price), func.max(Product.price))
        .where(personal.where, *narrowing)
        .group_by(Product.category, Product.product_type)).all()
    categories: Counter[str] = Counter()
    types: Counter[str] = Counter()
    total = 0
    for category, product_type, count, _low, _high in groups:
        fits_category = not filters.category or category == filters.category
        fits_type = not filters.product_type or product_type == filters.product_type
        if fits_type:
            categories[category] += count
        if fits_category:
            types[product_type] += count
        if fits_category and fits_type:
            total += count
    if narrowing:
        floor, ceiling = session.execute(
            select(func.min(Product.price), func.max(Product.price))
            .where(personal.where)).one()
    else:
        prices = [(low, high) for *_kind, _n, low, high in groups if low is not None]
        floor = min(low for low, _high in prices) if prices else None
        ceiling = max(high for _low, high in prices) if prices else None
    own = [*narrowing, *([Product.category == filters.category] if filters.category else []),
           *([Product.product_type == filters.product_type] if filters.product_type else [])]
    shown = and_(personal.where, *own)
    # Pinned "always": first whatever the answers were (the shopper's own filters still
    # apply), and counted with the rest.
    front: list[int] = []
    if curation.pinned and curation.pin_always and filters.sort == "match":
        present = set(session.scalars(select(Product.id).where(
            _in_catalog(catalog), Product.id.in_(curation.pinned), *own,
            *([Product.id.not_in(curation.excluded)] if curation.excluded else []))))
        front = [pid for pid in curation.pinned if pid in present]
        if front:
            total += len(front) - (session.scalar(select(func.count(Product.id)).where(
                shown, Product.id.in_(front))) or 0)
            shown = and_(shown, Product.id.not_in(front))
    tag_counts: Counter[str] = Counter()
    if total:
        tag_counts.update(dict(session.execute(
            select(ProductTag.tag, func.count(ProductTag.product_id))
            .join(Product, Product.id == ProductTag.product_id)
            .where(shown).group_by(ProductTag.tag)).all()))
    for tag in filters.tags:
        tag_counts.setdefault(tag, 0)

    ranked = [(pid, 0.0) for pid in front[:limit]]
    if total > len(front) and limit > len(front):
        ranked += _ranked(session, shown, prefs, filters.sort, limit - len(front),
                          total - len(front),
                          (terms or catalog_terms(session, catalog=catalog)).tag_counts,
                          curation.pinned if filters.sort == "match" else ())
    attributes_needed = any(c.uses_attributes for c in prefs.criteria)
    rows, attributes = _load(session, true(), attributes_needed,
                             ids=[product_id for product_id, _score in ranked])
    scores = dict(ranked)
    picks = [
        Pick(**vars(r), score=scores[r.id],
             reasons=tuple(dict.fromkeys(c.label for c in prefs.criteria
                                         if c.matches(r, attributes.get(r.id)))))
        for r in rows
    ]
    return Showroom(
        picks=picks, total=total, personal_total=personal.count, relaxed=relaxed,
        categories=_facets(categories, {filters.category} - {None}),
        product_types=_facets(types, {filters.product_type} - {None}),
        tags=_facets(tag_counts, set(filters.tags), limit=12),
        price_floor=_money(floor), price_ceiling=_money(ceiling),
        filters=filters,
    )


def _money(value: Any) -> Decimal | None:
    """A price as the database returns an aggregate of it (SQLite: a float) in cents."""
    return None if value is None else Decimal(str(value)).quantize(CENT)


def _facets(counts: Counter[str], selected: set[str], limit: int = 50) -> tuple[Facet, ...]:
    top = sorted(counts.items(), key=lambda kv: (kv[0] not in selected, -kv[1], kv[0]))[:limit]
    return tuple(Facet(v, n, v in selected) for v, n in sorted(top, key=lambda kv: kv[0]))


def recommend(session: Session, prefs: Preferences, limit: int = 24,
              catalog: str = DEFAULT) -> list[Pick]:
    """Available products that satisfy the answers, best (and most varied) matches first."""
    return recommend_showroom(session, prefs, None, limit, catalog).picks


# ---------------------------------------------------------------- hot path

class LRU:
    """A small least-recently-used map for derived data a worker may keep (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


_showrooms = LRU(512)
_terms = LRU(8)
# Built once: its compiled form is reused.
_VERSION = select(func.max(Product.updated_at)).where(
    Product.catalog_id == id_of(bindparam("catalog")))  # type: ignore[arg-type]


_versions: dict[str, tuple[Any, float]] = {}  # per worker: catalog -> (version, asked at)


def catalog_version(session: Session, catalog: str = DEFAULT, max_age: float = 0.0,
                    clock: Callable[[], float] = time.monotonic) -> Any:
    """Changes whenever a product of the catalog is added or changed (an index lookup, not a
    scan).

    Asked on every showroom request, so it goes straight to the connection (Core), skipping
    the ORM's per-query work; with ``max_age`` (seconds) a worker asks at most that often
    and answers from what it last heard in between, so an import shows within ``max_age``.
    """
    if max_age > 0:
        heard = _versions.get(catalog)
        if heard is not None and clock() - heard[1] < max_age:
            return heard[0]
    version = session.connection().scalar(_VERSION, {"catalog": catalog})
    if max_age > 0:
        _versions[catalog] = (version, clock())
    return version


def _selection(prefs: Preferences, labels: bool) -> str:
    return json.dumps({
        "k": [c.key() for c in prefs.constraints],
        "w": sorted(prefs.tag_weights.items()),
        "r": [(c.question_id, c.label if labels else "", c.filter, c.exclude,
               sorted(c.prefer_tags.items())) for c in prefs.criteria],
    }, sort_keys=True, default=str)


def _prefs_key(prefs: Preferences) -> str:
    return _selection(prefs, labels=True)


def selection_key(prefs: Preferences) -> str:
    """A short digest of what decides which products the answers may show, in any language
    (the labels are left out): equal for every shopper whose answers select alike."""
    return hashlib.sha256(_selection(prefs, labels=False).encode()).hexdigest()[:32]


def showroom_key(
    session: Session, prefs: Preferences, filters: Filters | None = None, limit: int = 24,
    version: Any = None, catalog: str = DEFAULT, curation: Curation = NO_CURATION,
) -> tuple:
    """What a showroom depends on: the answers' meaning, the filters, the catalog and its
    version (pass ``version`` when it was just asked for), the campaign's curation.

    Holds no personal data, so anything derived from the key alone may be shared between
    shoppers who gave the same answers.
    """
    version = catalog_version(session, catalog) if version is None else version
    return (_prefs_key(prefs), filters or Filters(), limit, catalog, version, curation.key())


def cached_recommend(
    session: Session, prefs: Preferences, filters: Filters | None = None, limit: int = 24,
    key: tuple | None = None, on_miss: Callable[[], None] | None = None,
    catalog: str = DEFAULT, curation: Curation = NO_CURATION,
    terms: CatalogTerms | None = None,
) -> Showroom:
    """:func:`recommend_showroom`, remembered per :func:`showroom_key`.

    Many shoppers give the same answers, and the catalog changes rarely, so each worker keeps
    a small LRU of finished showrooms. It is derived data only: a new catalog version (any
    import or edit bumps ``updated_at``) simply misses. ``on_miss`` is called before a
    showroom is computed (the expensive case; a caller may refuse it by raising).
    """
    key = key or showroom_key(session, prefs, filters, limit, catalog=catalog,
                              curation=curation)
    hit = _showrooms.get(key)
    if hit is not None:
        return hit
    if on_miss is not None:
        on_miss()
    return _showrooms.put(key, recommend_showroom(session, prefs, filters, limit, catalog,
                                                  curation, terms))


def with_utm(url: str, campaign: object | None, channel: str | None = None) -> str:
    """The product URL with the campaign's UTM parameters (the shop's own ones are kept).

    A personal link's channel is the medium, so the shop's analytics tells the printed
    letter from the SMS; only email links keep a medium the campaign names itself
    (a marketer's "newsletter").
    """
    if campaign is None:
        return url
    medium = getattr(campaign, "utm_medium", None)
    if channel and (channel != "email" or not medium):
        medium = channel
    params = {
        "utm_source": getattr(campaign, "utm_source", None),
        "utm_medium": medium,
        "utm_campaign": getattr(campaign, "utm_campaign", None) or getattr(campaign, "slug", None),
    }
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {k for k, _ in query}
    query += [(k, v) for k, v in params.items() if v and k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))
