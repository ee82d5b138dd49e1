"""The marketer console: sign-in and its protections, users, campaigns and links."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from purl.accounts import create_user
from purl.config import load_config
from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from purl.extensions import db
from purl.models import Campaign, Event, Recipient, User
from tests.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    HX,
    MARKETER,
    MARKETER_PASSWORD,
    csrf_token,
    login,
)


def post(client, path: str, data: dict | None = None, **kwargs):  # noqa: ANN001, ANN003, ANN201
    """Post a console form as the browser would, with the session's CSRF token."""
    page = client.get("/console/")
    if page.status_code != 200:
        page = client.get("/console/login")
    token = csrf_token(page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def _example_url(rule) -> str:  # noqa: ANN001
    values = {"slug": "winter-2026", "quiz_slug": "zoohandlung", "qid": "tier", "number": 1,
              "product_id": 1,
              "recipient_id": 1, "user_id": 1, "batch_id": 1,
              "team_id": 1, "member_id": 1, "key_id": 1, "endpoint_id": 1, "delivery_id": 1,
              "import_id": 1}
    # Any converter: <slug>, <int:batch_id>, <bigint:recipient_id>.
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def console_rules(app):  # noqa: ANN001, ANN201
    return [r for r in app.url_map.iter_rules()
            if r.rule.startswith("/console/") and r.endpoint != "console.login"]


def test_every_console_url_needs_a_session(app, client, demo):
    from purl.console.sessions import DOWNLOADS

    rules = console_rules(app)
    assert len(rules) >= 15
    token = csrf_token(client.get("/console/login").get_data(as_text=True))
    seen_download = False
    for rule in rules:
        url = _example_url(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data={"csrf_token": token})
            if rule.endpoint in DOWNLOADS:
                seen_download = True
                assert response.status_code == 401, (method, url)
                assert "Konsole" in response.get_data(as_text=True)
            else:
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.location.startswith("/console/login"), (method, url)
    assert seen_download
    with app.app_context():  # nothing was changed by the attempts
        assert db.session.scalar(select(Campaign.archived_at)) is None
        assert db.session.scalar(select(Campaign.revoked_at)) is None


def test_sign_in_returns_to_the_page_asked_for_but_never_elsewhere(client, demo):
    response = client.get("/console/campaigns/winter-2026/funnel")
    assert response.location == "/console/login?next=/console/campaigns/winter-2026/funnel"
    page = client.get(response.location).get_data(as_text=True)
    back = client.post(response.location, data={
        "csrf_token": csrf_token(page), "email": DEMO_USER, "password": DEMO_PASSWORD})
    assert back.status_code == 303 and back.location == "/console/campaigns/winter-2026/funnel"
    client.post("/console/logout", data={"csrf_token": csrf_token(
        client.get("/console/").get_data(as_text=True))})
    page = client.get("/console/login").get_data(as_text=True)
    away = client.post("/console/login?next=//evil.example/x", data={
        "csrf_token": csrf_token(page), "email": DEMO_USER, "password": DEMO_PASSWORD})
    assert away.location == "/console/"


def test_marketer_cannot_reach_admin_pages(app, client, users):
    admin_rules = [r for r in console_rules(app)
                   if getattr(app.view_functions[r.endpoint], "admin_only", False)]
    assert {r.endpoint for r in admin_rules} >= {
        "console.users", "console.add_user", "console.change_role", "console.change_active",
        "console.teams", "console.add_team", "console.add_team_member",
        "console.remove_team_member", "console.delete_team"}
    assert login(client, MARKETER, MARKETER_PASSWORD).status_code == 303
    assert "/console/users" not in client.get("/console/").get_data(as_text=True)
    for rule in admin_rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method == "GET":
                response = client.get(_example_url(rule))
            else:
                response = post(client, _example_url(rule),
                                {"role": "admin", "active": "0", "email": "x@y.example",
                                 "password": "long enough password"})
            assert response.status_code == 403, (method, rule.rule)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == MARKETER)).role == "marketer"
        assert db.session.scalar(select(User).where(User.email == "x@y.example")) is None


def test_admin_manages_users(app, client, users):
    login(client, ADMIN, ADMIN_PASSWORD)
    page = client.get("/console/users").get_data(as_text=True)
    assert MARKETER in page and "Benutzer" in page
    created = post(client, "/console/users", {
        "email": "Neu@Shop.example", "role": "marketer", "password": "ein langes Passwort"})
    assert created.status_code == 303
    again = post(client, "/console/users", {
        "email": "neu@shop.example", "role": "marketer", "password": "ein langes Passwort"})
    assert again.status_code == 422
    assert "Es gibt schon einen Benutzer mit dieser E-Mail-Adresse." in again.get_data(as_text=True)
    short = post(client, "/console/users", {"email": "b@shop.example", "role": "admin",
                                            "password": "kurz"})
    assert "Mindestens 10 Zeichen." in short.get_data(as_text=True)

    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.email == ADMIN))
        marketer_id = db.session.scalar(select(User.id).where(User.email == MARKETER))
    # The only admin cannot demote or deactivate themselves.
    post(client, f"/console/users/{admin_id}/role", {"role": "marketer"})
    post(client, f"/console/users/{admin_id}/active", {"active": "0"})
    with app.app_context():
        admin = db.session.get(User, admin_id)
        assert admin.role == "admin" and admin.active

    marketer = app.test_client()
    login(marketer, MARKETER, MARKETER_PASSWORD)
    assert marketer.get("/console/").status_code == 200
    assert post(client, f"/console/users/{marketer_id}/active", {"active": "0"}).status_code == 303
    # Deactivation ends the marketer's open session at once, and sign-in is refused.
    assert marketer.get("/console/").status_code == 302
    assert login(marketer, MARKETER, MARKETER_PASSWORD).status_code == 401
    post(client, f"/console/users/{marketer_id}/active", {"active": "1"})
    post(client, f"/console/users/{marketer_id}/role", {"role": "admin"})
    assert login(marketer, MARKETER, MARKETER_PASSWORD).status_code == 303
    assert marketer.get("/console/users").status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(client, demo):
    wrong = login(client, DEMO_USER, "not the password")
    unknown = login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "E-Mail oder Passwort ist nicht korrekt."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_ten_wrong_passwords_in_a_row_are_throttled(make_app, demo):
    app = make_app()
    client = app.test_client()
    for _ in range(10):
        assert login(client, DEMO_USER, "guessing wrong").status_code == 401
    throttled = login(client, DEMO_USER, DEMO_PASSWORD)
    assert throttled.status_code == 429
    assert "Zu viele Versuche" in throttled.get_data(as_text=True)
    # The lock is this account from this address: its owner elsewhere still signs in (#12)...
    owner = app.test_client()
    other_ip = {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}}
    assert login(owner, DEMO_USER, DEMO_PASSWORD, **other_ip).status_code == 303
    # ...and so do other accounts.
    elsewhere = app.test_client()
    with app.app_context():
        create_user(db.session, MARKETER, MARKETER_PASSWORD)
        db.session.commit()
    assert login(elsewhere, MARKETER, MARKETER_PASSWORD, **other_ip).status_code == 303


def test_sign_in_attempts_per_address_are_limited_too(client, users):
    statuses = [login(client, f"user{i}@shop.example", "wrong password").status_code
                for i in range(21)]
    assert statuses[:20] == [401] * 20 and statuses[20] == 429


def test_session_changes_at_sign_in(client, demo):
    client.get("/console/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = dict(session)
    login(client, DEMO_USER, DEMO_PASSWORD)
    client.get("/console/")  # renders a form, so a CSRF token is in the session again
    with client.session_transaction() as session:
        after = dict(session)
    assert "planted" not in after
    assert after["csrf_token"] != before["csrf_token"]
    assert after["_user_id"] and after["console_nonce"]


def test_a_copied_session_cookie_stops_working_after_sign_out(app, client, demo):
    login(client, DEMO_USER, DEMO_PASSWORD)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf_token(
        client.get("/console/").get_data(as_text=True))})
    assert client.get("/console/").status_code == 302
    response = copy.get("/console/")
    assert response.status_code == 302 and response.location.startswith("/console/login")


@pytest.mark.parametrize(("key", "age"), [("seen_at", 31 * 60), ("signed_in_at", 13 * 3600)],
                         ids=["idle", "absolute"])
def test_sessions_expire(client, demo, key, age):
    login(client, DEMO_USER, DEMO_PASSWORD)
    assert client.get("/console/").status_code == 200
    with client.session_transaction() as session:
        session[key] = int(time.time()) - age
    response = client.get("/console/")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Ihre Sitzung ist abgelaufen" in page


def test_session_cookie_flags(make_app, demo, monkeypatch):
    client = make_app().test_client()
    response = login(client, DEMO_USER, DEMO_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # the cookie ends with the absolute session lifetime
    for url, secure in [("http://127.0.0.1:5060", False), ("http://localhost", False),
                        ("https://go.shop.example", True), ("http://go.shop.example", True)]:
        monkeypatch.setenv("PURL_BASE_URL", url)
        assert load_config("/tmp/purl-test-instance", {"SECRET_KEYS": ["k"]})[
            "SESSION_COOKIE_SECURE"] is secure, url
    secure_client = make_app(SESSION_COOKIE_SECURE=True).test_client()
    page = secure_client.get("/console/login", base_url="https://localhost")
    assert "Secure" in page.headers["Set-Cookie"]


def test_user_create_cli_accepts_long_unicode_passwords(runner, app):
    password = "Grüße aus München 🐕 " * 10
    result = runner.invoke(args=["user", "create", "Marketing@Shop.example", "--role", "admin"],
                           input=f"{password}\n{password}\n")
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert login(client, "marketing@shop.example", password).status_code == 303
    assert login(app.test_client(), "marketing@shop.example", password[:-2]).status_code == 401


def test_user_create_refuses_short_passwords_and_duplicates(app):
    with app.app_context():
        with pytest.raises(ValueError, match="at least 10"):
            create_user(db.session, "a@b.example", "short")
        create_user(db.session, "a@b.example", "long enough password")
        with pytest.raises(ValueError, match="exists already"):
            create_user(db.session, "A@B.example", "another long password")


# --- Campaigns ------------------------------------------------------------------------------

CAMPAIGN = {
    "name": "Frühling 2027", "slug": "", "quiz_slug": "zoohandlung", "locale": "de",
    "tone": "sie", "headline": "Ihr Frühjahrsputz", "message": "Vier Fragen, Ihre Auswahl.",
    "starts_on": "2027-03-01", "ends_on": "2027-04-30", "expires_on": "2027-05-31",
    "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "fruehling-2027",
    "offer_code": "FRUEHLING10", "offer_text": "10 % auf alles",
}


def variants(*rows: tuple[str, str, str]) -> dict:
    data = {}
    for i in range(4):
        key, headline, message = rows[i] if i < len(rows) else ("", "", "")
        data |= {f"variants-{i}-key": key, f"variants-{i}-headline": headline,
                 f"variants-{i}-message": message}
    return data


def test_marketer_creates_edits_and_archives_a_campaign(app, client, users):
    login(client, MARKETER, MARKETER_PASSWORD)
    form = client.get("/console/campaigns/new").get_data(as_text=True)
    assert 'value="zoohandlung"' in form
    created = post(client, "/console/campaigns/new", CAMPAIGN | variants(
        ("a", "Ihr Frühjahrsputz", ""), ("b", "Frühling für Ihr Tier", "Jetzt entdecken")))
    assert created.status_code == 303
    assert created.location == "/console/campaigns/fruehling-2027"
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "fruehling-2027"))
        assert camp.tone == "sie" and camp.offer_code == "FRUEHLING10"
        assert camp.variants == [
            {"key": "a", "headline": "Ihr Frühjahrsputz", "message": ""},
            {"key": "b", "headline": "Frühling für Ihr Tier", "message": "Jetzt entdecken"}]
        assert str(camp.starts_on) == "2027-03-01"
        # Links work until the end of 31 May in Berlin (summer time: 22:00 UTC).
        assert camp.expires_at.strftime("%Y-%m-%d %H:%M") == "2027-05-31 22:00"
    page = client.get(created.location).get_data(as_text=True)
    assert "Frühling für Ihr Tier" in page and "FRUEHLING10" in page

    # The same name again gets its own address.
    again = post(client, "/console/campaigns/new", CAMPAIGN | variants())
    assert again.location == "/console/campaigns/fruehling-2027-2"

    edit = client.get("/console/campaigns/fruehling-2027/edit").get_data(as_text=True)
    assert 'value="Frühling für Ihr Tier"' in edit and 'value="2027-05-31"' in edit
    assert "Ereignisse aufbewahren (Tage)" in edit
    saved = post(client, "/console/campaigns/fruehling-2027/edit", CAMPAIGN | {
        "name": "Frühling 2027 <b>neu</b>", "tone": "du", "event_retention_days": "90"}
        | variants(("a", "Ihr Frühjahrsputz", ""), ("b", "Frühling für dein Tier", "")))
    assert saved.status_code == 303
    with app.app_context():  # the campaign's own retention; empty again: the install's
        assert db.session.scalar(select(Campaign.event_retention_days).where(
            Campaign.slug == "fruehling-2027")) == 90
    assert 'value="90"' in client.get("/console/campaigns/fruehling-2027/edit").get_data(
        as_text=True)
    page = client.get("/console/campaigns/fruehling-2027").get_data(as_text=True)
    assert "Frühling 2027 &lt;b&gt;neu&lt;/b&gt;" in page and "<b>neu" not in page

    assert "Archivieren" in client.get("/console/campaigns/fruehling-2027/archive").get_data(
        as_text=True)
    post(client, "/console/campaigns/fruehling-2027/archive", {"archive": "1"})
    assert "fruehling-2027\"" not in client.get("/console/").get_data(as_text=True)
    assert "/console/campaigns/fruehling-2027\"" in client.get(
        "/console/?archived=1").get_data(as_text=True)
    post(client, "/console/campaigns/fruehling-2027/archive", {"archive": "0"})
    assert "/console/campaigns/fruehling-2027\"" in client.get("/console/").get_data(as_text=True)


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"name": ""}, "name", "Bitte geben Sie der Kampagne einen Namen."),
    ({"ends_on": "2027-02-01"}, "ends_on", "Die Kampagne kann nicht enden, bevor sie beginnt."),
    ({"expires_on": "2027-01-01"}, "expires_on",
     "Links können nicht ablaufen, bevor die Kampagne beginnt."),
    ({"offer_code": "", "offer_text": "Gratis"}, "offer_text",
     "Ein Angebotstext braucht einen Rabattcode."),
    ({"utm_source": "news letter"}, "utm_source",
     "Buchstaben, Ziffern, Punkte, Binde- und Unterstriche verwenden."),
    ({"slug": "Winter 2026!"}, "slug", "Kleinbuchstaben, Ziffern und Bindestriche verwenden."),
    ({"starts_on": "31.02.2027"}, "starts_on", "Kein gültiges Datum."),
    (variants(("a", "Nur eine", "")), "variants", "Ein A/B-Test braucht mindestens zwei"),
    (variants(("a", "Eins", ""), ("a", "Zwei", "")), "variants-1-key",
     "Jeder Schlüssel kann nur einmal vorkommen."),
    (variants(("a", "Eins", ""), ("", "Zwei", "")), "variants-1-key",
     "Jede Variante braucht einen Schlüssel."),
    ({"event_retention_days": "-1"}, "event_retention_days", "zwischen 0 und 36500"),
    ({"event_retention_days": "ein Jahr"}, "event_retention_days", "Keine gültige, ganze Zahl"),
])
def test_campaign_form_names_the_field_in_error(app, client, users, change, field, message):
    login(client, MARKETER, MARKETER_PASSWORD)
    response = post(client, "/console/campaigns/new", CAMPAIGN | variants() | change)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = page.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0] if \
        f'id="{field}-error"' in page else page.split('class="field-error" role="alert"')[1]
    assert message in error
    with app.app_context():
        assert db.session.scalar(select(Campaign)) is None


def test_a_variant_with_links_cannot_be_removed(app, client, users):
    from purl.links.recipients import NewRecipient, mint

    login(client, MARKETER, MARKETER_PASSWORD)
    post(client, "/console/campaigns/new", CAMPAIGN | variants(("a", "A", ""), ("b", "B", "")))
    with app.app_context():
        camp = db.session.scalar(select(Campaign))
        mint(db.session, camp, [NewRecipient(email=f"p{i}@example.org") for i in range(3)])
        db.session.commit()
    response = post(client, "/console/campaigns/fruehling-2027/edit", CAMPAIGN | variants(
        ("a", "A", ""), ("c", "C", "")))
    assert response.status_code == 422
    assert "Variante „b“ ist schon 1 Links zugeordnet" in response.get_data(as_text=True)


# --- Links ----------------------------------------------------------------------------------

def test_search_links_full_page_and_htmx_fragment(client, demo):
    login(client, DEMO_USER, DEMO_PASSWORD)
    page = client.get("/console/campaigns/winter-2026/links?q=anna")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "</html>" in html
    assert "Schäfer" in html and "Müller" not in html and demo.tokens["Anna"] in html
    assert "HX-Request" in page.headers["Vary"]
    fragment = client.get("/console/campaigns/winter-2026/links?q=K-10002", headers=HX)
    html = fragment.get_data(as_text=True)
    assert "</html>" not in html and "Müller" in html and "Schäfer" not in html
    both = client.get("/console/campaigns/winter-2026/links?q=anna%20schäf").get_data(
        as_text=True)
    assert "1 Link gefunden" in both
    assert "5 Links gefunden" in client.get("/console/campaigns/winter-2026/links").get_data(
        as_text=True)
    none = client.get("/console/campaigns/winter-2026/links?q=100%25").get_data(as_text=True)
    assert "Keine Links gefunden." in none or "0 Links gefunden" in none


def test_preview_shows_the_landing_page_without_counting_a_visit(app, client, demo):
    login(client, DEMO_USER, DEMO_PASSWORD)
    anna = demo.recipient_ids["Anna"]
    page = client.get(f"/console/campaigns/winter-2026/links/{anna}/preview")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Liebe Anna," in html and "Dein Wintervorrat, persönlich ausgesucht" in html
    assert "WINTER15" in html and "Vorschau" in html
    assert demo.tokens["Anna"] not in html  # nothing in the preview leads into her journey
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    with app.app_context():
        assert db.session.scalar(select(Event)) is None
    # The real link still counts its visit, so the preview is what made the difference.
    client.get(demo.path("Anna"))
    with app.app_context():
        assert [e.kind for e in db.session.scalars(select(Event))] == ["visit"]


def test_preview_and_revoke_stay_inside_their_campaign(app, client, demo):
    from purl.links.recipients import NewRecipient, mint

    with app.app_context():
        other = Campaign(slug="other", name="Other", quiz_slug="zoohandlung", variants=[])
        db.session.add(other)
        db.session.flush()
        stranger = mint(db.session, other, [NewRecipient(first_name="Fremd")])[0].id
        db.session.commit()
    login(client, DEMO_USER, DEMO_PASSWORD)
    base = f"/console/campaigns/winter-2026/links/{stranger}"
    assert client.get(base + "/preview").status_code == 404
    assert post(client, base + "/revoke").status_code == 404
    with app.app_context():
        assert db.session.get(Recipient, stranger).revoked_at is None


def test_revoke_one_link_after_confirmation(app, client, demo):
    login(client, DEMO_USER, DEMO_PASSWORD)
    url = f"/console/campaigns/winter-2026/links/{demo.recipient_ids['Anna']}/revoke"
    confirm = client.get(url).get_data(as_text=True)
    assert "Link von Anna Schäfer widerrufen?" in confirm
    assert app.test_client().get(demo.path("Anna")).status_code == 200  # asking changes nothing
    done = post(client, url)
    assert done.status_code == 303
    assert app.test_client().get(demo.path("Anna")).status_code == 410
    assert app.test_client().get(demo.path("Kim")).status_code == 200
    assert "widerrufen" in client.get("/console/campaigns/winter-2026/links?q=anna").get_data(
        as_text=True)


def test_revoke_all_links_after_confirmation(app, client, demo):
    login(client, DEMO_USER, DEMO_PASSWORD)
    confirm = client.get("/console/campaigns/winter-2026/revoke").get_data(as_text=True)
    assert "Alle 5 Links" in confirm
    assert app.test_client().get(demo.path("Kim")).status_code == 200
    assert post(client, "/console/campaigns/winter-2026/revoke").status_code == 303
    for name in demo.tokens:
        assert app.test_client().get(demo.path(name)).status_code == 410


def test_an_htmx_request_without_a_session_navigates_to_sign_in(client, demo):
    response = client.get("/console/campaigns/winter-2026/links?q=anna", headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].startswith("/console/login")
    assert "Schäfer" not in response.get_data(as_text=True)


def test_admin_sets_the_defaults_new_campaigns_start_with(app, client, users):
    marketer = app.test_client()
    login(marketer, MARKETER, MARKETER_PASSWORD)
    refused = marketer.get("/console/settings")
    assert refused.status_code == 403
    assert "Diese Seite können nur Admins öffnen" in refused.get_data(as_text=True)
    assert "Zu Ihren Kampagnen" in refused.get_data(as_text=True)
    login(client, ADMIN, ADMIN_PASSWORD)
    assert "Voreinstellungen für neue Kampagnen" in client.get("/console/settings").get_data(
        as_text=True)
    bad = post(client, "/console/settings", {"quiz_slug": "zoohandlung", "locale": "en",
                                             "tone": "sie", "utm_source": "post wurf"})
    assert bad.status_code == 422
    assert "Buchstaben, Ziffern, Punkte" in bad.get_data(as_text=True)
    saved = post(client, "/console/settings", {"quiz_slug": "zoohandlung", "locale": "en",
                                               "tone": "sie", "utm_source": "postwurf",
                                               "utm_medium": "print"})
    assert saved.status_code == 303
    form = marketer.get("/console/campaigns/new").get_data(as_text=True)
    assert '<option selected value="en">' in form and '<option selected value="sie">' in form
    assert 'value="postwurf"' in form and 'value="print"' in form
