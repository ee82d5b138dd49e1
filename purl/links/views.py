"""Shopper routes for a followed PURL: the personal landing page."""

from __future__ import annotations

import logging

from flask import Blueprint, make_response, redirect, render_template, request

from .. import analytics, journey
from ..extensions import db
from . import logic as links

log = logging.getLogger(__name__)
bp = Blueprint("links", __name__)


@bp.get("/p/<token>")
def landing(token: str):  # noqa: ANN201
    trip = journey.from_token(token)
    if trip.completed:
        # A returning shopper goes straight to their showroom.
        response = redirect(trip.url("showroom.showroom"), 303)
    else:
        headline, message = links.landing_copy(trip.campaign, trip.recipient)
        response = make_response(render_template(
            "links/landing.html", journey=trip, headline=headline, message=message))
    # Link scanners in mail gateways send HEAD; only a real page view counts as a visit.
    # Recorded after rendering: a commit expires the loaded rows, and reloading them would
    # double this hot page's queries.
    if request.method == "GET":
        analytics.record(db.session, "visit", recipient=trip.recipient)
        db.session.commit()
    return response
