"""A campaign's quiz answers through the API, and a recipient's details changed: the link
stays, who they are stays, and an erased recipient stays erased."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.api.conftest import bearer, new_recipient
from tests.conftest import answer

RECIPIENTS = "/api/v1/campaigns/camp-a/recipients"


def _shopper_answers(api_app, link: str, *steps: tuple[str, str]) -> None:  # noqa: ANN001
    shopper = api_app.test_client()
    path = urlsplit(link).path
    assert shopper.get(path).status_code == 200
    for question, value in steps:
        assert answer(shopper, f"{path}/quiz/{question}", value).status_code in (302, 303)


def test_the_answers_of_a_campaigns_recipients_page_by_page(api, api_app, keys):
    anna = new_recipient(api, keys.all, "camp-a", external_id="K-1").get_json()
    ben = new_recipient(api, keys.all, "camp-a", external_id="K-2",
                        first_name="Ben").get_json()
    other = new_recipient(api, keys.all, "camp-b", external_id="B-1").get_json()
    _shopper_answers(api_app, anna["link"], ("tier", "katze"))
    _shopper_answers(api_app, ben["link"], ("tier", "hund"), ("alter", "senior"))
    _shopper_answers(api_app, other["link"], ("tier", "katze"))

    first = api.get("/api/v1/campaigns/camp-a/responses?limit=1",
                    headers=bearer(keys.all)).get_json()
    (response,) = first["items"]
    assert (response["external_id"], response["answers"]) == ("K-1", {"tier": "katze"})
    assert response["quiz"] == "zoohandlung" and response["quiz_version"]
    assert response["completed_at"] is None
    second = api.get(f"/api/v1/campaigns/camp-a/responses?limit=1&cursor="
                     f"{first['next_cursor']}", headers=bearer(keys.all)).get_json()
    assert [r["answers"] for r in second["items"]] == [{"tier": "hund", "alter": "senior"}]
    assert second["next_cursor"] is None  # camp-b's is not in camp-a's list
    done = api.get("/api/v1/campaigns/camp-a/responses?completed=true",
                   headers=bearer(keys.all)).get_json()
    assert done["items"] == []

    api.post(f"{RECIPIENTS}/{anna['id']}/erase", headers=bearer(keys.all))
    left = api.get("/api/v1/campaigns/camp-a/responses", headers=bearer(keys.all)).get_json()
    assert [r["external_id"] for r in left["items"]] == ["K-2"]


def test_a_recipients_details_change_and_their_link_stays(api, keys):
    anna = new_recipient(api, keys.all, "camp-a", external_id="K-1").get_json()
    changed = api.patch(f"{RECIPIENTS}/external_id:K-1", headers=bearer(keys.all), json={
        "last_name": "Schäfer", "title": "Dr.", "attributes": {"segment": "gold"}})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["link"] == anna["link"] and body["last_name"] == "Schäfer"
    assert body["title"] == "Dr." and body["attributes"] == {"segment": "gold"}
    again = api.patch(f"{RECIPIENTS}/{anna['id']}", headers=bearer(keys.all),
                      json={"attributes": {"segment": None, "punkte": "3"}}).get_json()
    assert again["attributes"] == {"punkte": "3"} and again["last_name"] == "Schäfer"

    for body, field in (({"email": "neu@shop.example"}, "email"),
                        ({"external_id": "K-9"}, "external_id"),
                        ({"gender": "x"}, "gender")):
        refused = api.patch(f"{RECIPIENTS}/{anna['id']}", headers=bearer(keys.all), json=body)
        assert refused.status_code == 422
        assert refused.get_json()["errors"][0]["field"] == field


def test_one_told_apart_by_name_keeps_it_and_an_erased_one_gets_nothing_back(api, keys):
    nameless = new_recipient(api, keys.all, "camp-a", first_name="Cem").get_json()
    refused = api.patch(f"{RECIPIENTS}/{nameless['id']}", headers=bearer(keys.all),
                        json={"first_name": "Jan"})
    assert refused.status_code == 422 and refused.get_json()["errors"][0]["field"] == "first_name"
    assert api.patch(f"{RECIPIENTS}/{nameless['id']}", headers=bearer(keys.all),
                     json={"gender": "m"}).status_code == 200
    api.post(f"{RECIPIENTS}/{nameless['id']}/erase", headers=bearer(keys.all))
    gone = api.patch(f"{RECIPIENTS}/{nameless['id']}", headers=bearer(keys.all),
                     json={"attributes": {"segment": "gold"}})
    assert gone.status_code == 409
    shown = api.get(f"{RECIPIENTS}/{nameless['id']}", headers=bearer(keys.all)).get_json()
    assert shown["attributes"] == {} and shown["first_name"] is None


def test_everything_about_a_recipient_by_their_email_and_nothing_after_erasure(api, api_app,
                                                                               keys):
    anna = new_recipient(api, keys.all, "camp-a", external_id="K-1",
                         email="Anna@Shop.example").get_json()
    _shopper_answers(api_app, anna["link"], ("tier", "katze"))
    ref = "email:anna@shop.example"  # any case
    exported = api.get(f"{RECIPIENTS}/{ref}/export", headers=bearer(keys.all))
    assert exported.status_code == 200, exported.get_json()
    data = exported.get_json()
    assert data["recipient"]["email"] == "Anna@Shop.example"
    assert [a["answers"] for a in data["answers"]] == [{"tier": "katze"}]
    assert {e["kind"] for e in data["events"]} >= {"visit", "answer"}
    assert api.get(f"{RECIPIENTS}/{ref}", headers=bearer(keys.all)).get_json()["id"] == anna["id"]

    api.post(f"{RECIPIENTS}/{ref}/erase", headers=bearer(keys.all))
    assert api.get(f"{RECIPIENTS}/{ref}", headers=bearer(keys.all)).status_code == 404
    gone = api.get(f"{RECIPIENTS}/{anna['id']}/export", headers=bearer(keys.all)).get_json()
    assert gone["recipient"]["email"] is None and gone["answers"] == []
    assert all(e["answer"] is None for e in gone["events"])
    assert "Anna" not in str(gone)
