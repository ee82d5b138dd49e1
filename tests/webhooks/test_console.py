"""Webhook endpoints in the console: made, refused in words, edited, tested, their delivery
log with each attempt, replay; who may see and change which. A real receiver on 127.0.0.1
takes the events and checks their signatures with the secret the page shows."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from purl import jobs
from purl.campaigns import access
from purl.extensions import db
from purl.models import Campaign, User, WebhookEndpoint
from tests.conftest import (
    ADMIN,
    ADMIN_PASSWORD,
    HX,
    MARKETER,
    MARKETER_PASSWORD,
    csrf_token,
    login,
)

FAST = {"WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_RETRY_SECONDS": (0.01, 0.01)}


@pytest.fixture
def hooks(make_app, demo, users):  # noqa: ANN001, ANN201
    """The demo with the admin and a marketer who may edit the demo campaign."""
    app = make_app(**FAST)
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026"))
        marketer = db.session.scalar(select(User).where(User.email == MARKETER))
        access.share(db.session, camp, "editor", user=marketer)
        db.session.commit()
    return app


def _client(app, email: str = MARKETER, password: str = MARKETER_PASSWORD):  # noqa: ANN001, ANN202
    client = app.test_client()
    assert login(client, email, password).status_code in (302, 303)
    return client


def _form(client, page: str, path: str, **data):  # noqa: ANN001, ANN003, ANN202
    """Post ``data`` to ``path`` with the CSRF token of ``page`` (what a browser does)."""
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def _create(client, url: str, scope: str = "winter-2026", **data):  # noqa: ANN001, ANN003, ANN202
    return _form(client, "/console/webhooks", "/console/webhooks", url=url, scope=scope, **data)


def _deliver(app) -> None:  # noqa: ANN001
    with app.app_context():
        jobs.deliver_webhooks(db.session, app.config)


def _endpoint_count(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(WebhookEndpoint))


def test_a_marketer_makes_an_endpoint_and_its_test_event_arrives_signed(hooks, receiver):
    client = _client(hooks)
    campaign = client.get("/console/campaigns/winter-2026").get_data(as_text=True)
    assert 'href="/console/webhooks?campaign=winter-2026#new"' in campaign
    page = client.get("/console/webhooks?campaign=winter-2026").get_data(as_text=True)
    assert '<option selected value="winter-2026">' in page
    assert "ganze Installation" not in page  # no install-wide choice
    receiver.start()
    made = _create(client, receiver.url(), description="Unser CRM",
                   event_types=["quiz.completed", "recipient.visited"])
    assert made.status_code == 303
    endpoint_page = made.headers["Location"]
    shown = client.get(endpoint_page).get_data(as_text=True)
    secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', shown).group(1)
    assert "Unser CRM" in shown
    assert "Quiz abgeschlossen" in shown and "Noch nichts gesendet" in shown

    sent = _form(client, endpoint_page, endpoint_page + "/test")
    assert sent.status_code == 303
    _deliver(hooks)
    (request,) = receiver.received
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    log = client.get(endpoint_page).get_data(as_text=True)
    assert "Testereignis" in log and "zugestellt" in log and "HTTP 204" in log
    listing = client.get("/console/webhooks").get_data(as_text=True)
    assert receiver.url() in listing and "Unser CRM" in listing


@pytest.mark.parametrize(("url", "words"), [
    ("", "Bitte geben Sie die Adresse an"),
    ("https://", "keine Webadresse"),
    ("crm.example/hook", "mit https:// oder http://"),
    ("ftp://crm.example/hook", "https://"),
    ("https://user:secret@crm.example/hook", "Benutzernamen und kein Passwort"),
    ("http://127.0.0.1:9/hook", "privaten Netz"),
    ("http://10.1.2.3/hook", "privaten Netz"),
])
def test_a_bad_address_is_refused_in_words_and_nothing_is_stored(make_app, demo, url, words):
    from purl.demo.load import DEMO_PASSWORD, DEMO_USER

    app = make_app()  # private addresses not allowed, as in production
    client = _client(app, DEMO_USER, DEMO_PASSWORD)
    refused = _create(client, url)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert words in html and 'aria-invalid="true"' in html
    assert _endpoint_count(app) == 0


def test_only_an_admin_sends_every_campaigns_events_somewhere(hooks, receiver):
    marketer = _client(hooks)
    refused = _create(marketer, receiver.url(), scope="")
    assert refused.status_code == 422 and _endpoint_count(hooks) == 0
    assert "Nur Admins" in refused.get_data(as_text=True)
    unknown = _create(marketer, receiver.url(), scope="someone-elses-campaign")
    assert unknown.status_code == 422 and "Ihrer Kampagnen" in unknown.get_data(as_text=True)
    admin = _client(hooks, ADMIN, ADMIN_PASSWORD)
    assert "ganze Installation" in admin.get("/console/webhooks").get_data(as_text=True)
    made = _create(admin, receiver.url(), scope="")
    assert made.status_code == 303
    # The marketer never sees an install's endpoint, not even by its number.
    assert receiver.url() not in marketer.get("/console/webhooks").get_data(as_text=True)
    assert marketer.get(made.headers["Location"]).status_code == 404


def test_a_viewer_reads_the_log_without_the_secret_and_a_stranger_finds_nothing(
        hooks, receiver, runner):
    made = _create(_client(hooks), receiver.url())
    endpoint_page = made.headers["Location"]
    assert runner.invoke(args=["user", "create", "viewer@shop.example", "--role", "marketer",
                               "--password", "viewer password 123"]).exit_code == 0
    assert runner.invoke(args=["user", "create", "stranger@shop.example", "--role",
                               "marketer", "--password", "stranger password 1"]).exit_code == 0
    with hooks.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026"))
        viewer = access.user_by_email(db.session, "viewer@shop.example")
        access.share(db.session, camp, "viewer", user=viewer)
        db.session.commit()
    viewer = _client(hooks, "viewer@shop.example", "viewer password 123")
    seen = viewer.get(endpoint_page).get_data(as_text=True)
    assert "Zustellprotokoll" in seen and "whsec_" not in seen and "/test" not in seen
    token = csrf_token(seen)
    for action in ("", "/test", "/secret", "/replay", "/delete"):
        assert viewer.post(endpoint_page + action, data={
            "csrf_token": token, "url": "https://evil.example/"}).status_code == 403
    assert viewer.get(endpoint_page + "/delete").status_code == 403
    stranger = _client(hooks, "stranger@shop.example", "stranger password 1")
    assert stranger.get(endpoint_page).status_code == 404
    token = csrf_token(stranger.get("/console/webhooks").get_data(as_text=True))
    for action in ("", "/test", "/secret", "/replay", "/delete"):
        assert stranger.post(endpoint_page + action, data={"csrf_token": token}).status_code == 404
    assert receiver.url() not in stranger.get("/console/webhooks").get_data(as_text=True)


def test_failed_deliveries_show_each_attempt_and_are_sent_again_with_the_same_id(
        hooks, receiver):
    client = _client(hooks)
    receiver.answer = lambda _n, _path: 500
    receiver.start()
    endpoint_page = _create(client, receiver.url()).headers["Location"]
    _form(client, endpoint_page, endpoint_page + "/test")
    for _ in range(3):  # the first attempt and the two retries of FAST
        _deliver(hooks)
        time.sleep(0.02)  # past the next retry
    assert len(receiver.received) == 3
    log = client.get(endpoint_page).get_data(as_text=True)
    assert "fehlgeschlagen" in log and "HTTP 500" in log
    delivery_page = re.search(r'href="(/console/webhooks/\d+/deliveries/\d+)"', log).group(1)
    detail = client.get(delivery_page).get_data(as_text=True)
    assert detail.count("HTTP 500") == 3 and "webhook.test" in detail

    receiver.answer = lambda _n, _path: 200
    again = _form(client, delivery_page, delivery_page + "/replay")
    assert again.status_code == 303 and again.headers["Location"] == delivery_page
    _deliver(hooks)
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert len(receiver.received) == 4 and len(ids) == 1  # one message, the same id
    assert "zugestellt" in client.get(delivery_page).get_data(as_text=True)


def test_all_failed_ones_go_again_once_the_receiver_is_back(hooks, receiver):
    client = _client(hooks)
    endpoint_page = _create(client, "http://127.0.0.1:9/down").headers["Location"]
    for _ in range(2):
        _form(client, endpoint_page, endpoint_page + "/test")
    for _ in range(3):
        _deliver(hooks)
        time.sleep(0.02)
    log = client.get(endpoint_page).get_data(as_text=True)
    assert log.count("fehlgeschlagen") == 2 and "Verbindung abgelehnt" in log
    receiver.start()
    token = csrf_token(log)
    assert client.post(endpoint_page, data={"csrf_token": token, "url": receiver.url(),
                                            "enabled": "y"}).status_code == 303
    again = client.post(endpoint_page + "/replay", data={"csrf_token": token},
                        follow_redirects=True)
    assert "2 fehlgeschlagene Zustellungen" in again.get_data(as_text=True)
    _deliver(hooks)
    assert len(receiver.delivered()) == 2


def test_switched_off_it_holds_events_and_switched_on_sends_them(hooks, receiver):
    client = _client(hooks)
    receiver.start()
    endpoint_page = _create(client, receiver.url()).headers["Location"]
    token = csrf_token(client.get(endpoint_page).get_data(as_text=True))
    off = client.post(endpoint_page, data={"csrf_token": token, "url": receiver.url(),
                                           "event_types": ["quiz.completed"]})
    assert off.status_code == 303
    page = client.get(endpoint_page).get_data(as_text=True)
    assert "aus" in page and "In der Konsole ausgeschaltet" in page
    client.post(endpoint_page + "/test", data={"csrf_token": token})
    _deliver(hooks)
    assert receiver.received == []
    client.post(endpoint_page, data={"csrf_token": token, "url": receiver.url(),
                                     "event_types": ["quiz.completed"], "enabled": "y"})
    _deliver(hooks)
    assert len(receiver.delivered()) == 1
    with hooks.app_context():
        assert db.session.scalar(select(WebhookEndpoint.event_types)) == ["quiz.completed"]


def test_a_bad_edit_keeps_what_was_stored(hooks, receiver):
    client = _client(hooks)
    endpoint_page = _create(client, receiver.url()).headers["Location"]
    token = csrf_token(client.get(endpoint_page).get_data(as_text=True))
    refused = client.post(endpoint_page, data={"csrf_token": token, "url": "ftp://x.example/",
                                               "enabled": "y"})
    assert refused.status_code == 422 and "https://" in refused.get_data(as_text=True)
    refused = client.post(endpoint_page, data={"csrf_token": token, "url": receiver.url(),
                                               "event_types": ["quiz.exploded"]})
    assert refused.status_code == 422
    with hooks.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        assert endpoint.url == receiver.url() and endpoint.enabled and endpoint.event_types == []


def test_a_new_secret_signs_from_then_on_and_delete_removes_the_log(hooks, receiver):
    client = _client(hooks)
    receiver.start()
    endpoint_page = _create(client, receiver.url()).headers["Location"]
    old = re.search(r"whsec_[^<]+", client.get(endpoint_page).get_data(as_text=True)).group(0)
    asked = client.get(endpoint_page + "/secret").get_data(as_text=True)  # asks, changes nothing
    assert "Einen neuen Signaturschlüssel erzeugen?" in asked and old not in asked
    assert old in client.get(endpoint_page).get_data(as_text=True)
    _form(client, endpoint_page + "/secret", endpoint_page + "/secret")
    new = re.search(r"whsec_[^<]+", client.get(endpoint_page).get_data(as_text=True)).group(0)
    assert new != old
    _form(client, endpoint_page, endpoint_page + "/test")
    _deliver(hooks)
    (request,) = receiver.received
    Webhook(new).verify(request.body, request.headers)
    assert "löschen?" in client.get(endpoint_page + "/delete").get_data(as_text=True)
    assert _endpoint_count(hooks) == 1
    gone = _form(client, endpoint_page + "/delete", endpoint_page + "/delete")
    assert gone.status_code == 303 and gone.headers["Location"] == "/console/webhooks"
    assert client.get(endpoint_page).status_code == 404 and _endpoint_count(hooks) == 0


def test_the_log_pages_back_as_a_fragment_for_htmx_and_a_full_page_without(hooks, receiver):
    client = _client(hooks)
    receiver.start()
    endpoint_page = _create(client, receiver.url()).headers["Location"]
    token = csrf_token(client.get(endpoint_page).get_data(as_text=True))
    for _ in range(53):
        client.post(endpoint_page + "/test", data={"csrf_token": token})
    full = client.get(endpoint_page)
    html = full.get_data(as_text=True)
    assert "</html>" in html and "HX-Request" in full.headers["Vary"]
    assert html.count("/deliveries/") == 50
    older = re.search(r'href="(/console/webhooks/\d+\?before=\d+)#log"', html).group(1)
    fragment = client.get(older, headers=HX)
    part = fragment.get_data(as_text=True)
    assert "</html>" not in part and part.count("/deliveries/") == 3
    assert "HX-Request" in fragment.headers["Vary"]
    page_two = client.get(older).get_data(as_text=True)
    assert "</html>" in page_two and page_two.count("/deliveries/") == 3
    assert client.get(endpoint_page + "?before=x").status_code == 404


def test_an_endpoint_that_answered_410_says_so(hooks, receiver):
    client = _client(hooks)
    receiver.answer = lambda _n, _path: 410
    receiver.start()
    endpoint_page = _create(client, receiver.url()).headers["Location"]
    _form(client, endpoint_page, endpoint_page + "/test")
    _deliver(hooks)
    page = client.get(endpoint_page).get_data(as_text=True)
    assert "410" in page and "ausgeschaltet" in page
    listing = client.get("/console/webhooks").get_data(as_text=True)
    assert "antwortete 410" in listing
