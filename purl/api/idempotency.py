"""``Idempotency-Key`` on the API's creating writes: the same key with the same request
answers what the first answered (a tool that retries after a timeout mints nothing new and
learns the links it missed); the same key with another request is a 422. Answers are kept a
day per API key (purl.apikeys); without the header a call is an ordinary call."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from sqlalchemy.exc import IntegrityError

from purl import apikeys
from purl.api import current_key
from purl.api.problems import ApiProblem, field_error
from purl.extensions import db

log = logging.getLogger(__name__)
HEADER = "Idempotency-Key"
FIELD = "header.Idempotency-Key"


def _key() -> str | None:
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > 255 or not key.isprintable():
        raise ApiProblem(422, errors=[field_error(FIELD, "1 to 255 printable characters, "
                                                         "such as a UUID")])
    return key


def _replay(stored: Any) -> Response:
    response = Response(stored.body, status=stored.status, mimetype="application/json")
    if stored.location:
        response.headers["Location"] = stored.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view: Callable) -> Callable:
    """Wrap a creating view (outside its validation, so the stored answer is the one sent)."""

    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        key = _key()
        if key is None:
            return view(*args, **kwargs)
        api_key = current_key()
        fingerprint = apikeys.fingerprint(request.method, request.full_path,
                                          request.get_data())
        stored = apikeys.remembered(db.session, api_key, key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                raise ApiProblem(422, errors=[field_error(
                    FIELD, "this key was sent with another request in the last 24 hours: "
                           "use a new key for a new request")])
            return _replay(stored)
        response = current_app.make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300:
            try:
                apikeys.remember(db.session, api_key, key, fingerprint, response.status_code,
                                 response.get_data(as_text=True),
                                 response.headers.get("Location"))
                db.session.commit()
            except IntegrityError:
                # The same key in two requests at once: the other stored first. The work is
                # safe to have run twice (a person is never minted twice), so answer it.
                db.session.rollback()
                log.info("idempotency key stored by a concurrent request of key %s",
                         api_key.id)
        return response

    return run
