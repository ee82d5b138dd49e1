"""A campaign's events through the API: pages in time order, windows, answers, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

from sqlalchemy import select, update

from purl.extensions import db
from purl.models import Campaign, Event
from tests.api.conftest import bearer, new_recipient
from tests.conftest import csrf_token

EVENTS = "/api/v1/campaigns/camp-a/events"


def _shop(api, keys) -> list[int]:  # noqa: ANN001
    """Two recipients of camp-a: Anna visits and answers the first question, Ben visits;
    one of camp-b visits. Their events get a minute each, in the order they happened.
    Returns camp-a's event ids in that order."""
    shopper = api.application.test_client()
    links = [new_recipient(api, keys.all, slug, external_id=ext).get_json()["link"]
             .removeprefix("http://localhost")
             for slug, ext in (("camp-a", "K-1"), ("camp-a", "K-2"), ("camp-b", "K-9"))]
    assert shopper.get(links[0]).status_code == 200
    page = shopper.get(f"{links[0]}/quiz/tier").get_data(as_text=True)
    assert shopper.post(f"{links[0]}/quiz/tier", data={
        "csrf_token": csrf_token(page), "answer": "hund"}).status_code == 303
    for link in links[1:]:
        assert api.application.test_client().get(link).status_code == 200
    start = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    with api.application.app_context():
        ids = list(db.session.scalars(select(Event.id).order_by(Event.id)))
        for n, event_id in enumerate(ids):
            db.session.execute(update(Event).where(Event.id == event_id).values(
                created_at=start + dt.timedelta(minutes=n)))
        db.session.commit()
        camp_a = db.session.scalar(select(Campaign.id).where(Campaign.slug == "camp-a"))
        return list(db.session.scalars(select(Event.id).where(
            Event.campaign_id == camp_a).order_by(Event.created_at, Event.id)))


def _all(api, secret: str, query: str = "", limit: int = 2) -> list[dict]:  # noqa: ANN001
    items, cursor, pages = [], None, 0
    while True:
        url = f"{EVENTS}?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        response = api.get(url, headers=bearer(secret))
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 50


def test_events_page_in_time_order_with_their_answers(api, keys) -> None:  # noqa: ANN001
    ids = _shop(api, keys)
    items = _all(api, keys.all)
    assert [e["id"] for e in items] == ids  # every event of camp-a once, none of camp-b
    assert [e["kind"] for e in items] == ["visit", "quiz_start", "answer", "visit"]
    answer = items[2]
    assert (answer["question_id"], answer["answer"], answer["external_id"],
            answer["quiz"]) == ("tier", "hund", "K-1", "zoohandlung")
    assert items[-1]["external_id"] == "K-2" and items[0]["time"] == "2026-12-01T09:00:00Z"
    # A key that may not see camp-a sees no events of it.
    response = api.get(EVENTS, headers=bearer(keys.scoped_a))
    assert response.status_code == 200
    assert api.get("/api/v1/campaigns/camp-b/events",
                   headers=bearer(keys.scoped_a)).status_code == 404


def test_a_window_and_the_csv_give_the_same_events(api, keys) -> None:  # noqa: ANN001
    ids = _shop(api, keys)
    # 09:01 (inclusive) to 09:03 (exclusive): Anna's quiz start and answer.
    window = "&since=2026-12-01T10:01:00%2B01:00&until=2026-12-01T09:03:00Z"
    assert [e["id"] for e in _all(api, keys.all, window, limit=1)] == ids[1:3]
    response = api.get(f"/api/v1/campaigns/camp-a/events.csv?{window[1:]}",
                       headers=bearer(keys.all))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [r[1] for r in rows[1:]] == ["quiz_start", "answer"]
    assert rows[2][rows[0].index("answer")] == "hund"


def test_bad_windows_and_cursors_name_the_field(api, keys) -> None:  # noqa: ANN001
    _shop(api, keys)
    for query, field in (("since=2026-12-01T09:00:00", "query.since"),
                         ("since=gestern", "query.since"),
                         ("since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "query"),
                         ("cursor=aWQ6Nw", "query.cursor"),
                         ("cursor=YXQ6MjAyNi0xMi0wMVQwOTowMDowMC8x", "query.cursor"),
                         ("until=0001-01-01T00:00:00%2B01:00", "query.until"),
                         ("limit=1001", "query.limit")):
        response = api.get(f"{EVENTS}?{query}", headers=bearer(keys.all))
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
        fields = [e["field"] for e in response.get_json()["errors"]]
        assert any(f.startswith(field) for f in fields), (query, fields)
