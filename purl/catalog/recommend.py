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
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import ColumnElement, and_, bindparam, distinct, func, or_, select, true
from sqlalchemy.orm import Session

from purl.catalog.catalogs import DEFAULT, id_of
from purl.catalog.criteria import Alternative, Constraint, Preferences, values
from purl.models import Product, ProductTag

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
        return cls(
            category=known(one("category"), terms and terms.categories),
            product_type=known(one("type"), terms and terms.product_types),
            price_min=low, price_max=high,
            tags=tuple(sorted(wanted))[:MAX_TAGS],
            sort=sort if sort in SORTS else "match",
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
        return args

    @property
    def active(self) -> bool:
        return bool(self.query(sort="match"))


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
    return _terms.put((catalog, version), CatalogTerms(
        categories=frozenset(c for c, _t in kinds),
        product_types=frozenset(t for _c, t in kinds),
        tags=frozenset(session.scalars(select(distinct(ProductTag.tag)).join(
            Product, Product.id == ProductTag.product_id).where(available))),
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


def _candidates(
    session: Session, catalog: str, constraints: list[Constraint],
    with_attributes: bool = False,
) -> tuple[list[_Row], dict[int, dict]]:
    """The catalog's available products meeting every constraint: one indexed Core query,
    plus tags, plus (when a constraint or reason needs them) the attributes, by product id."""
    active = [c for c in constraints if c.active]
    query = select(*_COLUMNS).where(Product.catalog_id == id_of(catalog),
                                    Product.available.is_(True))
    for constraint in active:
        query = query.where(or_(*(_alternative_sql(a) for a in constraint.alternatives)))
    needs_attributes = with_attributes or any(c.uses_attributes for c in active)
    if needs_attributes:
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
    if not needs_attributes:
        return found, {}
    attributes = {r.id: (r[width] or {}) for r in rows}
    # SQL has tested everything else; only the constraints on attributes are left to test.
    in_python = [c for c in active if c.uses_attributes]
    if in_python:
        found = [r for r in found if all(c.holds(r, attributes[r.id]) for c in in_python)]
    return found, {r.id: attributes[r.id] for r in found}


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
    session: Session, catalog: str, prefs: Preferences
) -> tuple[list[_Row], dict[int, dict], tuple[str, ...]]:
    """The products the answers allow, relaxing the weakest constraints while too few match;
    with the attributes the reasons need and the labels of the answers that gave way."""
    constraints = list(prefs.constraints)
    attributes_needed = any(c.uses_attributes for c in prefs.criteria)
    rows, attributes = _candidates(session, catalog, constraints, attributes_needed)
    relaxed: list[str] = []
    for step in _relax_steps(constraints):
        if len(rows) >= MIN_PICKS:
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
                rows, attributes = _candidates(session, catalog, constraints, attributes_needed)
                if len(rows) >= MIN_PICKS:
                    break
            if len(rows) >= MIN_PICKS:
                continue
        constraints[step.index] = _loosen(original, step.fields)
        rows, attributes = _candidates(session, catalog, constraints, attributes_needed)
    return rows, attributes, tuple(relaxed)


def _by_price(row: _Row, direction: int = 1) -> tuple[bool, Decimal, str]:
    """Sort key by price (``direction`` -1: dearest first); products without a price come
    after every priced one, by sku, whichever way."""
    return (row.price is None, direction * (row.price or Decimal(0)), row.sku)


def _diverse(scored: list[tuple[float, _Row]], limit: int) -> list[tuple[float, _Row]]:
    """Best first, but each further product of the same type counts a little less."""
    by_type: dict[str, list[tuple[float, _Row]]] = defaultdict(list)
    for item in scored:  # already in best-first order
        by_type[item[1].product_type].append(item)
    taken: Counter[str] = Counter()
    heads = {t: 0 for t in by_type}
    result = []
    while len(result) < limit and heads:
        best_type = min(heads, key=lambda t: (
            -(by_type[t][heads[t]][0] - DIVERSITY * taken[t]),
            _by_price(by_type[t][heads[t]][1]),
        ))
        result.append(by_type[best_type][heads[best_type]])
        taken[best_type] += 1
        heads[best_type] += 1
        if heads[best_type] == len(by_type[best_type]):
            del heads[best_type]
    return result


def recommend_showroom(
    session: Session, prefs: Preferences, filters: Filters | None = None, limit: int = 24,
    catalog: str = DEFAULT,
) -> Showroom:
    """The shopper's showroom for these answers and filters, from the named catalog (a plain
    function, no request)."""
    filters = filters or Filters()
    personal, attributes, relaxed = _personal_set(session, catalog, prefs)

    def keep(row: _Row, skip: str = "") -> bool:
        if skip != "category" and filters.category and row.category != filters.category:
            return False
        if skip != "type" and filters.product_type and row.product_type != filters.product_type:
            return False
        # The shopper's own price range wants a price: products without one stay out.
        if filters.price_min is not None and (row.price is None
                                              or row.price < filters.price_min):
            return False
        if filters.price_max is not None and (row.price is None
                                              or row.price > filters.price_max):
            return False
        return not (skip != "tags" and filters.tags and not set(filters.tags) <= row.tags)

    shown = [r for r in personal if keep(r)]
    # Facet counts: what each choice would give, with the shopper's other filters applied.
    categories = Counter(r.category for r in personal if keep(r, "category"))
    types = Counter(r.product_type for r in personal if keep(r, "type"))
    tag_counts = Counter(t for r in shown for t in r.tags)
    for tag in filters.tags:
        tag_counts.setdefault(tag, 0)

    def scored(row: _Row) -> float:
        return sum(w for tag, w in prefs.tag_weights.items() if tag in row.tags)

    ranked = sorted(((scored(r), r) for r in shown),
                    key=lambda item: (-item[0], *_by_price(item[1])))
    if filters.sort == "price-asc":
        ranked = sorted(ranked, key=lambda item: _by_price(item[1]))[:limit]
    elif filters.sort == "price-desc":
        ranked = sorted(ranked, key=lambda item: _by_price(item[1], -1))[:limit]
    else:
        ranked = _diverse(ranked, limit)

    picks = [
        Pick(**vars(r), score=score,
             reasons=tuple(dict.fromkeys(c.label for c in prefs.criteria
                                         if c.matches(r, attributes.get(r.id)))))
        for score, r in ranked
    ]
    prices = [r.price for r in personal if r.price is not None]
    return Showroom(
        picks=picks, total=len(shown), personal_total=len(personal), relaxed=relaxed,
        categories=_facets(categories, {filters.category} - {None}),
        product_types=_facets(types, {filters.product_type} - {None}),
        tags=_facets(tag_counts, set(filters.tags), limit=12),
        price_floor=min(prices) if prices else None,
        price_ceiling=max(prices) if prices else None,
        filters=filters,
    )


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


def catalog_version(session: Session, catalog: str = DEFAULT) -> Any:
    """Changes whenever a product of the catalog is added or changed (an index lookup, not a
    scan).

    Asked on every showroom request, so it goes straight to the connection (Core), skipping
    the ORM's per-query work.
    """
    return session.connection().scalar(_VERSION, {"catalog": catalog})


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
    version: Any = None, catalog: str = DEFAULT,
) -> tuple:
    """What a showroom depends on: the answers' meaning, the filters, the catalog and its
    version (pass ``version`` when it was just asked for).

    Holds no personal data, so anything derived from the key alone may be shared between
    shoppers who gave the same answers.
    """
    version = catalog_version(session, catalog) if version is None else version
    return (_prefs_key(prefs), filters or Filters(), limit, catalog, version)


def cached_recommend(
    session: Session, prefs: Preferences, filters: Filters | None = None, limit: int = 24,
    key: tuple | None = None, on_miss: Callable[[], None] | None = None,
    catalog: str = DEFAULT,
) -> Showroom:
    """:func:`recommend_showroom`, remembered per :func:`showroom_key`.

    Many shoppers give the same answers, and the catalog changes rarely, so each worker keeps
    a small LRU of finished showrooms. It is derived data only: a new catalog version (any
    import or edit bumps ``updated_at``) simply misses. ``on_miss`` is called before a
    showroom is computed (the expensive case; a caller may refuse it by raising).
    """
    key = key or showroom_key(session, prefs, filters, limit, catalog=catalog)
    hit = _showrooms.get(key)
    if hit is not None:
        return hit
    if on_miss is not None:
        on_miss()
    return _showrooms.put(key, recommend_showroom(session, prefs, filters, limit, catalog))


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
