"""The marketer console, one blueprint under ``/console``.

The routes live in the modules beside this one (sign-in, campaigns, links, funnel, batches,
users) and import ``bp`` from here; ``create_app`` imports them, so nothing here imports back.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
