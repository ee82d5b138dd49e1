"""Webhook endpoints through the API: made, refused naming the field, tested, their delivery
log with each attempt, replay, switched off and on, a new secret, deleted; who reaches the
install's endpoints. A real receiver on 127.0.0.1 checks every signature."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook

from purl import jobs
from purl.extensions import db
from tests.api.conftest import bearer

HOOKS = "/api/v1/webhooks"


@pytest.fixture
def api_app(make_app):  # noqa: ANN001, ANN201
    # The receiver listens on 127.0.0.1; retries wait milliseconds.
    return make_app(API_RATE_LIMIT="10000 per minute", WEBHOOK_ALLOW_PRIVATE=True,
                    WEBHOOK_RETRY_SECONDS=(0.01, 0.01))


def _deliver(app, rounds: int = 1) -> None:  # noqa: ANN001
    for _ in range(rounds):
        with app.app_context():
            jobs.deliver_webhooks(db.session, app.config)
        time.sleep(0.02)  # past the next retry


def _make(api, secret: str, url: str, **fields: object) -> dict:  # noqa: ANN001
    made = api.post(HOOKS, headers=bearer(secret), json={"url": url, "campaign": "camp-a",
                                                         **fields})
    assert made.status_code == 201, made.get_json()
    assert made.headers["Location"] == f"{HOOKS}/{made.get_json()['id']}"
    return made.get_json()


def test_an_endpoint_made_by_api_gets_its_test_event_signed_and_logs_it(
        api, api_app, keys, receiver):
    receiver.start()
    hook = _make(api, keys.all, receiver.url(), event_types=["quiz.completed"],
                 description="  Unser   CRM ")
    assert hook["campaign"] == "camp-a" and hook["event_types"] == ["quiz.completed"]
    assert hook["description"] == "Unser CRM" and hook["secret"].startswith("whsec_")
    assert hook["enabled"] and hook["disabled_reason"] is None

    queued = api.post(f"{HOOKS}/{hook['id']}/test", headers=bearer(keys.all))
    assert queued.status_code == 202 and queued.get_json()["status"] == "pending"
    _deliver(api_app)
    (request,) = receiver.received
    payload = Webhook(hook["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test" and payload["data"]["campaign"] == "camp-a"

    shown = api.get(queued.headers["Location"], headers=bearer(keys.all)).get_json()
    assert shown["status"] == "delivered" and shown["last_status"] == 204
    assert shown["webhook_id"] == request.headers["webhook-id"]
    assert shown["payload"] == payload
    assert [(a["status"], a["error"]) for a in shown["attempt_log"]] == [(204, None)]
    listed = api.get(f"{HOOKS}?limit=10", headers=bearer(keys.all)).get_json()
    assert [h["id"] for h in listed["items"]] == [hook["id"]]


@pytest.mark.parametrize(("body", "field"), [
    ({"url": "crm.example/hook"}, "url"),
    ({"url": "ftp://crm.example/hook"}, "url"),
    ({"url": "https://user:pw@crm.example/hook"}, "url"),
    ({"url": ""}, "url"),
    ({"url": "https://crm.example/hook", "event_types": ["order.paid"]}, "event_types"),
    ({"url": "https://crm.example/hook", "description": "x" * 201}, "description"),
    ({"url": "https://crm.example/hook", "secret": "whsec_mine"}, "secret"),
    ({"url": "https://crm.example/hook", "campaign": None}, "campaign"),
])
def test_a_bad_endpoint_is_refused_naming_the_field_and_nothing_is_stored(
        api, keys, body, field):
    refused = api.post(HOOKS, headers=bearer(keys.all), json={"campaign": "camp-a", **body})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    # The field, or its item ("event_types.0").
    assert [e["field"].split(".")[0] for e in refused.get_json()["errors"]] == [field]
    assert api.get(HOOKS, headers=bearer(keys.all)).get_json()["items"] == []


def test_a_private_address_is_refused_unless_the_install_allows_it(make_app, keys):
    strict = make_app(API_RATE_LIMIT="10000 per minute").test_client()
    refused = strict.post(HOOKS, headers=bearer(keys.all),
                          json={"url": "http://10.0.0.5/hook", "campaign": "camp-a"})
    assert refused.status_code == 422
    assert "private" in refused.get_json()["errors"][0]["message"]


def test_only_an_admins_key_for_all_campaigns_reaches_the_installs_endpoints(api, keys):
    install = _make(api, keys.admin, "https://crm.example/all", campaign=None)
    assert install["campaign"] is None
    for secret in (keys.all, keys.scoped_a, keys.read_only):
        assert api.get(f"{HOOKS}/{install['id']}", headers=bearer(secret)).status_code == 404
        assert api.get(HOOKS, headers=bearer(secret)).get_json()["items"] == []
    listed = api.get(HOOKS, headers=bearer(keys.admin)).get_json()["items"]
    assert [h["id"] for h in listed] == [install["id"]]


def test_failed_deliveries_show_each_attempt_and_go_again_with_the_same_id(
        api, api_app, keys, receiver):
    receiver.answer = lambda _n, _path: 503
    receiver.start()
    hook = _make(api, keys.all, receiver.url())
    for _ in range(2):
        api.post(f"{HOOKS}/{hook['id']}/test", headers=bearer(keys.all))
    _deliver(api_app, rounds=3)  # the first attempt and the two retries
    log = api.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(keys.all)).get_json()
    assert [d["status"] for d in log["items"]] == ["failed", "failed"]
    assert log["items"][0]["id"] > log["items"][1]["id"]  # newest first
    detail = api.get(f"{HOOKS}/{hook['id']}/deliveries/{log['items'][0]['id']}",
                     headers=bearer(keys.all)).get_json()
    assert [a["status"] for a in detail["attempt_log"]] == [503, 503, 503]
    assert detail["last_error"] == "status" and detail["next_attempt_at"] is None

    receiver.answer = lambda _n, _path: 200
    one = api.post(f"{HOOKS}/{hook['id']}/deliveries/{detail['id']}/replay",
                   headers=bearer(keys.all))
    assert one.status_code == 202 and one.get_json()["status"] == "pending"
    again = api.post(f"{HOOKS}/{hook['id']}/replay", headers=bearer(keys.all))
    assert again.status_code == 202 and again.get_json() == {"replayed": 1}  # the other
    _deliver(api_app)
    assert len(receiver.delivered()) == 2
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(set(ids)) == 2 and len(ids) == 8  # 2 × 3 failures, then each once


def test_the_log_pages_back_with_a_cursor(api, keys):
    hook = _make(api, keys.all, "https://crm.example/hook")
    made = [api.post(f"{HOOKS}/{hook['id']}/test", headers=bearer(keys.all)).get_json()["id"]
            for _ in range(5)]
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = api.get(f"{HOOKS}/{hook['id']}/deliveries{query}",
                       headers=bearer(keys.all)).get_json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    bad = api.get(f"{HOOKS}/{hook['id']}/deliveries?cursor=nonsense", headers=bearer(keys.all))
    assert bad.status_code == 422


def test_switched_off_it_holds_events_and_a_new_secret_signs_from_then_on(
        api, api_app, keys, receiver):
    receiver.start()
    hook = _make(api, keys.all, receiver.url())
    off = api.patch(f"{HOOKS}/{hook['id']}", headers=bearer(keys.all), json={"enabled": False})
    assert off.status_code == 200 and off.get_json()["disabled_reason"] == "user"
    api.post(f"{HOOKS}/{hook['id']}/test", headers=bearer(keys.all))
    _deliver(api_app)
    assert receiver.received == []

    rotated = api.post(f"{HOOKS}/{hook['id']}/secret", headers=bearer(keys.all)).get_json()
    assert rotated["secret"] != hook["secret"]
    on = api.patch(f"{HOOKS}/{hook['id']}", headers=bearer(keys.all), json={"enabled": True})
    assert on.get_json()["enabled"] and on.get_json()["disabled_reason"] is None
    _deliver(api_app)
    (request,) = receiver.received
    Webhook(rotated["secret"]).verify(request.body, request.headers)

    for body in ({"url": "ftp://x.example/"}, {"url": None}, {"campaign": "camp-b"}):
        refused = api.patch(f"{HOOKS}/{hook['id']}", headers=bearer(keys.all), json=body)
        assert refused.status_code == 422, body
    kept = api.get(f"{HOOKS}/{hook['id']}", headers=bearer(keys.all)).get_json()
    assert kept["url"] == receiver.url() and kept["campaign"] == "camp-a"

    assert api.delete(f"{HOOKS}/{hook['id']}", headers=bearer(keys.all)).status_code == 204
    assert api.get(f"{HOOKS}/{hook['id']}", headers=bearer(keys.all)).status_code == 404
