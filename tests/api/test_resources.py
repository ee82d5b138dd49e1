"""Campaigns and recipients through the API: the engines' rules, problem details, pages."""

from __future__ import annotations

from sqlalchemy import select

from purl.extensions import db
from purl.models import Recipient
from tests.api.conftest import bearer, new_recipient
from tests.api.test_auth import assert_problem


def test_a_recipient_is_minted_once_and_named_by_id_or_external_id(api, keys) -> None:  # noqa: ANN001
    made = new_recipient(api, keys.all, "camp-a", external_id="K-7", email="anna@example.org")
    assert made.status_code == 201
    anna = made.get_json()
    assert anna["salutation"] == "Liebe Anna," and anna["status"] == "active"
    assert anna["link"].startswith("http://localhost/p/") and anna["qr_url"].endswith("/qr.svg")
    assert len(anna["code"]) == 16 and anna["code"].count("-") == 3
    again = new_recipient(api, keys.all, "camp-a", external_id="K-7", email="anna@example.org")
    assert again.status_code == 200 and again.get_json()["id"] == anna["id"]
    by_ext = api.get("/api/v1/campaigns/camp-a/recipients/external_id:K-7",
                     headers=bearer(keys.all)).get_json()
    assert by_ext == anna
    # The link works for the shopper, until it is revoked through the API.
    path = anna["link"].removeprefix("http://localhost")
    assert api.get(path).status_code == 200
    assert api.get(anna["qr_url"].removeprefix("http://localhost")).mimetype == "image/svg+xml"
    revoked = api.post(f"/api/v1/campaigns/camp-a/recipients/{anna['id']}/revoke",
                       headers=bearer(keys.all))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert api.get(path).status_code == 410
    with api.application.app_context():
        assert db.session.scalar(select(Recipient.revoked_at)) is not None


def test_lists_page_by_cursor_without_gaps_or_repeats(api, keys) -> None:  # noqa: ANN001
    for n in range(7):
        assert new_recipient(api, keys.all, "camp-a", external_id=f"K{n}").status_code == 201
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/campaigns/camp-a/recipients?limit=3" + (f"&cursor={cursor}" if cursor
                                                              else "")
        body = api.get(url, headers=bearer(keys.all)).get_json()
        seen += [r["external_id"] for r in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"K{n}" for n in range(7)] and pages == 3
    one = api.get("/api/v1/campaigns/camp-a/recipients?external_id=K3",
                  headers=bearer(keys.all)).get_json()
    assert [r["external_id"] for r in one["items"]] == ["K3"]
    for bad in ("x", "aWQ6LTE", "%00", "aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OTk5"):
        body = assert_problem(api.get(f"/api/v1/campaigns/camp-a/recipients?cursor={bad}",
                                      headers=bearer(keys.all)), 422)
        assert body["errors"][0]["field"] == "query.cursor"
    body = assert_problem(api.get("/api/v1/campaigns?limit=0", headers=bearer(keys.all)), 422)
    assert body["errors"][0]["field"] == "query.limit"


def test_campaigns_change_only_allow_listed_fields(api, keys) -> None:  # noqa: ANN001
    h = bearer(keys.all)
    changed = api.patch("/api/v1/campaigns/camp-a", headers=h,
                        json={"tone": "sie", "offer_code": "HALLO10", "offer_text": "10 %"})
    assert changed.status_code == 200
    assert changed.get_json()["tone"] == "sie" and changed.get_json()["name"] == "A"
    for body, field in (({"slug": "x"}, "slug"), ({"owner_id": 1}, "owner_id"),
                        ({"tone": "ihr"}, "tone"), ({"name": None}, "name"),
                        ({"quiz_slug": "gibt-es-nicht"}, "quiz_slug"),
                        ({"offer_code": None}, "offer_text"),
                        ({"starts_on": "2027-03-01", "ends_on": "2027-02-01"}, "ends_on"),
                        ({"utm_source": "a b"}, "utm_source"), ({"name": "x\u0000"}, "name")):
        problem = assert_problem(api.patch("/api/v1/campaigns/camp-a", headers=h, json=body),
                                 422)
        assert field in [e["field"] for e in problem["errors"]], (body, problem)
    assert api.get("/api/v1/campaigns/camp-a", headers=h).get_json()["tone"] == "sie"


def test_recipient_fields_are_checked(api, keys) -> None:  # noqa: ANN001
    for body, field in (({"email": "kaputt"}, "email"), ({"gender": "x"}, "gender"),
                        ({"channel": "fax"}, "channel"), ({"ip": "1.2.3.4"}, "ip")):
        problem = assert_problem(new_recipient(api, keys.all, "camp-a", **body), 422)
        assert field in [e["field"] for e in problem["errors"]]
    nobody = api.post("/api/v1/campaigns/camp-a/recipients", headers=bearer(keys.all),
                      json={"channel": "print"})
    assert assert_problem(nobody, 422)["errors"][0]["field"] == "body"
    listed = api.get("/api/v1/campaigns/camp-a/recipients", headers=bearer(keys.all))
    assert listed.get_json()["items"] == []


def test_every_error_is_problem_details(make_app, keys) -> None:  # noqa: ANN001
    app = make_app(API_RATE_LIMIT="10000 per minute", MAX_REQUEST_CONTENT_LENGTH=1024)

    def boom():  # noqa: ANN202
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/_boom", "api_boom", boom)
    client, h = app.test_client(), bearer(keys.all)
    url = "/api/v1/campaigns/camp-a/recipients"
    assert_problem(client.post(url, headers=h, data="{", content_type="application/json"), 400)
    assert_problem(client.get("/api/v1/campaigns"), 401)
    assert_problem(client.get("/api/v1/campaigns/nope", headers=h), 404)
    assert_problem(client.get("/api/nothing-here", headers=h), 404)
    gone = client.delete("/api/v1/campaigns/camp-a", headers=h)
    assert_problem(gone, 405)
    assert "PATCH" in gone.headers["Allow"]
    assert_problem(client.post(url, headers=h, json={"company": "x" * 5000}), 413)
    assert_problem(client.post(url, headers=h, data="a=b",
                               content_type="application/x-www-form-urlencoded"), 415)
    assert_problem(client.post(url, headers=h, json={"first_name": 3}), 422)
    assert_problem(client.get("/api/v1/_boom", headers=h), 500)
    # Pages outside /api/ keep their HTML error pages.
    page = client.get("/console/nothing-here")
    assert page.status_code in (302, 404) and page.mimetype == "text/html"


def test_the_reference_page_draws_the_document_from_vendored_assets(api) -> None:  # noqa: ANN001
    page = api.get("/api/v1/reference")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'spec-url="/api/v1/openapi.json"' in html
    script = html.split('<script type="module" src="')[1].split('"')[0]
    assert script.startswith("/static/vendor/") and api.get(script).status_code == 200
    assert "<script>" not in html and "https://" not in html
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    # Only this page relaxes styles; the document itself is public, the data is not.
    assert "'unsafe-inline'" not in api.get("/api/v1/openapi.json").headers[
        "Content-Security-Policy"]


def test_erasure_through_the_api_leaves_an_anonymous_revoked_link(api, keys) -> None:  # noqa: ANN001
    from purl.models import Erasure

    anna = new_recipient(api, keys.all, "camp-a", external_id="K-9", email="anna@example.org",
                         last_name="Schäfer", company="Tierhaus").get_json()
    path = "/api/v1/campaigns/camp-a/recipients/external_id:K-9/erase"
    assert_problem(api.post(path, headers=bearer(keys.read_only)), 403)
    erased = api.post(path, headers=bearer(keys.all))
    assert erased.status_code == 200, erased.get_data(as_text=True)
    body = erased.get_json()
    assert body["id"] == anna["id"] and body["status"] == "revoked"
    assert (body["external_id"], body["email"], body["first_name"], body["last_name"],
            body["company"]) == (None, None, None, None, None)
    for word in ("K-9", "anna", "Schäfer", "Tierhaus"):
        assert word.lower() not in erased.get_data(as_text=True).lower()
    assert api.get(anna["link"].removeprefix("http://localhost")).status_code == 410
    # The CRM's id names nobody now; erasing by id again changes nothing.
    assert_problem(api.post(path, headers=bearer(keys.all)), 404)
    again = api.post(f"/api/v1/campaigns/camp-a/recipients/{anna['id']}/erase",
                     headers=bearer(keys.all))
    assert again.status_code == 200
    with api.application.app_context():
        [audit] = db.session.scalars(select(Erasure)).all()
        assert (audit.recipient_id, audit.erased_by) == (anna["id"], "api:CRM")
