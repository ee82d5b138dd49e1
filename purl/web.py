"""What every surface's pages share: full page or htmx fragment, leaving after a post, the
security headers, the health check and the friendly error pages.

A boosted request or a history restore needs the whole page, so those get it; anything that
varies by ``HX-Request`` says so in ``Vary`` so no cache mixes the two up.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from purl.extensions import db, htmx, limiter
from purl.ratelimits import retry_after_seconds

log = logging.getLogger(__name__)
bp = Blueprint("web", __name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)

def wants_fragment() -> bool:
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render_page(page: str, fragment: str, status: int = 200, **context) -> Response:  # noqa: ANN003
    as_fragment = wants_fragment()
    template = fragment if as_fragment else page
    response = make_response(render_template(template, as_fragment=as_fragment, **context), status)
    response.vary.add("HX-Request")
    if as_fragment and status >= 400:
        # A form shown again with its errors is not a new place in the history.
        response.headers["HX-Push-Url"] = "false"
    return response


def leave_to(url: str) -> Response:
    """Send the browser to another full page after a form post.

    A plain post gets a 303. An htmx request would follow a 303 inside its XHR and swap a
    whole page into the fragment's place, so it is told to navigate instead.
    """
    if wants_fragment():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def security_headers(response: Response) -> Response:
    """Every response: CSP without inline script, nosniff, no Referer; pages never cached."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    if request.endpoint != "static" and response.cache_control.max_age is None:
        # Pages are personal (a shopper's name, a marketer's lists): never cache them. A view
        # that gave its response a lifetime (a QR image never changes) decided otherwise.
        h["Cache-Control"] = "private, no-store"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(security_headers)

@bp.get("/healthz")
def healthz():  # noqa: ANN201
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready", whatever the driver raised
        log.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")


def _error_page(status: int, title: str, message: str):  # noqa: ANN202
    return render_template("errors/error.html", status=status, title=title, message=message), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error: CSRFError):  # noqa: ANN201
    db.session.rollback()
    return _error_page(
        400,
        _("This form has expired"),
        _("Please go back, reload the page and send the form again. Nothing was changed."),
    )


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):  # noqa: ANN201
    db.session.rollback()
    if error.code == 404:
        return _error_page(
            404,
            _("We could not find this page"),
            _("Please check the address. If you typed it from a letter, "
              "compare it character by character."),
        )
    if error.code == 410:
        return _error_page(
            410,
            _("This link is no longer valid"),
            _("This personal link has expired or was withdrawn. "
              "You are welcome to visit the shop directly."),
        )
    if error.code == 413:
        limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        return _error_page(
            413,
            _("This file is too large"),
            _("The console accepts files up to %(mb)d MB. Please split the list into smaller "
              "files and upload them one after the other; nobody gets a second link.", mb=limit),
        )
    if error.code == 429:
        current = limiter.current_limit
        seconds = retry_after_seconds(error, current.reset_at if current and current.breached
                                      else None)
        if seconds is None:
            message = _("Please wait a minute and try again.")
        elif (minutes := max(1, math.ceil((seconds - 1) / 60))) <= 60:
            # Less the second a limit's reset is rounded up by: a full window reads "15 minutes".
            message = ngettext("Please try again in %(num)d minute.",
                               "Please try again in %(num)d minutes.", minutes)
        else:
            at = dt.datetime.fromtimestamp(time.time() + seconds, dt.UTC)
            message = _("Please try again after %(time)s.", time=format_datetime(at, "short"))
        if wants_fragment():
            # htmx swaps no 4xx: static/js/app.js shows this message above the form instead.
            response = make_response(render_template(
                "errors/_too_many.html", message=message), 429)
            response.vary.add("HX-Request")
        else:
            response = make_response(_error_page(429, _("Too many attempts"), message))
        if seconds is not None:
            response.headers["Retry-After"] = str(seconds)
        return response
    return _error_page(error.code or 500, error.name, error.description or "")


@bp.app_errorhandler(Exception)
def server_error(error: Exception):  # noqa: ANN201
    db.session.rollback()
    log.exception("unhandled error")
    return _error_page(
        500,
        _("Something went wrong on our side"),
        _("Nothing you entered was lost. Please try again in a moment."),
    )
