"""Finding 7, headers and cookies: HSTS and a ``__Host-`` session cookie when served over https.

Over plain http (a developer's machine) neither: HSTS would pin the browser to https for a year
and a ``__Host-`` cookie needs Secure, which a browser drops on http.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from purl.config import load_config
from tests.conftest import ADMIN, ADMIN_PASSWORD, csrf_token, login

HTTPS = "https://go.shop.example"
HSTS = "max-age=31536000; includeSubDomains"


def _session_cookie(response) -> tuple[str, dict]:  # noqa: ANN001
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            if "session" in name:
                return header, {"name": name, **{k: morsel[k] for k in morsel}}
    raise AssertionError("no session cookie set")


def test_https_sends_hsts_on_every_response(make_app, users):
    client = make_app(PURL_BASE_URL=HTTPS).test_client()
    for path, status in [("/healthz", 200), ("/console/login", 200), ("/nowhere", 404),
                         ("/static/css/app.css", 200), ("/console/", 302)]:
        response = client.get(path, base_url=HTTPS)
        assert response.status_code == status, path
        assert response.headers.get("Strict-Transport-Security") == HSTS, path


def test_http_never_sends_hsts(make_app, users):
    for base in ("http://localhost", "http://go.shop.example"):
        client = make_app(PURL_BASE_URL=base).test_client()
        for path in ("/healthz", "/console/login", "/nowhere"):
            assert "Strict-Transport-Security" not in client.get(path).headers, (base, path)


def test_https_names_the_session_cookie_host_only_and_sign_in_still_works(make_app, users):
    client = make_app(PURL_BASE_URL=HTTPS).test_client()
    page = client.get("/console/login", base_url=HTTPS)
    header, cookie = _session_cookie(page)
    assert cookie["name"] == "__Host-session"
    assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"], header
    assert "Domain=" not in header
    # Flask-WTF (the CSRF token lives in this session) and Flask-Login work with it; no
    # Referer is sent, as a browser sends none to a site that says no-referrer.
    response = client.post("/console/login", base_url=HTTPS, data={
        "csrf_token": csrf_token(page.get_data(as_text=True)), "email": ADMIN,
        "password": ADMIN_PASSWORD})
    assert response.status_code == 303
    assert _session_cookie(response)[1]["name"] == "__Host-session"
    campaigns = client.get("/console/", base_url=HTTPS)
    assert campaigns.status_code == 200
    response = client.post("/console/logout", base_url=HTTPS, data={
        "csrf_token": csrf_token(campaigns.get_data(as_text=True))})
    assert response.status_code == 303
    assert client.get("/console/", base_url=HTTPS).status_code == 302


def test_a_plain_http_install_keeps_the_plain_cookie_name(make_app, users, monkeypatch):
    client = make_app().test_client()  # http://localhost, as the tests and `make run` serve
    response = login(client, ADMIN, ADMIN_PASSWORD)
    assert response.status_code == 303
    header, cookie = _session_cookie(response)
    assert cookie["name"] == "session" and not cookie["secure"], header
    assert client.get("/console/").status_code == 200
    # From the environment as a deployment sets it.
    for base, name in [("http://127.0.0.1:5000", None), ("http://go.shop.example", None),
                       (HTTPS, "__Host-session")]:
        monkeypatch.setenv("PURL_BASE_URL", base)
        config = load_config("/tmp/purl-test-instance", {"SECRET_KEYS": ["k"]})
        assert config.get("SESSION_COOKIE_NAME") == name, base
