"""Keep personal link tokens out of every log line.

A PURL token is a bearer credential: whoever has it sees the shopper's page. Access logs
(Werkzeug's in development, gunicorn's in production) would otherwise record it with each
request line, so both get this filter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from gunicorn.glogging import Logger as GunicornLogger

# /p/<token>... and /c/<typeable code>
_SECRET_PATH = re.compile(r"(/[pc]/)[^/\s?\"]+")


def redact(text: str) -> str:
    return _SECRET_PATH.sub(r"\1…", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):  # gunicorn's access log passes its atoms so
            record.args = {k: redact(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_redaction() -> None:
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn ``logger_class`` whose access log never shows a token."""

    def atoms(self, resp, req, environ, request_time):  # noqa: ANN001 - gunicorn's signature
        atoms = super().atoms(resp, req, environ, request_time)
        # The request line, path, Referer and raw environ all may carry a token.
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
