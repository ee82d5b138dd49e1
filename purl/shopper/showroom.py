"""The personal showroom page and its first-party product click redirect."""

from __future__ import annotations

import logging

from flask import abort, make_response, redirect, render_template, request
from markupsafe import Markup

from purl.analytics import events
from purl.catalog.imports import web_url
from purl.catalog.recommend import (
    LRU,
    Filters,
    cached_recommend,
    showroom_key,
    with_utm,
)
from purl.extensions import db
from purl.models import Product
from purl.quiz.flow import answer_chips, facet_labels, preferences
from purl.shopper import bp, journey
from purl.web import wants_fragment

log = logging.getLogger(__name__)
_catalog_html = LRU(512)


@bp.get("/p/<token>/showroom")
@bp.get("/q/<quiz_slug>/showroom")
def showroom(token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    if not trip.completed:
        return redirect(trip.url("shopper.start"), 303)
    prefs = preferences(trip.quiz, trip.answers, trip.locale)
    filters = Filters.from_query(request.args)
    key = showroom_key(db.session, prefs, filters)
    # The catalog part holds no personal data (its links are relative to the shopper's own
    # showroom URL), so shoppers with the same answers share its rendered HTML.
    html_key = (key, trip.locale, trip.quiz.slug, trip.quiz.version)
    catalog = _catalog_html.get(html_key)
    if catalog is None:
        catalog = _catalog_html.put(html_key, Markup(render_template(
            "shopper/_products.html", room=cached_recommend(db.session, prefs, filters, key=key),
            labels=facet_labels(trip.quiz, trip.locale), first_question=trip.quiz.questions[0].id,
        )))
    if wants_fragment():
        response = make_response(catalog)
    else:
        response = make_response(render_template(
            "shopper/showroom.html", journey=trip, catalog=catalog,
            chips=answer_chips(trip.quiz, trip.answers, trip.locale),
            blocks=getattr(prefs, "content_blocks", None) or [],
            message=trip.campaign.message if trip.campaign else None,
        ))
    response.vary.add("HX-Request")
    return response


@bp.get("/p/<token>/go/<int:product_id>")
@bp.get("/q/<quiz_slug>/go/<int:product_id>")
def click(product_id: int, token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    """Count the click, then send the shopper to the product's own catalog URL, and only there.

    The target comes from the database row alone (never from the query string), and only an
    http(s) URL is followed, so neither a crafted link nor a bad catalog row opens a redirect.
    """
    trip = journey.load(token, quiz_slug)
    product = db.get_or_404(Product, product_id)
    target = web_url(product.url)
    if target is None:
        log.warning("product %s has no http(s) URL; click not redirected", product.id)
        abort(404)
    destination = with_utm(target, trip.campaign,
                           trip.recipient.channel if trip.recipient is not None else None)
    events.record(
        db.session, "product_click", recipient=trip.recipient, profile=trip.profile,
        product_id=product.id,
    )
    db.session.commit()
    return redirect(destination, 302)
