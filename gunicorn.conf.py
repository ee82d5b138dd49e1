"""gunicorn settings for ``make run`` and production (``gunicorn -c gunicorn.conf.py wsgi:app``)."""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
accesslog = "-"
# Access log lines go through a logger that blanks personal link tokens.
logger_class = "purl.logs.RedactingGunicornLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
