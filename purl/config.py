"""Settings from the environment, with safe embedded defaults.

Everything a deployment changes comes from environment variables (see README); without them
the app runs as the embedded demo: SQLite under ``instance/`` and a signing key generated once
and kept in ``instance/secret_keys`` (never committed), so no two installs share a key.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from purl.ratelimits import storage_uri

log = logging.getLogger(__name__)


def _secret_keys(instance_path: Path) -> list[str]:
    """Signing keys, newest first. ``SECRET_KEYS`` wins; else a per-install key file."""
    raw = os.environ.get("SECRET_KEYS", "")
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    if keys:
        return keys
    key_file = instance_path / "secret_keys"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Create with 0600 so the key is never world-readable, even for a moment.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
        log.info("generated a new signing key in %s", key_file)
    return [k.strip() for k in key_file.read_text().split(",") if k.strip()]


def _seconds_list(value: str) -> tuple[float, ...]:
    """A comma-separated list of seconds, such as PURL_WEBHOOK_RETRY_SECONDS."""
    return tuple(float(part) for part in value.split(",") if part.strip())


def _is_development(base_url: str) -> bool:
    host = urlsplit(base_url).hostname or ""
    return base_url.startswith("http://") and (
        host in ("localhost", "127.0.0.1", "::1") or host.endswith(".localhost")
    )


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Build the Flask config mapping from the environment (``overrides`` win)."""
    overrides = overrides or {}
    instance = Path(instance_path)
    root = Path(__file__).resolve().parent.parent
    port = int(os.environ.get("PORT", "5000"))
    keys = list(overrides.get("SECRET_KEYS") or _secret_keys(instance))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'purl.sqlite3'}"
    if database_url.startswith("postgres://"):
        # Heroku-style URLs name the old driver; psycopg 3 is the one installed.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    redis_url = os.environ.get("REDIS_URL")
    base_url = os.environ.get("PURL_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")
    idle_minutes = int(os.environ.get("PURL_CONSOLE_IDLE_MINUTES", "30"))
    session_hours = int(os.environ.get("PURL_CONSOLE_SESSION_HOURS", "12"))
    config = {
        "SECRET_KEY": keys[0],
        # Flask 3.1 verifies sessions signed with older keys too, as SECRET_KEYS promises.
        "SECRET_KEY_FALLBACKS": keys[1:],
        "SECRET_KEYS": keys,
        "SQLALCHEMY_DATABASE_URI": database_url,
        # No ping before every request (a round trip each, and on PostgreSQL a transaction
        # too): a connection idle for this long is pinged when it is next taken (see
        # purl._ping_idle_connections), so a database restart costs no request an error.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "DATABASE_PING_IDLE_SECONDS": float(os.environ.get("PURL_DATABASE_PING_IDLE_SECONDS",
                                                           "5")),
        "PURL_BASE_URL": base_url,
        "PORT": port,
        "SHOP_NAME": os.environ.get("PURL_SHOP_NAME", "Zoohandlung"),
        # What "/" offers: no list of quizzes (one install may hold several shops), "all"
        # public quizzes, or the quizzes named (comma-separated slugs); a link to the console
        # only when asked for. `make run` (the demo) asks for both.
        "HOME_QUIZZES": os.environ.get("PURL_HOME_QUIZZES", "").strip(),
        "HOME_CONSOLE_LINK": os.environ.get("PURL_HOME_CONSOLE_LINK", "0") == "1",
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
        "LANGUAGES": ["de", "en"],
        "BABEL_TRANSLATION_DIRECTORIES": str(root / "translations"),
        # Quiz files: what `quiz check` and `quiz import` read by default, what the migration
        # to stored versions (0012) and `demo load` import. Shoppers get the stored versions.
        "QUIZ_FOLDER": os.environ.get("PURL_QUIZ_DIR") or str(root / "quizzes"),
        # Shared by every worker: Redis when set, else a SQLite file on this machine (never
        # each worker's memory, which would multiply every limit by the number of workers).
        "RATELIMIT_STORAGE_URI": redis_url or storage_uri(
            os.environ.get("PURL_LIMITS_SQLITE_PATH") or instance / "limits.sqlite3"),
        # How many reverse proxies stand in front (their X-Forwarded-For/-Proto/-Host are
        # believed, so each client gets its own per-IP limits); 0 when clients connect directly.
        "TRUSTED_PROXIES": int(os.environ.get("PURL_TRUSTED_PROXIES", "0")),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Showrooms a client may have computed afresh (a filter combination no worker has
        # cached yet); cached ones are never counted.
        "SHOWROOM_MISS_LIMIT": os.environ.get("PURL_SHOWROOM_MISS_LIMIT", "30 per minute"),
        # Each worker keeps finished showrooms per answers and filters; 0 computes every one
        # afresh (the database counts and ranks, so it stays fast: bench/showroom.py).
        "SHOWROOM_CACHE": os.environ.get("PURL_SHOWROOM_CACHE", "1") != "0",
        # How long a worker trusts the catalog version it last asked for (the showroom cache's
        # key): an import shows within this many seconds; 0 asks on every request.
        "CATALOG_VERSION_SECONDS": float(os.environ.get("PURL_CATALOG_VERSION_SECONDS", "1")),
        # Calls one API key may make (Flask-Limiter's notation), counted in the shared storage.
        "API_RATE_LIMIT": os.environ.get("PURL_API_RATE_LIMIT", "600 per minute"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A console session ends after this long without a request, and in any case after
        # the absolute lifetime (the cookie itself expires then too).
        "CONSOLE_IDLE_TIMEOUT": dt.timedelta(minutes=idle_minutes),
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=session_hours),
        "WTF_CSRF_TIME_LIMIT": None,
        # Flask-WTF's extra check on https wants a Referer of this site, but every page says
        # Referrer-Policy: no-referrer, so a browser sends none and every form would fail.
        # The token (and the SameSite, __Host- session cookie) is the protection.
        "WTF_CSRF_SSL_STRICT": False,
        # The largest request, so the largest recipient list the console accepts: 500,000 rows
        # of a wide CRM export. Werkzeug spools uploads to disk. Only a signed-in marketer's
        # post to an upload route may be this large (purl.web.body_kind) ...
        "MAX_CONTENT_LENGTH": int(os.environ.get("PURL_MAX_UPLOAD_MB", "200")) * 1024 * 1024,
        # ... their other console forms this large (the builders' forms are big) ...
        "MAX_FORM_CONTENT_LENGTH": int(os.environ.get("PURL_MAX_FORM_KB", "1024")) * 1024,
        # ... an API call with many records (10,000 people of a bulk call) this large ...
        "MAX_API_BULK_CONTENT_LENGTH": int(os.environ.get("PURL_MAX_API_BULK_MB", "16"))
        * 1024 * 1024,
        # ... and everything else this: sign-in, quiz steps, shopper pages, anonymous posts.
        "MAX_REQUEST_CONTENT_LENGTH": int(os.environ.get("PURL_MAX_REQUEST_KB", "64")) * 1024,
        # No text field of a multipart form beyond this (files go to disk), and no form with
        # more fields than this, url-encoded too.
        "MAX_FORM_MEMORY_SIZE": int(os.environ.get("PURL_MAX_FORM_KB", "1024")) * 1024,
        "MAX_FORM_PARTS": int(os.environ.get("PURL_MAX_FORM_PARTS", "1000")),
        # Where lists uploaded before they were stored in the database were kept (still read).
        "UPLOAD_FOLDER": str(instance / "uploads"),
        # Uploaded lists and their results (links, rejected rows, QR codes) are deleted this
        # many days after their batch finished (0: kept for ever); checked by every job
        # worker this often, and by ``flask purge``.
        "RETENTION_DAYS": int(os.environ.get("PURL_RETENTION_DAYS", "30")),
        # Events older than this many days are deleted by the same purge (0: kept for ever;
        # a campaign's own setting wins). The funnel's counters stay.
        "EVENT_RETENTION_DAYS": int(os.environ.get("PURL_EVENT_RETENTION_DAYS", "0")),
        "JOBS_PURGE_SECONDS": float(os.environ.get("PURL_JOBS_PURGE_SECONDS", "3600")),
        # Jobs (purl.jobs): the queue in Redis when REDIS_URL is set, else in this SQLite file.
        "REDIS_URL": redis_url,
        "JOBS_SQLITE_PATH": os.environ.get("PURL_JOBS_SQLITE_PATH")
        or str(instance / "jobs.sqlite3"),
        "JOBS_QUEUE_NAME": os.environ.get("PURL_JOBS_QUEUE_NAME", "purl"),
        "JOBS_WORKERS": int(os.environ.get("PURL_JOBS_WORKERS", "2")),
        # A running batch's lease (Batch.updated_at) is renewed this often; once older than
        # the lease, its worker is taken for dead and the batch is queued again (checked
        # this often, and when a worker starts).
        "JOBS_HEARTBEAT_SECONDS": float(os.environ.get("PURL_JOBS_HEARTBEAT_SECONDS", "10")),
        "JOBS_LEASE_SECONDS": float(os.environ.get("PURL_JOBS_LEASE_SECONDS", "60")),
        "JOBS_REQUEUE_SECONDS": float(os.environ.get("PURL_JOBS_REQUEUE_SECONDS", "20")),
        # The longest an idle worker waits before it looks at the SQLite queue again.
        "JOBS_POLL_SECONDS": float(os.environ.get("PURL_JOBS_POLL_SECONDS", "1")),
        # A batch job commits (and shows its progress) at least every this many rows.
        "JOBS_BATCH_COMMIT_ROWS": int(os.environ.get("PURL_JOBS_COMMIT_ROWS", "50000")),
        # Processes a batch job mints with; unset: every core, for big lists.
        "JOBS_BATCH_PROCESSES": (int(os.environ["PURL_JOBS_BATCH_PROCESSES"])
                                 if os.environ.get("PURL_JOBS_BATCH_PROCESSES") else None),
        # Webhooks (purl.webhooks): sent by the job workers, which look for due deliveries
        # this often; retried after these delays (Standard Webhooks' schedule), each attempt
        # given this long. Targets on loopback or private networks only when allowed.
        "WEBHOOK_POLL_SECONDS": float(os.environ.get("PURL_WEBHOOK_POLL_SECONDS", "1")),
        "WEBHOOK_RETRY_SECONDS": _seconds_list(os.environ.get(
            "PURL_WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,36000,36000")),
        "WEBHOOK_TIMEOUT_SECONDS": float(os.environ.get("PURL_WEBHOOK_TIMEOUT_SECONDS", "10")),
        "WEBHOOK_LEASE_SECONDS": float(os.environ.get("PURL_WEBHOOK_LEASE_SECONDS", "60")),
        "WEBHOOK_ALLOW_PRIVATE": os.environ.get("PURL_WEBHOOK_ALLOW_PRIVATE", "") in
        ("1", "true", "yes", "on"),
        # Sent or failed messages are deleted this many days after they were written.
        "WEBHOOK_RETENTION_DAYS": int(os.environ.get("PURL_WEBHOOK_RETENTION_DAYS", "30")),
    }
    config.update(overrides)
    # From the base URL as finally set (a test's override too), unless set outright.
    base_url = config["PURL_BASE_URL"]
    # Secure everywhere but on a developer's own machine (plain http on loopback).
    config.setdefault("SESSION_COOKIE_SECURE", not _is_development(base_url))
    if base_url.startswith("https://"):
        # __Host-: the browser keeps it only if Secure, for Path=/ and without Domain, so no
        # sibling subdomain or plain-http page can plant or overwrite the session.
        config.setdefault("SESSION_COOKIE_NAME", "__Host-session")
        config["SESSION_COOKIE_SECURE"] = True
        config["SESSION_COOKIE_PATH"] = "/"
        config["SESSION_COOKIE_DOMAIN"] = None
    return config
