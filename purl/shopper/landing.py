"""The shop's front door and a followed PURL: the landing page, typed codes, QR images."""

from __future__ import annotations

import logging

from flask import (
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)
from sqlalchemy import select

from purl.analytics import events
from purl.campaigns.variants import landing_copy
from purl.extensions import db, limiter
from purl.links import codes, qr, tokens
from purl.links import recipients as links
from purl.models import Recipient
from purl.quiz.format import list_quizzes
from purl.shopper import bp, journey

log = logging.getLogger(__name__)

# Guessing codes means many misses: count only those (found codes never use up the limit).
CODE_MISS_LIMIT = "10 per minute; 50 per hour"


@bp.get("/")
def home():  # noqa: ANN201
    quizzes = [q for q in list_quizzes(current_app.config["QUIZ_FOLDER"]) if q.public]
    return render_template("shopper/home.html", quizzes=quizzes)


@bp.get("/p/<token>")
def landing(token: str):  # noqa: ANN201
    trip = journey.from_token(token)
    if trip.completed:
        # A returning shopper goes straight to their showroom.
        response = redirect(trip.url("shopper.showroom"), 303)
    else:
        headline, message = landing_copy(trip.campaign, trip.recipient.variant)
        response = make_response(render_template(
            "shopper/landing.html", journey=trip, headline=headline, message=message))
    # Link scanners in mail gateways send HEAD; only a real page view counts as a visit.
    # Recorded after rendering: a commit expires the loaded rows, and reloading them would
    # double this hot page's queries.
    if request.method == "GET":
        events.record(db.session, "visit", recipient=trip.recipient)
        db.session.commit()
    return response


@bp.get("/c/<typed>")
@limiter.limit(CODE_MISS_LIMIT, deduct_when=lambda response: response.status_code == 404)
def code(typed: str):  # noqa: ANN201
    """A code typed from a printed letter: case, dashes, O/0 and I/L/1 do not matter."""
    stored = codes.normalise(typed)
    recipient = stored and db.session.scalar(select(Recipient).where(Recipient.code == stored))
    if not recipient:
        abort(404)
    token = tokens.sign(recipient.link_key, current_app.config["SECRET_KEYS"])
    # Resolve as the link itself would, so revoked and expired codes get the same 410 page.
    trip = journey.from_token(token)
    return redirect(trip.url("shopper.landing"), 303)


@bp.get("/p/<token>/qr.<fmt>")
def qr_image(token: str, fmt: str):  # noqa: ANN201
    """The link's QR code at a stable address, for email tools that embed images by URL."""
    if fmt not in qr.FORMATS:
        abort(404)
    recipient = journey.recipient_or_abort(token)
    url = links.link_url(recipient, recipient.campaign, current_app.config["SECRET_KEYS"],
                         current_app.config["PURL_BASE_URL"])
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    return Response(qr.image(url, fmt), mimetype=mimetype)
