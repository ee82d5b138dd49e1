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
    url_for,
)

from purl.analytics import events
from purl.campaigns.variants import landing_copy
from purl.extensions import db, limiter
from purl.links import codes, qr, tokens
from purl.links import recipients as links
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
    """A code typed from a printed letter: case, dashes, O/0 and I/L/1 do not matter.

    Only a redirect: one query, and the landing page then does the rest. Revoked and expired
    codes get the same 410 page their link would.
    """
    stored = codes.normalise(typed)
    found = stored and links.find_by_key(db.session, stored)
    if not found:
        abort(404)
    try:
        links.check_live(*found)
    except links.LinkGone:
        abort(410)
    token = tokens.sign(found[0].link_key, current_app.config["SECRET_KEYS"])
    return redirect(url_for("shopper.landing", token=token), 303)


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
