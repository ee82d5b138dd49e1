"""The personal showroom page and its first-party product click redirect."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template

from .. import analytics, journey
from ..extensions import db
from ..models import Product
from ..quiz.logic import answer_chips, preferences
from .logic import recommend, with_utm

log = logging.getLogger(__name__)
bp = Blueprint("showroom", __name__)


@bp.get("/p/<token>/showroom")
@bp.get("/q/<quiz_slug>/showroom")
def showroom(token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    trip = journey.load(token, quiz_slug)
    if not trip.completed:
        return redirect(trip.url("quiz.start"), 303)
    prefs = preferences(trip.quiz, trip.answers, trip.locale)
    return render_template(
        "showroom/showroom.html", journey=trip,
        picks=recommend(db.session, prefs),
        chips=answer_chips(trip.quiz, trip.answers, trip.locale),
    )


@bp.get("/p/<token>/go/<int:product_id>")
@bp.get("/q/<quiz_slug>/go/<int:product_id>")
def click(product_id: int, token: str | None = None, quiz_slug: str | None = None):  # noqa: ANN201
    """Count the click, then send the shopper to the product's own catalog URL, and only there."""
    trip = journey.load(token, quiz_slug)
    product = db.get_or_404(Product, product_id)
    analytics.record(
        db.session, "product_click", recipient=trip.recipient, profile=trip.profile,
        product_id=product.id,
    )
    db.session.commit()
    return redirect(with_utm(product.url, trip.campaign), 302)
