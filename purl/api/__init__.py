"""The JSON API v1 under ``/api/v1``: a surface like the console, over the same engines.

Keys (``Authorization: Bearer``, purl.apikeys) are its only credentials: no cookie signs a
request in here, so there is nothing to forge across sites and no CSRF token to ask for.

spectree validates each request and response against the pydantic schemas of
``purl.api.schemas`` and builds the OpenAPI 3.1 document from the same schemas; it works on a
plain Flask blueprint, so the console and shopper pages stay as they are (APIFlask would
have made the whole app an APIFlask app).
"""

from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, Flask, current_app, g, request
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from werkzeug.exceptions import HTTPException

from purl import apikeys
from purl.api.problems import (
    ApiProblem,
    from_validation,
    http_problem,
    is_api_request,
    server_problem,
)
from purl.api.schemas import Problem
from purl.extensions import csrf, db, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
READS = ("GET", "HEAD", "OPTIONS")
# Served without a key: the document and its reference page describe the API, nothing more.
PUBLIC = ("api.openapi", "api.reference")


def _before(req: Any, resp: Any, error: Exception | None, instance: Any,
            adapter: Any) -> None:
    # A request spectree found invalid: 422 problem details naming each field.
    if error is not None:
        where = "query" if getattr(error, "title", "").endswith("Query") else "json"
        raise ApiProblem(422, errors=from_validation(adapter.validation_errors(error), where))


spec = SpecTree(
    "flask",
    title="purl API",
    version="1",
    description="Campaigns and their recipients' personal links. Every call needs an API key "
                "(console: API keys, or `flask apikey create`) as `Authorization: Bearer`.",
    # spectree leaves routes under its own path out of the document: keep it off /api/v1.
    path="_spectree",
    mode="strict",
    page_templates={},
    security_schemes=[SecurityScheme(name="bearer",
                                     data=SecuritySchemeData(type="http", scheme="bearer"))],
    security={"bearer": []},
    before=_before,
    validation_error_status=422,
    validation_error_model=Problem,
    # Schema names as the code says them (spectree adds a hash of the module by default).
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
)


def _rate_key() -> str:
    # Per key, not per address: a shop's tools often call from one cloud address. The hash
    # is the key's stored one, so the counter never holds a usable key.
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return "api-key:" + apikeys.digest(header[7:].strip())
    return "api-anon:" + (request.remote_addr or "")


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


@bp.before_request
def authenticate() -> None:
    """The key the request brings; none, an unknown or a revoked one is 401, and a
    read-only key writes nothing (403), whatever it names."""
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    key = apikeys.find_key(db.session, secret.strip()) if hmac.compare_digest(
        scheme.lower().encode(), b"bearer") else None
    if key is None:
        raise ApiProblem(401)
    g.api_key = key
    if apikeys.touch(key):
        db.session.commit()
    if request.method not in READS and key.read_only:
        raise ApiProblem(403, "This key is read-only.")
    takes_json = getattr(current_app.view_functions.get(request.endpoint), "takes_json", False)
    if takes_json:
        if request.mimetype != "application/json":
            raise ApiProblem(415)
        if request.get_json(silent=True) is None and request.get_data():
            raise ApiProblem(400)


@bp.after_request
def rate_limit_headers(response):  # noqa: ANN001, ANN201
    # The IETF RateLimit fields beside Flask-Limiter's X-RateLimit-*: the reset in seconds.
    current = limiter.current_limit
    if current is not None:
        response.headers["RateLimit-Limit"] = str(current.limit.amount)
        response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
        response.headers["RateLimit-Reset"] = str(max(0, int(current.reset_at - time.time())))
    return response


def takes_json(view):  # noqa: ANN001, ANN201
    """Mark a view whose body is JSON: anything else is 415, unreadable JSON 400."""
    view.takes_json = True
    return view


def current_key() -> apikeys.ApiKey:
    return g.api_key


def _api_or_page(page_handler):  # noqa: ANN001, ANN202
    def handle(error: HTTPException):  # noqa: ANN202
        return http_problem(error) if is_api_request() else page_handler(error)

    return handle


def _server_or_page(page_handler):  # noqa: ANN001, ANN202
    def handle(error: Exception):  # noqa: ANN202
        if isinstance(error, HTTPException):
            return _api_or_page(page_handler)(error)
        return server_problem(error) if is_api_request() else page_handler(error)

    return handle


def init_app(app: Flask) -> None:
    """Register the API; after the pages' error handlers, which it wraps for /api/ paths (a
    404 or 405 under /api/ matches no view, so a blueprint's own handler would never run)."""
    from purl import web
    from purl.api import (  # noqa: F401 - views on bp
        batches,
        campaigns,
        docs,
        events,
        funnel,
        recipients,
        responses,
        webhooks,
    )

    csrf.exempt(bp)
    limiter.limit(_rate_limit, key_func=_rate_key)(bp)
    app.register_blueprint(bp)
    spec.app = app
    app.register_error_handler(HTTPException, _api_or_page(web.http_error))
    app.register_error_handler(Exception, _server_or_page(web.server_error))
