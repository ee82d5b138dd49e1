"""Site-wide behaviour: health, error pages, languages, prices, configuration."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, format_currency

from purl import create_app
from purl.config import load_config

ROOT = Path(__file__).resolve().parent.parent


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_when_the_database_is_unreachable(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Diese Seite haben wir nicht gefunden" in response.get_data(as_text=True)
    assert "text/html" in response.content_type


def test_a_crash_is_a_friendly_500_without_a_trace(app):
    @app.get("/boom")
    def boom():  # noqa: ANN202
        raise RuntimeError("secret internals")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Bei uns ist etwas schiefgelaufen" in html
    assert "secret internals" not in html and "Traceback" not in html


def test_prices_follow_the_locale(app):
    with app.test_request_context():
        with force_locale("de"):
            assert format_currency(Decimal("49.90"), "EUR").replace("\xa0", " ") == "49,90 €"
        with force_locale("en"):
            assert format_currency(Decimal("49.90"), "EUR") == "€49.90"


def test_every_ui_string_has_a_german_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    with (ROOT / "translations/de/LC_MESSAGES/messages.po").open("rb") as fh:
        german = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in read_po(fh) if m.id}
    missing = sorted(w for w in wanted if w not in german or not german[w].string
                     or german[w].fuzzy)
    assert missing == [], "untranslated (run `make translations`): " + "; ".join(missing)


def test_configuration_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/shop")
    monkeypatch.setenv("SECRET_KEYS", "newest, older")
    monkeypatch.setenv("PURL_BASE_URL", "https://go.shop.example/")
    monkeypatch.setenv("PORT", "8080")
    config = load_config(str(tmp_path))
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/shop"
    assert config["SECRET_KEYS"] == ["newest", "older"]
    assert config["SECRET_KEY"] == "newest" and config["SECRET_KEY_FALLBACKS"] == ["older"]
    assert config["PURL_BASE_URL"] == "https://go.shop.example"
    assert config["PORT"] == 8080
    assert config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "secret_keys").exists()


def test_embedded_defaults_generate_a_private_key_once(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "SECRET_KEYS", "PURL_BASE_URL", "PORT"):
        monkeypatch.delenv(name, raising=False)
    first = load_config(str(tmp_path))
    second = load_config(str(tmp_path))
    assert first["SECRET_KEYS"] == second["SECRET_KEYS"] and len(first["SECRET_KEY"]) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "secret_keys").st_mode) == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert first["PURL_BASE_URL"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize("path", ["/", "/q/zoohandlung", "/console/login"])
def test_every_page_has_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_create_app_reads_the_same_environment_as_the_cli(monkeypatch):
    monkeypatch.setenv("PURL_BASE_URL", "https://links.example")
    monkeypatch.setenv("SECRET_KEYS", "k1")
    app = create_app({"TESTING": True})
    assert app.config["PURL_BASE_URL"] == "https://links.example"


def test_counts_follow_the_locale(app):
    with app.test_request_context():
        number = app.jinja_env.filters["number"]
        with force_locale("de"):
            assert number(200000) == "200.000"
        with force_locale("en"):
            assert number(200000) == "200,000"


def test_a_connection_the_database_dropped_while_idle_is_replaced_unseen(make_app, database_url):
    """No ping on every request (a round trip each); a pooled connection idle for
    DATABASE_PING_IDLE_SECONDS is pinged when next taken, so a database that restarted (here:
    the connection killed on the server) costs no shopper an error."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to drop a connection")
    import time

    import psycopg
    from sqlalchemy import text

    from purl.extensions import db

    app = make_app(DATABASE_PING_IDLE_SECONDS=0.05)
    with app.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()  # back to the pool, as at the end of a request
    raw = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"
    with app.app_context():
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar() != pid
