"""The marketer console's sign-in and overview."""

from __future__ import annotations

from purl.console.auth import create_user
from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from purl.extensions import db

from .conftest import csrf_token


def login(client, email: str, password: str):  # noqa: ANN001, ANN201
    page = client.get("/console/login").get_data(as_text=True)
    return client.post("/console/login", data={
        "csrf_token": csrf_token(page), "email": email, "password": password})


def test_console_requires_sign_in(client):
    for path in ("/console/", "/console/campaigns/winter-2026"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/console/login" in response.location


def test_wrong_password_and_unknown_user_get_the_same_answer(client, demo):
    wrong = login(client, DEMO_USER, "not the password")
    unknown = login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "E-Mail oder Passwort ist nicht korrekt."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_sign_in_shows_campaigns_with_their_funnel(client, demo):
    client.get(demo.path("Anna"))
    response = login(client, DEMO_USER, DEMO_PASSWORD)
    assert response.status_code == 303
    overview = client.get("/console/").get_data(as_text=True)
    assert "Winter 2026" in overview
    assert "frame-ancestors 'none'" in client.get("/console/").headers["Content-Security-Policy"]
    detail = client.get("/console/campaigns/winter-2026").get_data(as_text=True)
    assert demo.tokens["Anna"] in detail  # the marketer sees the links to hand out


def test_user_create_cli_accepts_long_unicode_passwords(runner, app):
    password = "Grüße aus München 🐕 " * 10
    result = runner.invoke(args=["user", "create", "Marketing@Shop.example", "--role", "admin"],
                           input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert login(client, "marketing@shop.example", password).status_code == 303
    assert login(app.test_client(), "marketing@shop.example", password[:-2]).status_code == 401


def test_user_create_refuses_short_passwords_and_duplicates(app):
    import pytest

    with app.app_context():
        with pytest.raises(ValueError, match="at least 10"):
            create_user(db.session, "a@b.example", "short")
        create_user(db.session, "a@b.example", "long enough password")
        with pytest.raises(ValueError, match="exists already"):
            create_user(db.session, "A@B.example", "another long password")
