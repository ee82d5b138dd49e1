"""The shopper's pages, one blueprint: the front door, a followed link's landing page, a code
typed from a letter, QR images, the quiz one question at a time, the showroom and its click
redirect, and a visitor's optional link request.

The routes live in the modules beside this one and import ``bp`` from here; ``create_app``
imports them, so nothing here imports back.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shopper", __name__)


@bp.context_processor
def _tone() -> dict:
    from purl.shopper.tone import template_context

    return template_context()
