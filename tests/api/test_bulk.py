"""Many links in one call, and Idempotency-Key: a retried call mints nothing new and
answers what the first call answered; the same key with another body is refused."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from purl.extensions import db
from purl.models import ApiIdempotency, Batch, Recipient
from tests.api.conftest import bearer

BULK = "/api/v1/campaigns/camp-a/recipients/bulk"


def _people(count: int, start: int = 0) -> list[dict]:
    return [{"external_id": f"K-{i}", "first_name": f"Anna{i}", "last_name": "Muster",
             "gender": "f", "email": f"anna{i}@shop.example"} for i in range(start, start + count)]


def _recipients(app) -> int:  # noqa: ANN001
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Recipient))


def test_many_people_get_their_links_in_one_call_in_their_order(api, api_app, keys):
    people = _people(250)
    people[7] = {"external_id": "K-3", "first_name": "Anna3 again"}  # K-3 twice in the call
    made = api.post(BULK, headers=bearer(keys.all), json={"recipients": people})
    assert made.status_code == 200, made.get_json()
    body = made.get_json()
    assert (body["minted"], body["reused"], body["rejected"]) == (249, 0, 1)
    assert [e["index"] for e in body["errors"]] == [7] and "K-3" in body["errors"][0]["reason"]
    assert [item["index"] for item in body["items"]] == [i for i in range(250) if i != 7]
    first = body["items"][0]
    assert first["external_id"] == "K-0" and first["salutation"].startswith("Liebe Anna0")
    one = api.get(f"/api/v1/campaigns/camp-a/recipients/{first['id']}",
                  headers=bearer(keys.all)).get_json()
    assert (one["link"], one["code"], one["external_id"], one["salutation"]) == (
        first["link"], first["code"], "K-0", first["salutation"])
    assert _recipients(api_app) == 249
    with api_app.app_context():
        assert db.session.scalar(select(Batch.minted)) == 249  # it shows as a batch

    # The same people again (one corrected): their links, nothing minted.
    people[0]["last_name"] = "Beispiel"
    again = api.post(BULK, headers=bearer(keys.all), json={"recipients": people[:10]}).get_json()
    assert (again["minted"], again["reused"]) == (0, 9)
    assert again["items"][0]["link"] == first["link"]
    assert _recipients(api_app) == 249


def test_a_bad_person_refuses_the_whole_call_naming_them(api, api_app, keys):
    people = _people(3)
    people[2]["email"] = "not an address"
    refused = api.post(BULK, headers=bearer(keys.all), json={"recipients": people})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["recipients.2.email"]
    too_many = api.post(BULK, headers=bearer(keys.all), json={"recipients": [{}] * 10_001})
    assert too_many.status_code == 422
    assert api.post(BULK, headers=bearer(keys.all), json={"recipients": []}).status_code == 422
    broken = api.post(BULK, headers={**bearer(keys.all), "Content-Type": "application/json"},
                      data=b'{"recipients": [{"first_name": "An')
    assert broken.status_code == 400 and broken.mimetype == "application/problem+json"
    as_form = api.post(BULK, headers=bearer(keys.all), data={"recipients": "Anna"})
    assert as_form.status_code == 415
    unknown = api.post(BULK, headers=bearer(keys.all), json={"recipients": _people(1),
                                                             "campaign": "camp-b"})
    assert [e["field"] for e in unknown.get_json()["errors"]] == ["campaign"]
    assert _recipients(api_app) == 0


def test_a_retry_with_the_same_key_answers_the_same_and_mints_nothing(api, api_app, keys):
    headers = {**bearer(keys.all), "Idempotency-Key": "crm-sync-2026-12-03"}
    first = api.post(BULK, headers=headers, json={"recipients": _people(20)})
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    with api_app.app_context():
        batches = db.session.scalar(select(func.count()).select_from(Batch))
    retry = api.post(BULK, headers=headers, json={"recipients": _people(20)})
    assert retry.status_code == 200 and retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    with api_app.app_context():  # not even a batch run
        assert db.session.scalar(select(func.count()).select_from(Batch)) == batches
    assert _recipients(api_app) == 20

    other = api.post(BULK, headers=headers, json={"recipients": _people(5, start=100)})
    assert other.status_code == 422
    assert other.get_json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert _recipients(api_app) == 20
    # Keys are per API key: another key's same string is another request.
    theirs = api.post(BULK, headers={**bearer(keys.scoped_a), "Idempotency-Key":
                                     "crm-sync-2026-12-03"}, json={"recipients": _people(1)})
    assert theirs.status_code == 200 and "Idempotent-Replayed" not in theirs.headers
    blank = api.post(BULK, headers={**bearer(keys.all), "Idempotency-Key": " "},
                     json={"recipients": _people(1)})
    assert blank.status_code == 422


def test_every_creating_call_takes_an_idempotency_key(api, keys):
    doc = api.get("/api/v1/openapi.json").get_json()
    creating = {op["operationId"]: path for path, ops in doc["paths"].items()
                for method, op in ops.items()
                if any(p["name"] == "Idempotency-Key" for p in op.get("parameters", []))}
    bodies = {
        "createCampaign": {"name": "Sommer", "quiz_slug": "zoohandlung"},
        "createRecipient": {"first_name": "Bea"},
        "createRecipients": {"recipients": [{"first_name": "Cem"}]},
        "createWebhook": {"url": "https://crm.example/hook", "campaign": "camp-a"},
    }
    assert set(creating) == set(bodies)
    for operation, path in creating.items():
        url = path.replace("{slug}", "camp-a")
        headers = {**bearer(keys.all), "Idempotency-Key": f"once-{operation}"}
        first = api.post(url, headers=headers, json=bodies[operation])
        retry = api.post(url, headers=headers, json=bodies[operation])
        assert first.status_code in (200, 201), (operation, first.get_json())
        assert (retry.status_code, retry.get_json()) == (first.status_code, first.get_json())
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert retry.headers.get("Location") == first.headers.get("Location")
    campaigns = api.get("/api/v1/campaigns", headers=bearer(keys.all)).get_json()["items"]
    assert [c["name"] for c in campaigns].count("Sommer") == 1


def test_stored_answers_go_after_a_day_and_with_any_erasure(api, api_app, keys):
    headers = {**bearer(keys.all), "Idempotency-Key": "anna-once"}
    made = api.post("/api/v1/campaigns/camp-a/recipients", headers=headers,
                    json={"first_name": "Anna", "email": "anna@shop.example"})
    assert made.status_code == 201
    api.post(f"/api/v1/campaigns/camp-a/recipients/{made.get_json()['id']}/erase",
             headers=bearer(keys.all))
    with api_app.app_context():  # nothing stored names her any more
        assert db.session.scalar(select(func.count()).select_from(ApiIdempotency)) == 0

    api.post(BULK, headers={**bearer(keys.all), "Idempotency-Key": "old"},
             json={"recipients": _people(1)})
    with api_app.app_context():
        stored = db.session.scalar(select(ApiIdempotency))
        stored.created_at -= dt.timedelta(hours=25)
        db.session.commit()
    result = api_app.test_cli_runner().invoke(args=["purge"])
    assert "api idempotency keys older than a day: 1 deleted" in result.output, result.output
    again = api.post(BULK, headers={**bearer(keys.all), "Idempotency-Key": "old"},
                     json={"recipients": _people(1)})
    assert "Idempotent-Replayed" not in again.headers and again.get_json()["reused"] == 1
