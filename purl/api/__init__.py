"""The JSON API v1 under ``/api/v1``: a surface like the console, over the same engines.

Keys (``Authorization: Bearer``, purl.apikeys) are its only credentials: no cookie signs a
request in here, so there is nothing to forge across sites and no CSRF token to ask for.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
