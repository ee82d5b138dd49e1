"""The console's funnel figures through the API, against hand-counted shoppers."""

from __future__ import annotations

from tests.api.conftest import bearer, new_recipient
from tests.conftest import csrf_token


def test_the_funnel_counts_distinct_shoppers_and_never_seeds(api, keys) -> None:  # noqa: ANN001
    links = {name: new_recipient(api, keys.all, "camp-a", first_name=name, **extra)
             .get_json()["link"].removeprefix("http://localhost")
             for name, extra in (("Anna", {}), ("Ben", {"channel": "print"}),
                                 ("Test", {"is_seed": True}))}
    anna = api.application.test_client()
    for _ in range(2):  # a second visit is the same shopper
        assert anna.get(links["Anna"]).status_code == 200
    page = anna.get(f"{links['Anna']}/quiz/tier").get_data(as_text=True)
    assert anna.post(f"{links['Anna']}/quiz/tier", data={
        "csrf_token": csrf_token(page), "answer": "hund"}).status_code == 303
    for name in ("Ben", "Test"):
        assert api.application.test_client().get(links[name]).status_code == 200

    response = api.get("/api/v1/campaigns/camp-a/funnel", headers=bearer(keys.read_only))
    assert response.status_code == 200
    body = response.get_json()
    counts = {x["step"]: x["count"] for x in body["steps"]}
    assert counts == {"minted": 2, "visit": 2, "quiz_start": 1, "quiz_complete": 0,
                      "product_click": 0}
    visit = next(x for x in body["steps"] if x["step"] == "visit")
    assert (visit["of_minted"], visit["of_previous"]) == (1.0, 1.0)
    channels = {g["key"]: {x["step"]: x["count"] for x in g["steps"]}
                for g in body["by_channel"]}
    assert channels["email"]["quiz_start"] == 1 and channels["print"]["visit"] == 1
    quiz = body["quiz"]
    assert (quiz["started"], quiz["completed"], quiz["stopped_before_first"]) == (1, 0, 0)
    first = quiz["questions"][0]
    assert (first["question_id"], first["answered"], first["stopped_after"]) == ("tier", 1, 1)
    tier = next(a for a in body["answers"] if a["question_id"] == "tier")
    chosen = {o["option"]: (o["count"], o["share"]) for o in tier["options"]}
    assert tier["answered"] == 1 and chosen["hund"] == (1, 1.0) and chosen["katze"] == (0, 0.0)
    assert body["ab_test"] == [] and body["top_products"] == []
    # Another marketer's key, or one scoped elsewhere, sees no such campaign.
    assert api.get("/api/v1/campaigns/camp-b/funnel",
                   headers=bearer(keys.scoped_a)).status_code == 404
