"""purl: signed personal links, an onboarding quiz and a personal showroom for shops."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from babel import numbers
from flask import Flask, g, request
from flask_babel import format_decimal, get_locale
from werkzeug.middleware.proxy_fix import ProxyFix

from purl.config import load_config
from purl.extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

def create_app(config: dict | None = None) -> Flask:
    """Application factory: ``config`` overrides what the environment says (tests use it)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config(app.instance_path, config))
    _limit_requests(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        # Behind N proxies the client's address is the Nth from the right in X-Forwarded-For;
        # without this every client would share the proxy's per-IP limits.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    from purl.logs import install_redaction

    install_redaction()
    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)
    _register_cli(app)
    return app


def _limit_requests(app: Flask) -> None:
    from purl import web

    # Before any route is added: <int:…> and <bigint:…> are bounded to their columns' range
    # and text parts hold no control characters, so such a URL is a 404 and never reaches
    # the database; each request's body limit follows its route.
    app.url_map.converters["int"] = web.BoundedInt
    app.url_map.converters["bigint"] = web.BoundedBigInt
    for name, converter in (("default", web.TextPart), ("string", web.TextPart),
                            ("path", web.PathPart)):
        app.url_map.converters[name] = converter
    app.request_class = web.LimitedRequest


def _select_locale() -> str:
    # A personal page speaks its campaign's language; otherwise the browser's, German first.
    chosen = getattr(g, "locale", None)
    if chosen:
        return chosen
    from flask import current_app

    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "de"


def _init_extensions(app: Flask) -> None:
    from purl import jobs, models  # noqa: F401 - models registers the tables on db.metadata

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    jobs.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)
    else:
        _ping_idle_connections(app)


def _ping_idle_connections(app: Flask) -> None:
    """Ping a pooled connection before use only when it sat idle a while
    (``DATABASE_PING_IDLE_SECONDS``): a busy worker's connection is alive, and pinging it on
    every request (``pool_pre_ping``) cost a shopper's page two round trips. A dead one (the
    database restarted) is replaced before the request sees it."""
    import time

    from sqlalchemy import event, exc

    idle = float(app.config.get("DATABASE_PING_IDLE_SECONDS", 5))
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn, record) -> None:  # noqa: ANN001
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn, record, _proxy) -> None:  # noqa: ANN001
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()  # the ping's own transaction, not the request's
        except Exception as error:  # noqa: BLE001 - any failure: the pool connects anew
            log.warning("a pooled database connection was gone (%s); connecting anew", error)
            raise exc.DisconnectionError() from error


def _tune_sqlite(app: Flask) -> None:
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        # WAL lets the showroom read while a batch writes; foreign keys are off by default.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA page_size=8192")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        # Pages read through a memory map, not a read call each: an export's lookups of a
        # million recipients took a third less.
        cur.execute("PRAGMA mmap_size=4294967296")
        cur.close()


def _register_blueprints(app: Flask) -> None:
    from purl import api, web

    # The route modules hang their views on their surface's blueprint when imported.
    from purl.console import (  # noqa: F401
        apikeys,
        batches,
        campaigns,
        catalogs,
        funnel,
        links,
        offers,
        preview,
        quizzes,
        sharing,
        signin,
        trial,
        users,
        webhooks,
    )
    from purl.console import bp as console_bp
    from purl.shopper import bp as shopper_bp
    from purl.shopper import landing, quiz, showroom  # noqa: F401

    web.init_app(app)
    for bp in (shopper_bp, console_bp):
        app.register_blueprint(bp)
    # Last: it wraps the pages' error handlers to answer problem details under /api/.
    api.init_app(app)


@functools.lru_cache(maxsize=4096)
def _formatted_money(value: Any, currency: str, locale: str) -> str:
    """A price as the shopper's locale writes it; a showroom formats the same few prices
    over and over, and Babel's formatting is a tenth of its page."""
    return numbers.format_currency(value, currency, locale=locale)


def _register_hooks(app: Flask) -> None:
    from purl.quiz.schema import localize

    @app.template_filter("money")
    def money(value, currency: str = "EUR") -> str:  # noqa: ANN001
        return _formatted_money(value, currency, str(get_locale() or "de"))

    @app.template_filter("number")
    def number(value) -> str:  # noqa: ANN001
        # 40.000 in German, 40,000 in English: marketers read six-digit counts.
        return format_decimal(value or 0)

    @app.template_filter("localize")
    def localize_filter(text: dict) -> str:
        # A shopper journey sets its tone (du or Sie); everything else reads du/neutral.
        return localize(text, str(get_locale() or "de"), g.get("tone", "du"))

    @app.context_processor
    def shop_context() -> dict:
        # A quiz that names its own shop (journey) overrides the install's name, and the
        # install's logo then stays away too.
        own = g.get("shop_name")
        return {"shop_name": own or app.config["SHOP_NAME"], "shop_logo": not own,
                "current_locale": str(get_locale() or "de")}


def _register_cli(app: Flask) -> None:
    from purl.cli import register

    register(app)
