"""Shopper routes for a followed PURL: the personal landing page."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request

from .. import analytics, journey
from ..extensions import db
from . import logic as links

log = logging.getLogger(__name__)
bp = Blueprint("links", __name__)


@bp.get("/p/<token>")
def landing(token: str):  # noqa: ANN201
    trip = journey.from_token(token)
    # Link scanners in mail gateways send HEAD; only a real page view counts as a visit.
    if request.method == "GET":
        analytics.record(db.session, "visit", recipient=trip.recipient)
        db.session.commit()
    if trip.completed:
        # A returning shopper goes straight to their showroom.
        return redirect(trip.url("showroom.showroom"), 303)
    headline, message = links.landing_copy(trip.campaign, trip.recipient)
    return render_template("links/landing.html", journey=trip, headline=headline, message=message)
