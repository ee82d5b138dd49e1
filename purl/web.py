"""What every surface's pages share: full page or htmx fragment, leaving after a post, the
security headers, request limits, the health check and the friendly error pages.

A boosted request or a history restore needs the whole page, so those get it; anything that
varies by ``HX-Request`` says so in ``Vary`` so no cache mixes the two up.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import time
from collections.abc import Callable
from typing import IO, TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from flask import Request as FlaskRequest
from flask_babel import format_datetime, ngettext, npgettext, pgettext
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

from purl.extensions import db, htmx, limiter
from purl.ratelimits import retry_after_seconds

log = logging.getLogger(__name__)
bp = Blueprint("web", __name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)

V = TypeVar("V", bound=Callable)


# --- request limits ----------------------------------------------------------------------
# How much a request may send depends on where it goes and who sends it: only a signed-in
# marketer's post to an upload route may bring MAX_CONTENT_LENGTH (a recipient list), their
# other console forms MAX_FORM_CONTENT_LENGTH, everything else (sign-in, quiz steps,
# anonymous posts anywhere) MAX_REQUEST_CONTENT_LENGTH. The route is matched before any
# before_request, so CSRFProtect's read of the form is already limited; Werkzeug applies the
# limit to Content-Length before reading and to a chunked body while it streams.

def accepts_upload(view: V) -> V:
    """Mark a view as an upload route: the only kind that may receive MAX_CONTENT_LENGTH."""
    view.accepts_upload = True  # type: ignore[attr-defined]
    return view


def accepts_bulk(view: V) -> V:
    """Mark an API view that takes many records in one JSON body (MAX_API_BULK_CONTENT_LENGTH,
    once the request's key is known)."""
    view.accepts_bulk = True  # type: ignore[attr-defined]
    return view


def body_kind() -> str:
    """``upload``, ``form``, ``bulk`` or ``small``: which body limit this request gets."""
    rule = request.url_rule
    # The API checks the key before it reads a body (purl.api.authenticate): a valid one
    # buys an upload or bulk route its larger limit, without one every call is small.
    if rule is not None and rule.endpoint.startswith("api.") and g.get("api_key") is not None:
        view = current_app.view_functions.get(rule.endpoint)
        if getattr(view, "accepts_upload", False):
            return "upload"
        return "bulk" if getattr(view, "accepts_bulk", False) else "small"
    # Flask-Login keeps the signed-in user's id here; the cookie is signed, so it is not
    # forgeable (a stale one only buys a larger limit, the view still checks the user).
    if rule is None or not session.get("_user_id"):
        return "small"
    view = current_app.view_functions.get(rule.endpoint)
    if getattr(view, "accepts_upload", False):
        return "upload"
    if rule.endpoint.startswith("console."):
        return "form"
    return "small"


_LIMITS = {"upload": "MAX_CONTENT_LENGTH", "form": "MAX_FORM_CONTENT_LENGTH",
           "bulk": "MAX_API_BULK_CONTENT_LENGTH", "small": "MAX_REQUEST_CONTENT_LENGTH"}


class _FormParser(FormDataParser):
    """Url-encoded forms as Werkzeug parses them, with two holes closed.

    A chunked body (no Content-Length) read whole stops quietly at the limit, so a form too
    large would be parsed cut short; read a piece at a time, reading past the limit is a 413.
    And ``max_form_parts`` counts url-encoded fields too, not only multipart ones.
    """

    def _parse_urlencoded(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                          options: dict[str, str]):  # noqa: ANN202
        pieces = []
        while piece := stream.read(64 * 1024):
            pieces.append(piece)
        data = b"".join(pieces)
        if self.max_form_parts is not None and data.count(b"&") >= self.max_form_parts:
            raise RequestEntityTooLarge()
        return super()._parse_urlencoded(io.BytesIO(data), mimetype, content_length, options)


def _no_nul(value):  # noqa: ANN001, ANN202
    return value.replace("\x00", "") if isinstance(value, str) else value


class _Params(ImmutableMultiDict):
    """Query and form values without NUL: PostgreSQL can neither store nor compare it in
    text, so a ``%00`` in a search or a form field would end in a 500 there."""

    def __init__(self, mapping=None) -> None:  # noqa: ANN001
        if mapping is not None and not isinstance(mapping, dict | MultiDict):
            mapping = [(_no_nul(k), _no_nul(v)) for k, v in mapping]
        super().__init__(mapping)


class LimitedRequest(FlaskRequest):
    """Flask's request with the body limits chosen per route (see :func:`body_kind`), and
    query and form values without NUL."""

    form_data_parser_class = _FormParser
    parameter_storage_class = _Params

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        return current_app.config[_LIMITS[body_kind()]]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    @property
    def max_form_memory_size(self) -> int | None:
        # A text field never holds more than the whole body may.
        limit = super().max_form_memory_size
        body = self.max_content_length
        return body if limit is None else limit if body is None else min(limit, body)

    @max_form_memory_size.setter
    def max_form_memory_size(self, value: int | None) -> None:
        self._max_form_memory_size = value


class BoundedInt(IntegerConverter):
    """``<int:…>`` that fits the database's INTEGER ids (32 bits on PostgreSQL).

    Without a bound ``/p/…/go/99999999999999999999`` reached the database and failed there
    (OverflowError on SQLite, "integer out of range" on PostgreSQL): a 500 instead of a 404.
    A larger number matches no route, so it is a 404 before any view runs.
    """

    bits = 32

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002, ANN001
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        top = 2 ** (self.bits - 1) - 1
        super().__init__(map, fixed_digits, min if min is not None else
                         (-top - 1 if signed else None), top if max is None else max, signed)

    def to_python(self, value: str) -> int:
        if len(value) > 20:  # longer than any 64-bit number: not worth converting
            raise ValidationError()
        return super().to_python(value)


class _NoControl:
    # No slug, token, code or file name holds a control character; PostgreSQL cannot even
    # compare a NUL, so such a URL part is no URL of ours (404) rather than a 500.
    def to_python(self, value: str) -> str:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValidationError()
        return value


class TextPart(_NoControl, UnicodeConverter):
    """``<name>`` and ``<string:name>`` without control characters."""


class PathPart(_NoControl, PathConverter):
    """``<path:name>`` without control characters."""


class BoundedBigInt(BoundedInt):
    """``<bigint:…>`` for the BIGINT ids (recipients, profiles, responses, events)."""

    bits = 64


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter, clamped to ``low..high``; anything unreadable is ``default``."""
    value = request.args.get(name, default, type=int)
    return min(max(default if value is None else value, low), high)


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


HSTS = "max-age=31536000; includeSubDomains"


def security_headers(response: Response) -> Response:
    """Every response: CSP without inline script, nosniff, no Referer; pages never cached;
    HSTS when the install is served over https (never on http: it would lock a dev box out)."""
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    if current_app.config["PURL_BASE_URL"].startswith("https://"):
        h.setdefault("Strict-Transport-Security", HSTS)
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
    # htmx swaps no error answer in (responseHandling in base.html): for it the message alone,
    # which static/js/app.js shows above the part of the page that asked.
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    return render_template(template, status=status, title=title, message=message), status


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
    if error.code == 403:
        # Werkzeug's default description is English and says nothing useful.
        default = error.description == type(error).description
        return _error_page(
            403,
            _("You may not do this"),
            _("Only an admin can open this page.") if default else error.description,
        )
    if error.code == 410:
        return _error_page(
            410,
            _("This link is no longer valid"),
            _("This personal link has expired or was withdrawn. "
              "You are welcome to visit the shop directly."),
        )
    if error.code == 413:
        return _too_large()
    if error.code == 429:
        return _too_many(error)
    return _error_page(error.code or 500, error.name, error.description or "")


def _too_large():  # noqa: ANN202
    # Nothing more is read from the body here: the request is answered as it stands.
    if body_kind() == "upload":
        limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
        return _error_page(
            413,
            _("This file is too large"),
            _("The console accepts files up to %(mb)d MB. Please split the list into smaller "
              "files and upload them one after the other; nobody gets a second link.", mb=limit),
        )
    return _error_page(
        413,
        _("This request is too large"),
        _("The page sent more than it may at once. Please go back, shorten what you entered "
          "and send it again. Nothing was changed."),
    )


def _too_many(error: HTTPException):  # noqa: ANN202
    current = limiter.current_limit
    seconds = retry_after_seconds(error, current.reset_at if current and current.breached
                                  else None)
    # The console addresses marketers formally ("Sie"); shopper pages use the shop's "du".
    formal = request.blueprint == "console"
    if seconds is None:
        message = (pgettext("formal", "Please wait a minute and try again.") if formal
                   else _("Please wait a minute and try again."))
    elif (minutes := max(1, math.ceil((seconds - 1) / 60))) <= 60:
        # Less the second a limit's reset is rounded up by: a full window reads "15 minutes".
        singular, plural = "Please try again in %(num)d minute.", \
            "Please try again in %(num)d minutes."
        message = (npgettext("formal", singular, plural, minutes) if formal
                   else ngettext(singular, plural, minutes))
    else:
        at = format_datetime(dt.datetime.fromtimestamp(time.time() + seconds, dt.UTC), "short")
        message = (pgettext("formal", "Please try again after %(time)s.", time=at) if formal
                   else _("Please try again after %(time)s.", time=at))
    # An htmx request gets the message alone, which static/js/app.js shows above the form.
    response = make_response(_error_page(429, _("Too many attempts"), message))
    response.vary.add("HX-Request")
    if seconds is not None:
        response.headers["Retry-After"] = str(seconds)
    return response


@bp.app_errorhandler(Exception)
def server_error(error: Exception):  # noqa: ANN201
    db.session.rollback()
    log.exception("unhandled error")
    return _error_page(
        500,
        _("Something went wrong on our side"),
        _("Nothing you entered was lost. Please try again in a moment."),
    )
