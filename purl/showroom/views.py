"""The personal showroom page and its first-party product click redirect."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, redirect, request

from .. import analytics, journey
from ..extensions import db
from ..models import Product
from ..pages import render_page
from ..quiz.logic import answer_chips, preferences
from .feeds import web_url
from .logic import Filters, cached_recommend, facet_labels, with_utm

log = logging.getLogger(__name__)
bp = Blueprint("showroom", __name__)


@bp.get("/p/<token>/showroom")
@bp.get("/q/<quiz_slug>/showroom")
def showroom(token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    if not trip.completed:
        return redirect(trip.url("quiz.start"), 303)
    prefs = preferences(trip.quiz, trip.answers, trip.locale)
    filters = Filters.from_query(request.args)
    return render_page(
        "showroom/showroom.html", "showroom/_products.html",
        journey=trip, room=cached_recommend(db.session, prefs, filters), filters=filters,
        labels=facet_labels(trip.quiz, trip.locale),
        chips=answer_chips(trip.quiz, trip.answers, trip.locale),
        blocks=getattr(prefs, "content_blocks", None) or [],
        message=trip.campaign.message if trip.campaign else None,
    )


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
    analytics.record(
        db.session, "product_click", recipient=trip.recipient, profile=trip.profile,
        product_id=product.id,
    )
    db.session.commit()
    return redirect(with_utm(target, trip.campaign), 302)
