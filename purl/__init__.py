"""purl: signed personal links, an onboarding quiz and a personal showroom for shops."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, request
from flask_babel import format_currency, format_decimal, get_locale

from .config import load_config
from .extensions import babel, csrf, db, htmx, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)


def create_app(config: dict | None = None) -> Flask:
    """Application factory: ``config`` overrides what the environment says (tests use it)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(load_config(app.instance_path, config))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    from .logs import install_redaction

    install_redaction()
    _init_extensions(app)
    _register_blueprints(app)
    _register_hooks(app)
    _register_cli(app)
    return app


def _select_locale() -> str:
    # A personal page speaks its campaign's language; otherwise the browser's, German first.
    chosen = getattr(g, "locale", None)
    if chosen:
        return chosen
    from flask import current_app

    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "de"


def _init_extensions(app: Flask) -> None:
    from . import jobs, models  # noqa: F401 - models registers the tables on db.metadata

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
        cur.close()


def _register_blueprints(app: Flask) -> None:
    from .console.views import bp as console_bp
    from .core import bp as core_bp
    from .links.views import bp as links_bp
    from .quiz.views import bp as quiz_bp
    from .showroom.views import bp as showroom_bp

    for bp in (core_bp, links_bp, quiz_bp, showroom_bp, console_bp):
        app.register_blueprint(bp)


def _register_hooks(app: Flask) -> None:
    from .quiz.definition import localize

    @app.template_filter("money")
    def money(value, currency: str = "EUR") -> str:  # noqa: ANN001
        return format_currency(value, currency)

    @app.template_filter("number")
    def number(value) -> str:  # noqa: ANN001
        # 40.000 in German, 40,000 in English: marketers read six-digit counts.
        return format_decimal(value or 0)

    @app.template_filter("localize")
    def localize_filter(text: dict) -> str:
        return localize(text, str(get_locale() or "de"))

    @app.context_processor
    def shop_context() -> dict:
        # A quiz that names its own shop (journey) overrides the install's name, and the
        # install's logo then stays away too.
        own = g.get("shop_name")
        return {"shop_name": own or app.config["SHOP_NAME"], "shop_logo": not own,
                "current_locale": str(get_locale() or "de")}

    @app.after_request
    def security_headers(response):  # noqa: ANN001, ANN202
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        if request.endpoint != "static":
            # Pages are personal (a shopper's name, a marketer's lists): never cache them.
            h["Cache-Control"] = "private, no-store"
        return response


def _register_cli(app: Flask) -> None:
    from .console.cli import user_cli
    from .demo.cli import demo_cli
    from .jobs_cli import jobs_cli
    from .links.cli import campaign_cli, purl_cli
    from .quiz.cli import quiz_cli
    from .showroom.cli import catalog_cli

    for group in (demo_cli, user_cli, quiz_cli, campaign_cli, purl_cli, catalog_cli):
        app.cli.add_command(group)
    app.cli.add_command(jobs_cli)
