"""The shop's front door and a followed PURL: the landing page, typed codes, QR images."""

from __future__ import annotations

import hashlib
import logging
import math
import time

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
from flask_limiter.util import get_remote_address
from limits import parse_many
from werkzeug.exceptions import TooManyRequests

from purl.analytics import events
from purl.campaigns.variants import landing_copy
from purl.extensions import db, limiter
from purl.links import codes, qr, tokens
from purl.links import recipients as links
from purl.quiz import versions
from purl.shopper import bp, journey

log = logging.getLogger(__name__)

# Guessing codes means many misses: count only those, per address. A found code is never
# refused, even from an address over the limit (an office, a mobile carrier): codes carry 60
# random bits, so the limit is there to stop the noise, and a guesser still has no chance.
CODE_MISS_LIMIT = "10 per minute; 50 per hour"
# A print shop's proof of a mailing loads many QR images at once; a browser caches each.
QR_LIMIT = "300 per minute; 5000 per hour"
# Part of every QR image's ETag: change it when the images' drawing changes.
QR_VERSION = "1"


@bp.get("/")
def home():  # noqa: ANN201
    listed = current_app.config["HOME_QUIZZES"]
    quizzes = []
    if listed:
        named = None if listed == "all" else {slug.strip() for slug in listed.split(",")}
        quizzes = [q for q in versions.published_quizzes(db.session)
                   if q.public and (named is None or q.slug in named)]
    return render_template("shopper/home.html", quizzes=quizzes,
                           console_link=current_app.config["HOME_CONSOLE_LINK"])


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
        events.record(db.session, "visit", recipient=trip.recipient, offer=trip.offer_code)
        db.session.commit()
    return response


def _count_code_miss() -> None:
    """Count one miss of this address; past the limit, answer 429 instead of 404."""
    strategy, address = limiter.limiter, get_remote_address()
    for item in parse_many(CODE_MISS_LIMIT):
        if not strategy.hit(item, "code-miss", address):
            reset_at = strategy.get_window_stats(item, "code-miss", address).reset_time
            raise TooManyRequests(retry_after=max(1, math.ceil(reset_at - time.time())))


@bp.get("/c/<typed>")
def code(typed: str):  # noqa: ANN201
    """A code typed from a printed letter: case, dashes, O/0 and I/L/1 do not matter.

    Only a redirect: one query, and the landing page then does the rest. Revoked and expired
    codes get the same 410 page their link would.
    """
    stored = codes.normalise(typed)
    found = stored and links.find_by_key(db.session, stored)
    if not found:
        _count_code_miss()
        abort(404)
    try:
        links.check_live(*found)
    except links.LinkGone:
        abort(410)
    token = tokens.sign(found[0].link_key, current_app.config["SECRET_KEYS"])
    return redirect(url_for("shopper.landing", token=token), 303)


@bp.get("/p/<token>/qr.<fmt>")
@limiter.limit(QR_LIMIT)
def qr_image(token: str, fmt: str):  # noqa: ANN201
    """The link's QR code at a stable address, for email tools that embed images by URL.

    The image of a token never changes, so browsers and mail proxies may keep it for a year,
    and one that asks again with its ETag gets 304 without the image being drawn.
    """
    if fmt not in qr.FORMATS:
        abort(404)
    recipient = journey.recipient_or_abort(token)
    url = links.link_url(recipient, recipient.campaign, current_app.config["SECRET_KEYS"],
                         current_app.config["PURL_BASE_URL"])
    etag = hashlib.sha256(f"{QR_VERSION}\n{fmt}\n{url}".encode()).hexdigest()[:32]
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
        response = Response(qr.image(url, fmt), mimetype=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return response
