"""Every error under ``/api/`` in one shape: RFC 9457 problem details, naming the field."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from purl.api.schemas import FieldError, Problem
from purl.extensions import db, limiter
from purl.ratelimits import retry_after_seconds

log = logging.getLogger(__name__)
MIMETYPE = "application/problem+json"

_DETAILS = {
    400: "The request could not be read: the body is not valid JSON.",
    401: "Send a valid, unrevoked API key as `Authorization: Bearer <key>`.",
    403: "This key may not do this.",
    404: "There is nothing at this address that this key can see.",
    405: "This address does not answer this method.",
    413: "The request body is larger than the API accepts.",
    415: "Send the body as JSON (`Content-Type: application/json`).",
    422: "Some fields are not valid; see `errors`.",
    429: "Too many requests with this key; see `Retry-After`.",
    500: "Something went wrong on our side. Nothing was changed.",
}


class ApiProblem(HTTPException):
    """Raised by the API's views and checks; answered as problem details."""

    def __init__(self, status: int, detail: str | None = None,
                 errors: Iterable[FieldError] = (), headers: Mapping[str, str] | None = None):
        super().__init__(detail)
        self.code = status
        self.detail = detail
        self.errors = list(errors)
        self.extra_headers = dict(headers or {})


def field_error(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def from_validation(errors: list[dict[str, Any]], where: str) -> list[FieldError]:
    """pydantic's errors as fields: ``name``, ``query.limit``; a whole-body rule as ``body``."""
    result = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        path = ".".join(loc)
        if where != "json":
            path = f"{where}.{path}" if path else where
        result.append(field_error(path or "body", str(error.get("msg", "invalid"))))
    return result


def problem_response(status: int, detail: str | None = None,
                     errors: Iterable[FieldError] = (),
                     headers: Mapping[str, str] | None = None) -> Response:
    body = Problem(title=HTTP_STATUS_CODES.get(status, "Error"), status=status,
                   detail=detail or _DETAILS.get(status), instance=request.path,
                   errors=list(errors))
    response = current_app.response_class(body.model_dump_json(), status=status,
                                          mimetype=MIMETYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="purl"'
    return response


def is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def http_problem(error: HTTPException) -> Response:
    """Any HTTP error under /api/ (a view's ApiProblem, Werkzeug's 404/405/413, Flask-
    Limiter's 429) as problem details."""
    db.session.rollback()
    status = error.code or 500
    headers: dict[str, str] = {}
    if isinstance(error, ApiProblem):
        return problem_response(status, error.detail, error.errors, error.extra_headers)
    if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
        headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
    if status == 429:
        current = limiter.current_limit
        seconds = retry_after_seconds(error, current.reset_at if current and current.breached
                                      else None)
        if seconds is not None:
            headers["Retry-After"] = str(seconds)
    return problem_response(status, headers=headers)


def server_problem(error: Exception) -> Response:
    db.session.rollback()
    log.exception("unhandled error in the API")
    return problem_response(500)
