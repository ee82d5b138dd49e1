"""Catalogs: an install holds several, one per shop, each named (``default`` first).

A quiz names the catalog it draws from (``catalog:`` in its file; none: the default one),
and a campaign draws from its quiz's. Queries scope by name through :func:`id_of`, a
subquery on the unique name, so the hot path asks no extra question for it.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import BindParameter, ScalarSelect, case, func, select
from sqlalchemy.orm import Session

from purl.models import Catalog, Product

log = logging.getLogger(__name__)

DEFAULT = "default"  # made by migration 0022; the products stored before it are its
NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class UnknownCatalog(LookupError):
    """A catalog name no catalog has; the message names the ones there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.known = known


def id_of(name: str | BindParameter[str]) -> ScalarSelect[int]:
    """The named catalog's id, as a subquery (NULL, so nothing matches, if there is none)."""
    return select(Catalog.id).where(Catalog.name == name).scalar_subquery()


def names(session: Session) -> list[str]:
    return list(session.scalars(select(Catalog.name).order_by(Catalog.id)))


def named(session: Session, name: str | None) -> Catalog:
    """The catalog of that name (None: the default one); UnknownCatalog if there is none."""
    name = name or DEFAULT
    catalog = session.scalar(select(Catalog).where(Catalog.name == name))
    if catalog is None:
        raise UnknownCatalog(name, names(session))
    return catalog


def holds(session: Session, name: str, product: Product) -> bool:
    """Whether the product is one of the named catalog's (a link names a product by id)."""
    return session.scalar(select(Catalog.id).where(Catalog.name == name)) == product.catalog_id


def ensure(session: Session, name: str, title: str | None = None) -> Catalog:
    """The catalog of that name, made if there is none yet (only flushes)."""
    catalog = session.scalar(select(Catalog).where(Catalog.name == name))
    if catalog is None:
        if not NAME.match(name):
            raise ValueError(f"a catalog name takes lower-case letters, digits and - only: "
                             f"{name!r}")
        catalog = Catalog(name=name, title=title or name)
        session.add(catalog)
        session.flush()
        log.info("catalog %s created", name)
    return catalog


def overview(session: Session) -> list[tuple[str, str, int, int]]:
    """Each catalog's name, title, available and total products, in the order made."""
    return [tuple(row) for row in session.execute(
        select(Catalog.name, Catalog.title,
               func.count(case((Product.available.is_(True), 1))), func.count(Product.id))
        .outerjoin(Product, Product.catalog_id == Catalog.id)
        .group_by(Catalog.id, Catalog.name, Catalog.title).order_by(Catalog.id))]
