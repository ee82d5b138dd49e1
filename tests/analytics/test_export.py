"""The events export: every event of a campaign once, with the answers given, per period."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import io
from pathlib import Path

from sqlalchemy import select, update

from purl.analytics import export
from purl.extensions import db
from purl.links.recipients import NewRecipient, mint
from purl.links.tokens import sign
from purl.models import Campaign, Event, Recipient
from tests.conftest import ADMIN, ADMIN_PASSWORD, TEST_KEYS, csrf_token, login

EXPORT = "/console/campaigns/export-test/events.csv"
ANSWERS = [("tier", "katze"), ("bedarf", ["futter", "snacks"]), ("budget", "bis-50"),
           ("wichtig", "natur")]


def _walk(app) -> list[int]:  # noqa: ANN001
    """Two shoppers: one answers the whole quiz, one visits; the ids of all events."""
    with app.app_context():
        camp = Campaign(slug="export-test", name="Export", quiz_slug="zoohandlung", variants=[])
        db.session.add(camp)
        db.session.flush()
        quizzer, visitor = mint(db.session, camp, [
            NewRecipient(first_name="Q", external_id="=1+2", email="q@example.org"),
            NewRecipient(first_name="V", external_id="K-7", email="v@example.org",
                         channel="print")])
        tokens = [sign(r.link_key, TEST_KEYS) for r in (quizzer, visitor)]
        campaign_id = camp.id
        db.session.commit()
    shopper = app.test_client()
    shopper.get(f"/p/{tokens[0]}")
    for question, value in ANSWERS:
        path = f"/p/{tokens[0]}/quiz/{question}"
        page = shopper.get(path).get_data(as_text=True)
        assert shopper.post(path, data={"csrf_token": csrf_token(page),
                                        "answer": value}).status_code in (302, 303)
    app.test_client().get(f"/p/{tokens[1]}")
    with app.app_context():
        return list(db.session.scalars(select(Event.id).where(
            Event.campaign_id == campaign_id).order_by(Event.id)))


def _csv(client, args: str = ""):  # noqa: ANN001, ANN202
    response = client.get(f"{EXPORT}{args}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_export_carries_every_event_once_with_its_answer(app, client, users, monkeypatch):
    ids = _walk(app)
    monkeypatch.setattr(export, "CHUNK", 2)  # chunk borders fall between every other event
    monkeypatch.setattr(export, "_PIECE", 1)  # PostgreSQL's COPY: a piece per row
    login(client, ADMIN, ADMIN_PASSWORD)
    rows = _csv(client)
    assert rows[0] == list(export.EXPORT_COLUMNS)
    assert len(rows) - 1 == len(ids)
    column = {name: i for i, name in enumerate(rows[0])}
    answers = [(r[column["question_id"]], r[column["answer"]]) for r in rows[1:]
               if r[column["kind"]] == "answer"]
    assert answers == [("tier", "katze"), ("bedarf", "futter|snacks"), ("budget", "bis-50"),
                       ("wichtig", "natur")]
    assert all(r[column["answer"]] == "" for r in rows[1:] if r[column["kind"]] != "answer")
    kinds = [r[column["kind"]] for r in rows[1:]]
    assert kinds[0] == "visit" and "quiz_start" in kinds and "quiz_complete" in kinds
    assert kinds[-1] == "visit" and rows[-1][column["channel"]] == "print"
    # A customer number that a spreadsheet would run is exported as text.
    assert {r[column["recipient_external_id"]] for r in rows[1:]} == {"'=1+2", "K-7"}


def test_a_period_exports_the_events_of_its_days(app, client, users):
    ids = _walk(app)
    days = {ids[0]: dt.datetime(2026, 11, 30, 23, 59, 59), ids[-1]: dt.datetime(2026, 12, 2)}
    with app.app_context():
        for event_id in ids:
            at = days.get(event_id, dt.datetime(2026, 12, 1, 12, 0))
            db.session.execute(update(Event).where(Event.id == event_id).values(
                created_at=at.replace(tzinfo=dt.UTC)))
        db.session.commit()
    login(client, ADMIN, ADMIN_PASSWORD)
    first_day = _csv(client, "?from=2026-12-01&to=2026-12-01")
    assert len(first_day) - 1 == len(ids) - 2
    assert {r[0] for r in first_day[1:]} == {"2026-12-01 12:00:00"}  # Excel reads it as a time
    assert len(_csv(client, "?to=2026-11-30")) - 1 == 1
    assert len(_csv(client, "?from=2026-12-02")) - 1 == 1
    assert len(_csv(client, "?from=2026-11-30&to=2026-12-02")) - 1 == len(ids)
    assert len(_csv(client, "?from=2027-01-01")) == 1  # the header only


def test_a_period_that_is_no_date_is_answered_in_german(app, client, users):
    _walk(app)
    login(client, ADMIN, ADMIN_PASSWORD)
    for args in ("?from=2026-13-01", "?to=gestern", "?from=2026-1-1", "?to=2026-02-30",
                 "?from=99999-01-01"):
        response = client.get(f"{EXPORT}{args}")
        assert response.status_code == 400, args
        assert "ist kein Datum" in response.get_data(as_text=True), args
    response = client.get(f"{EXPORT}?from=2026-12-02&to=2026-12-01")
    assert response.status_code == 400
    assert "Endtag (2026-12-01) liegt vor dem Starttag" in response.get_data(as_text=True)
    assert client.get(f"{EXPORT}?to=9999-12-31").status_code == 200


def test_a_changed_answer_exports_each_value_as_it_was_given(app, client, users):
    ids = _walk(app)
    with app.app_context():
        quizzer = db.session.scalar(select(Recipient).join(
            Event, Event.recipient_id == Recipient.id).where(Event.id == ids[0]))
        token = sign(quizzer.link_key, TEST_KEYS)
    shopper = app.test_client()
    path = f"/p/{token}/quiz/tier"
    page = shopper.get(path).get_data(as_text=True)
    # Back to the first question: a dog now, so the cat path's answers drop from the response.
    assert shopper.post(path, data={"csrf_token": csrf_token(page),
                                    "answer": "hund"}).status_code in (302, 303)
    login(client, ADMIN, ADMIN_PASSWORD)
    rows = _csv(client)
    column = {name: i for i, name in enumerate(rows[0])}
    answers = [(r[column["question_id"]], r[column["answer"]]) for r in rows[1:]
               if r[column["kind"]] == "answer"]
    assert answers == [("tier", "katze"), ("bedarf", "futter|snacks"), ("budget", "bis-50"),
                       ("wichtig", "natur"), ("tier", "hund")]


def test_the_migration_gives_earlier_answer_events_their_answers(app):
    _walk(app)
    spec = importlib.util.spec_from_file_location(
        "migration_0019", Path(__file__).parents[2] / "migrations/versions/0019_event_answer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with app.app_context():
        recorded = db.session.execute(select(Event.id, Event.answer).order_by(Event.id)).all()
        assert any(answer for _, answer in recorded)
        db.session.execute(update(Event).values(answer=None))
        module.backfill(db.session.connection())
        assert db.session.execute(
            select(Event.id, Event.answer).order_by(Event.id)).all() == recorded
