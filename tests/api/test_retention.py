"""A campaign's own event retention through the API: set when made, changed, back to the
install's, refused outside 0 to 36500 naming the field."""

from __future__ import annotations

from tests.api.conftest import bearer


def test_a_campaigns_event_retention_is_set_changed_and_refused_out_of_range(api, keys):
    made = api.post("/api/v1/campaigns", headers=bearer(keys.all), json={
        "name": "Sommer", "quiz_slug": "zoohandlung", "event_retention_days": 30})
    assert made.status_code == 201 and made.get_json()["event_retention_days"] == 30
    url = made.headers["Location"]
    kept = api.patch(url, headers=bearer(keys.all), json={"event_retention_days": 0})
    assert kept.get_json()["event_retention_days"] == 0  # kept for ever
    other = api.patch(url, headers=bearer(keys.all), json={"name": "Sommer 2027"})
    assert other.get_json()["event_retention_days"] == 0  # left out: unchanged
    install = api.patch(url, headers=bearer(keys.all), json={"event_retention_days": None})
    assert install.get_json()["event_retention_days"] is None  # the install's setting
    for days in (-1, 36501, "viel"):
        refused = api.patch(url, headers=bearer(keys.all), json={"event_retention_days": days})
        assert refused.status_code == 422
        assert refused.get_json()["errors"][0]["field"] == "event_retention_days"
