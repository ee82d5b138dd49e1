"""A campaign's showroom as its marketer curates it: heading and introduction in every
language and tone, pinned products (first, when they fit the hard answers or always),
excluded products (never shown), and how many products a page shows.

Kept on the campaign (``Campaign.showroom``, JSON) with each product's SKU, for the form,
and its id, so the hot path asks no question to apply it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from purl.catalog.catalogs import id_of
from purl.models import Campaign, Product

log = logging.getLogger(__name__)

PER_PAGE = (12, 24, 48)
PIN_MODES = ("fit", "always")  # first when they fit the hard answers; first always
MAX_PRODUCTS = 50  # pinned, and again excluded


class CurationError(ValueError):
    """SKUs the campaign's catalog does not have (``unknown``), or too many of them."""

    def __init__(self, field: str, unknown: list[str], too_many: bool = False) -> None:
        super().__init__(f"{field}: {', '.join(unknown)}")
        self.field, self.unknown, self.too_many = field, unknown, too_many


@dataclass(frozen=True)
class Curation:
    """What the showroom's ranking applies: product ids, in the marketer's order."""

    pinned: tuple[int, ...] = ()
    pin_always: bool = False
    excluded: tuple[int, ...] = ()
    per_page: int = 24

    def key(self) -> tuple:
        return (self.pinned, self.pin_always, self.excluded, self.per_page)


NONE = Curation()


def curation_of(campaign: Campaign | None) -> Curation:
    """The campaign's curation as the ranking applies it (none: the plain showroom)."""
    settings = (campaign.showroom if campaign is not None else None) or {}
    if not settings:
        return NONE
    per_page = settings.get("per_page")
    return Curation(
        pinned=tuple(p["id"] for p in settings.get("pinned") or ()),
        pin_always=settings.get("pin_mode") == "always",
        excluded=tuple(p["id"] for p in settings.get("excluded") or ()),
        per_page=per_page if per_page in PER_PAGE else 24,
    )


def skus(text: str) -> list[str]:
    """SKUs as a marketer pastes them: one a line, or separated by commas; each once."""
    return list(dict.fromkeys(s.strip() for s in re.split(r"[\n,;]", text or "") if s.strip()))


def _products(session: Session, catalog: str, field: str, wanted: list[str]
              ) -> list[dict[str, Any]]:
    if len(wanted) > MAX_PRODUCTS:
        raise CurationError(field, wanted[MAX_PRODUCTS:], too_many=True)
    found = dict(session.execute(select(Product.sku, Product.id).where(
        Product.catalog_id == id_of(catalog), Product.sku.in_(wanted))).all()) if wanted else {}
    unknown = [sku for sku in wanted if sku not in found]
    if unknown:
        raise CurationError(field, unknown)
    return [{"sku": sku, "id": found[sku]} for sku in wanted]


def text_of(fields: Mapping[str, str]) -> dict[str, str] | None:
    """A text from its form fields, as the shopper pages localize texts: ``de`` (du),
    ``de:sie`` and ``en``, empty ones left out (a Sie text alone stands for du too); None
    when all are empty."""
    du, sie, en = ((fields.get(k) or "").strip() for k in ("de", "de:sie", "en"))
    text = {"de": du or sie, "de:sie": sie, "en": en}
    return {k: v for k, v in text.items() if v} or None


MAX_BLOCKS = 2


def block_of(title: Mapping[str, str], body: Mapping[str, str], question: str | None,
             values: Iterable[str]) -> dict[str, Any] | None:
    """A campaign content block as kept: its title and text (as ``text_of``), shown to every
    shopper or only to those whose answer to ``question`` is one of ``values``; None when it
    has no words."""
    title_text, body_text = text_of(title), text_of(body)
    if title_text is None and body_text is None:
        return None
    return {"title": title_text or {}, "body": body_text or {}, "question": question or "",
            "values": [v for v in values if v] if question else []}


def curate(session: Session, campaign: Campaign, catalog: str, *,
           heading: Mapping[str, str], intro: Mapping[str, str], pinned: Iterable[str],
           pin_mode: str, excluded: Iterable[str], per_page: int,
           blocks: Iterable[Mapping[str, Any]] = ()) -> None:
    """Store the campaign's showroom settings, every SKU checked against ``catalog`` (the
    campaign's quiz's); CurationError names the SKUs it does not have. Only flushes."""
    pinned, excluded = list(pinned), list(excluded)
    both = [sku for sku in pinned if sku in set(excluded)]
    if both:
        raise CurationError("both", both)
    settings: dict[str, Any] = {
        "pinned": _products(session, catalog, "pinned", pinned),
        "pin_mode": pin_mode if pin_mode in PIN_MODES else "fit",
        "excluded": _products(session, catalog, "excluded", excluded),
        "per_page": per_page if per_page in PER_PAGE else 24,
    }
    for name, fields in (("heading", heading), ("intro", intro)):
        text = text_of(fields)
        if text is not None:
            settings[name] = text
    kept = [dict(block) for block in blocks][:MAX_BLOCKS]
    if kept:
        settings["blocks"] = kept
    campaign.showroom = settings
    session.flush()
    log.info("campaign %s: showroom curated (%s pinned, %s excluded)", campaign.slug,
             len(settings["pinned"]), len(settings["excluded"]))
