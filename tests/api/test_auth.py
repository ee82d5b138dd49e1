"""Who gets in: a live key by Bearer only, never a console cookie; a key never reaches
beyond its scope or its creator; every operation of the OpenAPI document is walked."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from purl import apikeys, jobs
from purl.campaigns import access
from purl.extensions import db
from purl.models import ApiKey, Campaign, User, as_utc
from tests.api.conftest import bearer, new_recipient
from tests.conftest import MARKETER, MARKETER_PASSWORD, login

WRITES = ("POST", "PATCH", "PUT", "DELETE")
BODIES = {
    "createCampaign": {"name": "Neu", "quiz_slug": "zoohandlung"},
    "updateCampaign": {"name": "Neu"},
    "createRecipient": {"first_name": "Bea"},
    "updateRecipient": {"last_name": "Neu", "attributes": {"segment": "gold"}},
    "createRecipients": {"recipients": [{"first_name": "Cem"}, {"external_id": "A-1"}]},
    "createWebhook": {"url": "https://crm.example/hook", "campaign": "camp-a"},
    "updateWebhook": {"description": "CRM"},
}


def operations(client) -> list[tuple[str, str, str]]:  # noqa: ANN001
    """(method, path template, operationId) of every operation the document lists."""
    doc = client.get("/api/v1/openapi.json").get_json()
    return [(method.upper(), path, op["operationId"])
            for path, ops in doc["paths"].items() for method, op in ops.items()]


def fill(path: str, slug: str, ref: str, endpoint: str = "1", delivery: str = "1",
         batch: str = "1") -> str:
    return (path.replace("{slug}", slug).replace("{ref}", ref)
            .replace("{endpoint_id}", endpoint).replace("{delivery_id}", delivery)
            .replace("{batch_id}", batch))


LIST = b"Kundennummer;Vorname\nL-1;Lena\n"


def new_batch(client, secret: str, slug: str, app) -> str:  # noqa: ANN001
    """A list of campaign ``slug`` sent through the API and minted: the batch's id."""
    sent = client.post(f"/api/v1/campaigns/{slug}/batches", data=LIST, headers=bearer(secret))
    assert sent.status_code == 202, sent.get_json()
    with app.app_context():
        assert jobs.run_batch_here(sent.get_json()["id"]) == "done"
    return str(sent.get_json()["id"])


def new_webhook(client, secret: str, slug: str) -> tuple[str, str]:  # noqa: ANN001
    """An endpoint of campaign ``slug`` with a test delivery: their ids."""
    made = client.post("/api/v1/webhooks", headers=bearer(secret),
                       json={"url": f"https://crm.example/{slug}", "campaign": slug})
    assert made.status_code == 201, made.get_json()
    endpoint = made.get_json()["id"]
    test = client.post(f"/api/v1/webhooks/{endpoint}/test", headers=bearer(secret))
    assert test.status_code == 202, test.get_json()
    return str(endpoint), str(test.get_json()["id"])


def call(client, method: str, path: str, operation: str, headers: dict):  # noqa: ANN001, ANN201
    if operation == "uploadBatch":  # a file as the body, not JSON
        return client.open(path, method=method, headers=headers, data=LIST)
    return client.open(path, method=method, headers=headers, json=BODIES.get(operation, {}))


def assert_problem(response, status: int) -> dict:  # noqa: ANN001
    assert response.status_code == status, (response.status_code, response.get_data(True))
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    return body


def test_the_document_lists_every_api_route(api) -> None:  # noqa: ANN001
    listed = {(m, re.sub(r"\{(\w+)\}", r"<\1>", p)) for m, p, _ in operations(api)}
    routes = {(m, re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule))
              for rule in api.application.url_map.iter_rules()
              if rule.endpoint.startswith("api.") and rule.endpoint not in (
                  "api.openapi", "api.reference")
              for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert listed == routes
    assert api.get("/api/v1/openapi.json").get_json()["openapi"] == "3.1.0"


def test_every_operation_without_a_key_or_with_a_revoked_one_is_401(api, keys) -> None:  # noqa: ANN001
    for method, path, operation in operations(api):
        url = fill(path, "camp-a", "1")
        for headers in ({}, bearer(keys.revoked), bearer("purl_not-a-key"),
                        {"Authorization": f"Basic {keys.all}"}, {"Authorization": keys.all}):
            body = assert_problem(call(api, method, url, operation, headers), 401)
            assert "Bearer" in body["detail"]


def test_a_key_scoped_to_a_gets_404_for_every_object_of_b(api, keys, api_app) -> None:  # noqa: ANN001
    rid = new_recipient(api, keys.all, "camp-b", external_id="B-1").get_json()["id"]
    new_recipient(api, keys.all, "camp-a", external_id="A-1")
    theirs, own_batch = (new_batch(api, keys.all, slug, api_app) for slug in ("camp-b", "camp-a"))
    # The erasure last: after it, external_id:A-1 names nobody.
    walk = sorted(operations(api), key=lambda o: o[2] == "eraseRecipient")
    for method, path, operation in walk:
        if "{slug}" not in path:
            continue
        for ref in (str(rid), "external_id:B-1"):
            response = call(api, method, fill(path, "camp-b", ref, batch=theirs), operation,
                            bearer(keys.scoped_a))
            assert_problem(response, 404)
        # The same calls on its own campaign work (or fail for their own reasons).
        own = call(api, method, fill(path, "camp-a", "external_id:A-1", batch=own_batch),
                   operation, bearer(keys.scoped_a))
        assert own.status_code in (200, 201, 202), (operation, own.get_data(as_text=True))
    listed = api.get("/api/v1/campaigns", headers=bearer(keys.scoped_a)).get_json()
    assert [c["slug"] for c in listed["items"]] == ["camp-a"]


def test_a_key_scoped_to_a_gets_404_for_every_webhook_of_b(api, keys) -> None:  # noqa: ANN001
    theirs = new_webhook(api, keys.all, "camp-b")
    own = new_webhook(api, keys.scoped_a, "camp-a")
    walk = sorted((o for o in operations(api) if o[1].startswith("/api/v1/webhooks")),
                  key=lambda o: o[2] == "deleteWebhook")
    assert len(walk) == 11
    for method, path, operation in walk:
        body = {**BODIES.get(operation, {})}
        if operation == "createWebhook":
            body["campaign"] = "camp-b"
        if "{endpoint_id}" in path or operation == "createWebhook":
            response = api.open(fill(path, "camp-b", "1", *theirs), method=method,
                                headers=bearer(keys.scoped_a), json=body)
            assert_problem(response, 404)
        # Its own endpoint, delivery and campaign work.
        response = call(api, method, fill(path, "camp-a", "1", *own), operation,
                        bearer(keys.scoped_a))
        assert response.status_code in (200, 201, 202, 204), (operation, response.get_json())
    listed = api.get("/api/v1/webhooks", headers=bearer(keys.scoped_a)).get_json()["items"]
    assert [w["campaign"] for w in listed] == ["camp-a"]  # the one it just made; not B's
    # A delivery of B's endpoint is not reached through A's endpoint either.
    assert_problem(api.get(f"/api/v1/webhooks/{own[0]}/deliveries/{theirs[1]}",
                           headers=bearer(keys.scoped_a)), 404)


def test_a_read_only_key_gets_403_on_every_write_and_reads(api, keys, api_app) -> None:  # noqa: ANN001
    new_recipient(api, keys.all, "camp-a", external_id="A-1")
    endpoint, delivery = new_webhook(api, keys.all, "camp-a")
    batch = new_batch(api, keys.all, "camp-a", api_app)
    writes = 0
    for method, path, operation in operations(api):
        url = fill(path, "camp-a", "external_id:A-1", endpoint, delivery, batch)
        response = call(api, method, url, operation, bearer(keys.read_only))
        if method in WRITES:
            writes += 1
            assert "read-only" in assert_problem(response, 403)["detail"]
        else:
            assert response.status_code == 200
    assert writes == 15
    secret = api.get(f"/api/v1/webhooks/{endpoint}", headers=bearer(keys.read_only))
    assert secret.get_json()["secret"] is None  # a key that may not change it never signs
    with api.application.app_context():
        assert db.session.scalar(select(Campaign).where(Campaign.slug == "neu")) is None


def test_a_key_never_reaches_beyond_its_creator(api, keys, api_app) -> None:  # noqa: ANN001
    # The admins' campaign is no campaign of the marketer, whatever key they make.
    for secret in (keys.all, keys.read_only):
        assert_problem(api.get("/api/v1/campaigns/admins-own", headers=bearer(secret)), 404)
    assert api.get("/api/v1/campaigns/admins-own", headers=bearer(keys.admin)).status_code == 200
    with api_app.app_context():
        marketer = db.session.scalar(select(User).where(User.email == MARKETER))
        admins = db.session.scalar(select(Campaign).where(Campaign.slug == "admins-own"))
        with pytest.raises(apikeys.ApiKeyError, match="campaign"):
            apikeys.create_key(db.session, marketer, "sneaky", [admins])
        # Shared as viewer: the all-campaigns key reads it and may not change it.
        access.share(db.session, admins, "viewer", user=marketer)
        db.session.commit()
    assert api.get("/api/v1/campaigns/admins-own", headers=bearer(keys.all)).status_code == 200
    assert_problem(api.patch("/api/v1/campaigns/admins-own", headers=bearer(keys.all),
                             json={"name": "x"}), 403)
    # A deactivated creator's keys stop working.
    with api_app.app_context():
        marketer = db.session.scalar(select(User).where(User.email == MARKETER))
        marketer.active = False
        db.session.commit()
    assert_problem(api.get("/api/v1/campaigns", headers=bearer(keys.all)), 401)


def test_a_console_cookie_never_signs_in_to_the_api_nor_a_key_to_the_console(api, keys) -> None:  # noqa: ANN001, E501
    login(api, MARKETER, MARKETER_PASSWORD)
    assert api.get("/console/").status_code == 200
    assert_problem(api.get("/api/v1/campaigns"), 401)
    # Writes need no CSRF token, because a cookie alone never gets in.
    assert_problem(api.post("/api/v1/campaigns", json=BODIES["createCampaign"]), 401)
    fresh = api.application.test_client()
    page = fresh.get("/console/", headers=bearer(keys.all))
    assert page.status_code in (302, 303) and "/console/login" in page.headers["Location"]


def test_a_scoped_key_creates_no_campaign(api, keys) -> None:  # noqa: ANN001
    body = BODIES["createCampaign"]
    assert_problem(api.post("/api/v1/campaigns", headers=bearer(keys.scoped_a), json=body), 403)
    made = api.post("/api/v1/campaigns", headers=bearer(keys.all), json=body)
    assert made.status_code == 201 and made.get_json()["slug"] == "neu"
    # Its creator owns it: the scoped key (not the all-campaigns key) does not see it.
    assert api.get("/api/v1/campaigns/neu", headers=bearer(keys.all)).status_code == 200
    assert_problem(api.get("/api/v1/campaigns/neu", headers=bearer(keys.scoped_a)), 404)


def test_last_use_is_kept_and_the_key_itself_never_stored(api, keys, api_app) -> None:  # noqa: ANN001
    assert api.get("/api/v1/campaigns", headers=bearer(keys.all)).status_code == 200
    with api_app.app_context():
        key = apikeys.find_key(db.session, keys.all)
        assert as_utc(key.last_used_at) is not None
        stored = [(k.prefix, k.key_hash) for k in db.session.scalars(select(ApiKey))]
    assert all(keys.all not in value for row in stored for value in row)
    assert any(keys.all.startswith(prefix) for prefix, _ in stored)


def test_each_key_has_its_own_rate_limit(make_app, keys) -> None:  # noqa: ANN001
    client = make_app(API_RATE_LIMIT="3 per minute").test_client()
    for _ in range(3):
        ok = client.get("/api/v1/campaigns", headers=bearer(keys.all))
        assert ok.status_code == 200
    assert ok.headers["RateLimit-Limit"] == "3" and ok.headers["RateLimit-Remaining"] == "0"
    refused = client.get("/api/v1/campaigns", headers=bearer(keys.all))
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert 0 <= int(refused.headers["RateLimit-Reset"]) <= 60
    assert client.get("/api/v1/campaigns", headers=bearer(keys.scoped_a)).status_code == 200
