"""GDPR: one recipient's export, their erasure (no trace left, the funnel's totals kept),
and the events' retention."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from purl import apikeys
from purl.analytics import funnel as reports
from purl.demo.load import DEMO_CAMPAIGN, DEMO_USER
from purl.extensions import db
from purl.models import (
    Campaign,
    Erasure,
    Event,
    FunnelReach,
    QuizProgress,
    QuizResponse,
    Recipient,
    ShopperProfile,
    User,
)
from tests.conftest import HX, csrf_token, finish_coffee

# A cat owner's way through the demo quiz.
QUIZ = ("tier", "katze"), ("bedarf", "futter"), ("budget", "bis-50"), ("wichtig", "natur")
QUESTIONS = [q for q, _ in QUIZ]
# What identifies Anna, the demo's first recipient, anywhere it could show up.
ANNA = ("Anna", "Schäfer", "anna.schaefer", "K-10001")


def _shop_as(app: Flask, path: str) -> None:
    """Visit, finish the quiz and open the showroom as the link's recipient."""
    shopper = app.test_client()
    assert shopper.get(path).status_code == 200
    for question, value in QUIZ:
        page = shopper.get(f"{path}/quiz/{question}").get_data(as_text=True)
        assert shopper.post(f"{path}/quiz/{question}", data={
            "csrf_token": csrf_token(page), "answer": value}).status_code == 303
    room = shopper.get(f"{path}/showroom").get_data(as_text=True)
    link = re.search(r'href="go/(\d+)(\?s=[^"]+)"', room)
    assert shopper.get(f"{path}/go/{link.group(1)}{link.group(2)}").status_code == 302


def _figures(app: Flask, campaign_id: int) -> tuple:
    with app.app_context():
        return (reports.funnel(db.session, campaign_id).counts,
                {k: f.counts for k, f in reports.funnels(db.session, campaign_id,
                                                          by="channel").items()},
                [(q.question_id, q.answered, q.stopped_after) for q in reports.quiz_reach(
                    db.session, QUESTIONS, campaign_id=campaign_id).questions],
                [(t.product.id, t.clicks, t.shoppers)
                 for t in reports.top_products(db.session, campaign_id)],
                db.session.scalar(select(func.count()).select_from(Event).where(
                    Event.campaign_id == campaign_id)))


def _no_trace(text: str) -> None:
    for word in ANNA:
        assert word.lower() not in text.lower(), word


@pytest.fixture
def shopped(app, demo):  # noqa: ANN001, ANN201
    """Anna and Jürgen went all the way through the demo campaign."""
    _shop_as(app, demo.path("Anna"))
    _shop_as(app, demo.path("Jürgen"))
    return demo


def test_export_holds_the_recipient_profile_answers_and_events(app, runner, shopped):
    result = runner.invoke(args=["privacy", "export", DEMO_CAMPAIGN,
                                 "--email", "ANNA.Schaefer@example.org"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    [anna] = data["recipients"]
    assert anna["recipient"]["first_name"] == "Anna"
    assert anna["recipient"]["external_id"] == "K-10001"
    assert anna["recipient"]["id"] == shopped.recipient_ids["Anna"]
    assert anna["profile"] is not None
    [answers] = anna["answers"]
    assert set(QUESTIONS) <= set(answers["answers"])
    assert answers["answers"]["tier"] in ("katze", ["katze"])
    assert answers["completed_at"] is not None
    kinds = [e["kind"] for e in anna["events"]]
    assert kinds.count("visit") == 1 and "quiz_complete" in kinds
    assert [(e["question_id"], e["answer"]) for e in anna["events"]
            if e["kind"] == "answer"] == list(QUIZ)
    assert "product_click" in kinds
    # Only hers: Jürgen went the same way.
    by_id = runner.invoke(args=["privacy", "export", DEMO_CAMPAIGN,
                                "--recipient", str(shopped.recipient_ids["Jürgen"])])
    assert "Jürgen" in by_id.output and "Anna" not in by_id.output


def test_erasure_leaves_no_trace_and_keeps_the_funnel(app, runner, shopped):
    before = _figures(app, shopped.campaign_id)
    anna_id = shopped.recipient_ids["Anna"]
    with app.app_context():
        profile_id = db.session.scalar(select(ShopperProfile.id).where(
            ShopperProfile.recipient_id == anna_id))
        demo_user = db.session.scalar(select(User).where(User.email == DEMO_USER))
        secret = apikeys.create_key(db.session, demo_user, "CRM")[1]
        db.session.commit()
        hers = list(db.session.scalars(select(Event.id).where(
            (Event.recipient_id == anna_id) | (Event.profile_id == profile_id))))
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.id.in_(hers), Event.answer.is_not(None))) == len(QUIZ)

    result = runner.invoke(args=["privacy", "erase", DEMO_CAMPAIGN, "--external-id",
                                 "K-10001", "--yes"])
    assert result.exit_code == 0, result.output
    assert f"erased 1 recipient(s) of {DEMO_CAMPAIGN}: {anna_id}" in result.output

    # The funnel, the quiz's drop-off and the product clicks read the same, and the events
    # are all still there, as anonymous counts.
    assert _figures(app, shopped.campaign_id) == before
    with app.app_context():
        anna = db.session.get(Recipient, anna_id)
        assert (anna.first_name, anna.last_name, anna.email, anna.external_id, anna.gender,
                anna.title, anna.company, anna.attributes) == (
                    None, None, None, None, None, None, None, {})
        assert anna.revoked_at is not None
        _no_trace(anna.identity)
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            (Event.recipient_id == anna_id) | (Event.profile_id == profile_id))) == 0
        # What she answered went with her answers; her events stay as counts only.
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.id.in_(hers))) == len(hers)
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.id.in_(hers), Event.answer.is_not(None))) == 0
        assert db.session.get(ShopperProfile, profile_id) is None
        assert db.session.scalar(select(QuizResponse).where(
            QuizResponse.profile_id == profile_id)) is None
        assert db.session.scalar(select(FunnelReach).where(
            FunnelReach.recipient_id == anna_id)) is None
        assert db.session.scalar(select(QuizProgress).where(
            QuizProgress.profile_id == profile_id)) is None
        [audit] = db.session.scalars(select(Erasure)).all()
        assert (audit.recipient_id, audit.campaign_id, audit.erased_by, audit.user_id) == (
            anna_id, shopped.campaign_id, "cli", None)
        assert audit.erased_at is not None
        # Jürgen is untouched.
        juergen = db.session.get(Recipient, shopped.recipient_ids["Jürgen"])
        assert juergen.first_name == "Jürgen" and juergen.revoked_at is None

    # Her link answers 410 with the page every withdrawn link gets.
    gone = app.test_client().get(shopped.path("Anna"))
    assert gone.status_code == 410
    _no_trace(gone.get_data(as_text=True))
    assert app.test_client().get(shopped.path("Anna", "/showroom")).status_code == 410
    # The API knows an erased, revoked link and nothing about her.
    api = app.test_client().get(f"/api/v1/campaigns/{DEMO_CAMPAIGN}/recipients/{anna_id}",
                                headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200 and api.json["status"] == "revoked"
    _no_trace(api.get_data(as_text=True))
    listed = app.test_client().get(f"/api/v1/campaigns/{DEMO_CAMPAIGN}/recipients?limit=100",
                                   headers={"Authorization": f"Bearer {secret}"})
    assert "Jürgen" in listed.get_data(as_text=True)
    _no_trace(listed.get_data(as_text=True))
    assert app.test_client().get(
        f"/api/v1/campaigns/{DEMO_CAMPAIGN}/recipients/external_id:K-10001",
        headers={"Authorization": f"Bearer {secret}"}).status_code == 404
    # Her own export is empty of her.
    export = runner.invoke(args=["privacy", "export", DEMO_CAMPAIGN,
                                 "--recipient", str(anna_id)])
    data = json.loads(export.output)["recipients"][0]
    assert data["recipient"]["erased"] is True
    assert (data["profile"], data["answers"], data["events"]) == (None, [], [])
    _no_trace(export.output)
    # Erasing is looked up by what she was: nothing answers to it any more.
    again = runner.invoke(args=["privacy", "erase", DEMO_CAMPAIGN, "--email",
                                "anna.schaefer@example.org", "--yes"])
    assert again.exit_code != 0 and "no such recipient" in again.output


def test_erased_recipient_is_gone_from_the_events_export(app, console, shopped):
    anna_id = shopped.recipient_ids["Anna"]
    csv_before = console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/events.csv").get_data(
        as_text=True)
    assert "K-10001" in csv_before and "K-10002" in csv_before
    page = console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/links/{anna_id}/erase")
    assert page.status_code == 200
    assert "Anna Schäfer" in page.get_data(as_text=True)
    erased = console.post(f"/console/campaigns/{DEMO_CAMPAIGN}/links/{anna_id}/erase",
                          data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert erased.status_code == 303
    assert erased.headers["Location"].endswith(f"/console/campaigns/{DEMO_CAMPAIGN}/links")
    csv_after = console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/events.csv").get_data(
        as_text=True)
    _no_trace(csv_after)
    assert "K-10002" in csv_after
    # Same number of events (header included): hers stay, anonymous.
    assert len(csv_after.splitlines()) == len(csv_before.splitlines())
    links = console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/links").get_data(as_text=True)
    _no_trace(links)
    assert '<span class="badge">gelöscht</span>' in links  # her row says so
    assert f"/links/{anna_id}/erase" not in links  # and offers no second erasure
    with console.application.app_context():
        [audit] = db.session.scalars(select(Erasure)).all()
        demo_user = db.session.scalar(select(User).where(User.email == DEMO_USER))
        assert (audit.recipient_id, audit.erased_by, audit.user_id) == (
            anna_id, DEMO_USER, demo_user.id)
    # The confirmation page of an erased recipient only says so.
    done = console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/links/{anna_id}/erase")
    assert done.status_code == 200
    assert "Dieser Empfänger ist gelöscht" in done.get_data(as_text=True)
    assert f'action="/console/campaigns/{DEMO_CAMPAIGN}/links/{anna_id}/erase"' not in (
        done.get_data(as_text=True))


def test_a_marketer_downloads_a_recipients_data_before_erasing_them(console, shopped):
    anna_id = shopped.recipient_ids["Anna"]
    base = f"/console/campaigns/{DEMO_CAMPAIGN}/links/{anna_id}"
    links = console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/links").get_data(as_text=True)
    assert f'href="{base}/export" download>Daten exportieren</a>' in links
    assert f'href="{base}/export"' in console.get(base + "/erase").get_data(as_text=True)
    exported = console.get(base + "/export")
    assert exported.status_code == 200 and exported.mimetype == "application/json"
    assert exported.headers["Content-Disposition"] == (
        f'attachment; filename="{DEMO_CAMPAIGN}-recipient-{anna_id}.json"')
    (hers,) = exported.get_json()["recipients"]
    assert hers["recipient"]["first_name"] == "Anna" and hers["answers"] and hers["events"]
    page = console.get(base + "/erase").get_data(as_text=True)
    console.post(base + "/erase", data={"csrf_token": csrf_token(page)})
    _no_trace(console.get(base + "/export").get_data(as_text=True))
    assert console.get(f"/console/campaigns/{DEMO_CAMPAIGN}/links/999999/export"
                       ).status_code == 404


def test_console_erasure_with_htmx_navigates_to_the_links(console, demo):
    juergen = demo.recipient_ids["Jürgen"]
    url = f"/console/campaigns/{DEMO_CAMPAIGN}/links/{juergen}/erase"
    page = console.get(url).get_data(as_text=True)
    response = console.post(url, data={"csrf_token": csrf_token(page)}, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith(f"/console/campaigns/{DEMO_CAMPAIGN}/links")
    with console.application.app_context():
        assert db.session.get(Recipient, juergen).first_name is None
        # Posting again (a double click) records nothing twice.
        console.post(url, data={"csrf_token": csrf_token(page)}, headers=HX)
        assert db.session.scalar(select(func.count()).select_from(Erasure)) == 1


@pytest.mark.parametrize("args, message", [
    ([], "one of --external-id, --email, --recipient"),
    (["--email", "a@b.example", "--recipient", "1"], "one of --external-id"),
    (["--recipient", "999999"], "no such recipient"),
])
def test_erase_needs_exactly_one_known_recipient(runner, demo, args, message):
    result = runner.invoke(args=["privacy", "erase", DEMO_CAMPAIGN, "--yes", *args])
    assert result.exit_code != 0 and message in result.output
    unknown = runner.invoke(args=["privacy", "erase", "no-such", "--recipient", "1"])
    assert unknown.exit_code != 0 and "no campaign" in unknown.output


def test_erase_by_recipient_id_asks_first(app, runner, demo):
    kim = demo.recipient_ids["Kim"]
    refused = runner.invoke(args=["privacy", "erase", DEMO_CAMPAIGN, "--recipient", str(kim)],
                            input="n\n")
    assert refused.exit_code != 0
    with app.app_context():
        assert db.session.get(Recipient, kim).first_name == "Kim"
    agreed = runner.invoke(args=["privacy", "erase", DEMO_CAMPAIGN, "--recipient", str(kim)],
                           input="y\n")
    assert agreed.exit_code == 0, agreed.output
    with app.app_context():
        assert db.session.get(Recipient, kim).first_name is None


def test_erasing_a_visitors_link_erases_the_quiz_they_took_without_one(app, client, runner,
                                                                        demo):
    finish_coffee(client)
    token = csrf_token(client.get("/q/roestwerk/link").get_data(as_text=True))
    client.post("/q/roestwerk/link",
                data={"csrf_token": token, "email": "kaffee@example.org", "consent": "y"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ShopperProfile).where(
            ShopperProfile.email == "kaffee@example.org")) == 2  # the visitor's and the link's
    result = runner.invoke(args=["privacy", "erase", "roestwerk-web", "--email",
                                 "kaffee@example.org", "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ShopperProfile).where(
            ShopperProfile.email == "kaffee@example.org")) == 0
        assert db.session.scalar(select(func.count()).select_from(QuizResponse)) == 0
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.answer.is_not(None))) == 0
    # The browser that took the quiz starts afresh: nothing of them is shown again.
    page = client.get("/q/roestwerk/showroom", follow_redirects=True).get_data(as_text=True)
    assert "kaffee@example.org" not in page


def _age_events(app: Flask, campaign_id: int, days: int) -> None:
    with app.app_context():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        for row in db.session.scalars(select(Event).where(Event.campaign_id == campaign_id)):
            row.created_at = old
        db.session.commit()


def test_retention_purges_old_events_and_keeps_the_funnel(make_app, shopped):
    app = make_app(EVENT_RETENTION_DAYS=30)
    before = _figures(app, shopped.campaign_id)
    assert before[-1] > 0
    runner = app.test_cli_runner()
    kept = runner.invoke(args=["purge"])
    assert kept.exit_code == 0 and "0 events deleted" in kept.output
    _age_events(app, shopped.campaign_id, 31)
    purged = runner.invoke(args=["purge"])
    assert purged.exit_code == 0, purged.output
    assert f"event retention (30 days): {before[-1]} events deleted" in purged.output
    after = _figures(app, shopped.campaign_id)
    assert after[:-1] == before[:-1] and after[-1] == 0


def test_a_campaigns_own_retention_wins(make_app, shopped):
    app = make_app(EVENT_RETENTION_DAYS=0)
    _age_events(app, shopped.campaign_id, 10)
    cli = app.test_cli_runner()
    # Kept for ever, whatever the install says.
    assert "kept for ever" in cli.invoke(args=["privacy", "retention", DEMO_CAMPAIGN,
                                               "0"]).output
    app_5 = make_app(EVENT_RETENTION_DAYS=5)
    assert "0 events deleted" in app_5.test_cli_runner().invoke(args=["purge"]).output
    bad = cli.invoke(args=["privacy", "retention", DEMO_CAMPAIGN, "--", "-1"])
    assert bad.exit_code != 0 and "between 0 and 36500" in bad.output
    assert "7 days" in cli.invoke(args=["privacy", "retention", DEMO_CAMPAIGN, "7"]).output
    with app.app_context():
        assert db.session.get(Campaign, shopped.campaign_id).event_retention_days == 7
    off = cli.invoke(args=["purge"])  # the install keeps events
    assert "kept for ever but where a campaign says" in off.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event).where(
            Event.campaign_id == shopped.campaign_id)) == 0


def test_retention_back_to_the_install(app, runner, demo):
    assert runner.invoke(args=["privacy", "retention", DEMO_CAMPAIGN, "3"]).exit_code == 0
    result = runner.invoke(args=["privacy", "retention", DEMO_CAMPAIGN, "--install"])
    assert "as PURL_EVENT_RETENTION_DAYS says" in result.output
    with app.app_context():
        assert db.session.get(Campaign, demo.campaign_id).event_retention_days is None
    both = runner.invoke(args=["privacy", "retention", DEMO_CAMPAIGN, "3", "--install"])
    assert both.exit_code != 0 and "give DAYS or --install" in both.output
