"""The personal showroom page and its first-party product click redirect."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from flask import abort, current_app, make_response, redirect, render_template, request
from markupsafe import Markup

from purl.analytics import events
from purl.catalog import catalogs
from purl.catalog.criteria import ContentBlock, Preferences
from purl.catalog.curation import Curation, curation_of
from purl.catalog.imports import web_url
from purl.catalog.recommend import (
    LRU,
    CatalogTerms,
    Filters,
    Showroom,
    cached_recommend,
    catalog_terms,
    catalog_version,
    recommend_showroom,
    selection_key,
    showroom_key,
    with_utm,
)
from purl.extensions import db, limiter
from purl.links import tokens
from purl.models import Campaign, Product
from purl.quiz.flow import answer_chips, facet_labels, preferences
from purl.quiz.schema import Quiz, localize
from purl.shopper import bp, journey
from purl.web import wants_fragment

log = logging.getLogger(__name__)
_catalog_html = LRU(512)

# Product links carry a signature over what the showroom showed, with a salt of their own:
# a click counts only when it comes from a showroom of the same quiz and answers.
CLICK_SALT = "purl.click.v1"


def _miss_limit() -> str:
    return current_app.config["SHOWROOM_MISS_LIMIT"]


# A showroom not computed yet is real work: such misses are counted per client, and over the
# limit answered 429. A cached combination costs nothing and is never counted.
_misses = limiter.limit(_miss_limit, scope="showroom-miss")


def _count_miss() -> None:
    with _misses:
        pass


def _click_subject(quiz: Quiz, prefs: Preferences) -> Callable[[int], str]:
    """What a product link's signature covers: the quiz, what its answers select (not who
    gave them, since shoppers with the same answers share the rendered catalog) and the
    product (the function's argument)."""
    selection = f"{quiz.slug}:{selection_key(prefs)}:"  # once per page, not per product
    return lambda product_id: f"{selection}{product_id}"


def _click_signer(quiz: Quiz, prefs: Preferences) -> Callable[[int], str]:
    keys = current_app.config["SECRET_KEYS"]
    subject = _click_subject(quiz, prefs)

    def signature(product_id: int) -> str:
        return tokens.sign(subject(product_id), keys, CLICK_SALT).rsplit(".", 1)[1]

    return signature


def _showed(trip: journey.Journey, product_id: int, signature: str | None) -> bool:
    """Whether this journey's showroom showed the product: a finished quiz, and a signature
    over its answers' selection and this product."""
    if not trip.completed or not signature or len(signature) > 100:
        return False
    # What the answers select does not depend on the language or tone of their labels.
    subject = _click_subject(trip.quiz, preferences(trip.quiz, trip.answers,
                                                    trip.locale))(product_id)
    return tokens.unsign(f"{subject}.{signature}", current_app.config["SECRET_KEYS"],
                         CLICK_SALT) == subject


def showroom_text(campaign: Campaign | None, name: str, locale: str, tone: str) -> str | None:
    """The campaign's showroom ``heading`` or ``intro`` in the shopper's language and tone
    (the du text where there is no Sie one); None: the showroom's own words."""
    text = ((campaign.showroom if campaign is not None else None) or {}).get(name)
    return (localize(text, locale, tone) or None) if text else None


def showroom_blocks(campaign: Campaign | None, prefs: Preferences, answers: Mapping[str, Any],
                    locale: str, tone: str) -> list[ContentBlock]:
    """The content blocks a showroom shows: the campaign's own first (those for everyone, and
    those whose answer condition the shopper's answers meet), then the quiz's advice."""
    own = []
    for block in ((campaign.showroom if campaign is not None else None) or {}).get("blocks", ()):
        question = block.get("question")
        if question:
            given = answers.get(question)
            chosen = given if isinstance(given, list | tuple) else [given]
            if not set(map(str, chosen)) & set(block.get("values") or ()):
                continue
        title = localize(block.get("title") or {}, locale, tone) if block.get("title") else ""
        body = localize(block.get("body") or {}, locale, tone) if block.get("body") else ""
        if title or body:
            own.append(ContentBlock(question or "", title, body))
    return own + list(getattr(prefs, "content_blocks", None) or [])


def _computed(prefs: Preferences, filters: Filters, limit: int, catalog: str,
              curation: Curation, terms: CatalogTerms) -> Showroom:
    """A showroom computed afresh, with no cache (``PURL_SHOWROOM_CACHE=0``): still real
    work, so still counted against the client's limit."""
    _count_miss()
    return recommend_showroom(db.session, prefs, filters, limit, catalog, curation, terms)


@bp.get("/p/<token>/showroom")
@bp.get("/q/<quiz_slug>/showroom")
def showroom(token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    if not trip.completed:
        return redirect(trip.url("shopper.start"), 303)
    prefs = preferences(trip.quiz, trip.answers, trip.locale, trip.tone)
    catalog = trip.quiz.catalog
    version = catalog_version(db.session, catalog,
                              current_app.config["CATALOG_VERSION_SECONDS"])
    # Only what the catalog has, in one spelling: junk parameters share the plain page's key.
    terms = catalog_terms(db.session, version, catalog)
    filters = Filters.from_query(request.args, terms)
    curation = curation_of(trip.showroom_campaign)
    limit = curation.per_page
    cache = current_app.config["SHOWROOM_CACHE"]
    products = key = html_key = None
    if cache:
        key = showroom_key(db.session, prefs, filters, limit, version=version,
                           catalog=catalog, curation=curation)
        # The catalog part holds no personal data (its links are relative to the shopper's
        # own showroom URL, and signed over the quiz and answers alone), so shoppers with
        # the same answers share its rendered HTML.
        html_key = (key, trip.locale, trip.tone, trip.quiz.slug, trip.quiz.version)
        products = _catalog_html.get(html_key)
    if products is None:
        room = (cached_recommend(db.session, prefs, filters, limit, key=key,
                                 on_miss=_count_miss, catalog=catalog, curation=curation,
                                 terms=terms)
                if cache else _computed(prefs, filters, limit, catalog, curation, terms))
        products = Markup(render_template(
            "shopper/_products.html", room=room,
            labels=facet_labels(trip.quiz, trip.locale, trip.tone, terms.labels),
            first_question=trip.quiz.questions[0].id,
            click_signature=_click_signer(trip.quiz, prefs),
        ))
        if cache:
            _catalog_html.put(html_key, products)
    if wants_fragment():
        response = make_response(products)
    else:
        response = make_response(render_template(
            "shopper/showroom.html", journey=trip, catalog=products,
            chips=answer_chips(trip.quiz, trip.answers, trip.locale, trip.tone),
            blocks=showroom_blocks(trip.showroom_campaign, prefs, trip.answers, trip.locale,
                                   trip.tone),
            heading=showroom_text(trip.showroom_campaign, "heading", trip.locale, trip.tone),
            intro=showroom_text(trip.showroom_campaign, "intro", trip.locale, trip.tone),
        ))
    journey.done_reading()  # after rendering: a commit expires the rows the page reads
    response.vary.add("HX-Request")
    return response


@bp.get("/p/<token>/go/<int:product_id>")
@bp.get("/q/<quiz_slug>/go/<int:product_id>")
def click(product_id: int, token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    """Send the shopper to the product's own catalog URL, and only there; count the click
    when this journey's showroom showed the product.

    The target comes from the database row alone (never from the query string), and only a
    URL the catalog rule accepts is followed, so neither a crafted link nor a bad catalog row
    opens a redirect. A click without a valid signature (``?s=``) still goes to the product,
    since that reveals nothing the shop's own site does not, but counts nothing.
    """
    trip = journey.load(token, quiz_slug)
    product = db.get_or_404(Product, product_id)
    if not catalogs.holds(db.session, trip.quiz.catalog, product):
        abort(404)  # another shop's product is not this quiz's to link to
    target = web_url(product.url)
    if target is None:
        log.warning("product %s has no acceptable URL; click not redirected", product.id)
        abort(404)
    destination = with_utm(target, trip.campaign,
                           trip.recipient.channel if trip.recipient is not None else None)
    if _showed(trip, product.id, request.args.get("s")):
        events.record(
            db.session, "product_click", recipient=trip.recipient, profile=trip.profile,
            product_id=product.id, offer=trip.offer_code,
        )
        db.session.commit()
    else:
        log.info("click on product %s from no showroom that showed it: not counted", product.id)
    return redirect(destination, 302)
