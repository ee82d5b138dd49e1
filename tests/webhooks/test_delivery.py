"""Webhooks end to end: events written to the outbox with the shopper's request, sent by the
worker's function to a real receiver on 127.0.0.1, signed, retried, never twice."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import func, select, update
from standardwebhooks import Webhook

from purl import jobs, privacy
from purl.analytics import events
from purl.extensions import db
from purl.links.recipients import NewRecipient, mint
from purl.links.tokens import sign
from purl.models import (
    Campaign,
    Recipient,
    ShopperProfile,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from purl.quiz import flow, versions
from purl.webhooks import addresses, delivery, endpoints, outbox
from tests.conftest import TEST_KEYS, worker_env

FAST = {"WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_RETRY_SECONDS": (0.05, 0.05, 0.05),
        "WEBHOOK_TIMEOUT_SECONDS": 5.0, "WEBHOOK_LEASE_SECONDS": 30.0}


@pytest.fixture
def hooks(make_app, demo):  # noqa: ANN001, ANN201
    return make_app(**FAST)


def _admin() -> User:
    return db.session.scalar(select(User).where(User.role == "admin"))


def _endpoint(app, url: str, campaign_id: int | None, types=None) -> tuple[int, str]:  # noqa: ANN001
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
        made = endpoints.create_endpoint(db.session, _admin(), url, campaign=campaign,
                                         event_types=types, allow_private=True)
        db.session.commit()
        return made.id, made.secret


def _answer_for(question) -> list[str]:  # noqa: ANN001
    if question.type == "text":
        return ["gern"]
    if question.type == "range":
        return [str(question.range.min)]
    return [question.options[0].value]


def complete_quizzes(app, campaign_id: int, count: int, prefix: str = "k") -> list[str]:  # noqa: ANN001
    """``count`` new recipients of the campaign each take its quiz to the end, as the quiz
    pages do it (start, then one answer after the other); returns their external ids."""
    ids = [f"{prefix}-{n}" for n in range(count)]
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        quiz = versions.campaign_quiz(db.session, campaign)
        for start in range(0, count, 100):
            people = [NewRecipient(first_name="Kim", external_id=e) for e in ids[start:start + 100]]
            for recipient in mint(db.session, campaign, people):
                profile = ShopperProfile(recipient_id=recipient.id)
                db.session.add(profile)
                db.session.flush()
                response = flow.start(db.session, profile, quiz, recipient)
                question = flow.next_question(quiz, response.answers or {})
                while question is not None:
                    value = flow.clean_value(question, _answer_for(question))
                    question = flow.save_answer(db.session, response, quiz, question, value,
                                                recipient)
            db.session.commit()
    return ids


def deliver_until_done(app, timeout: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    with app.app_context():
        while True:
            jobs.deliver_webhooks(db.session, app.config)
            # What waits for an endpoint switched off stays: only the rest must be done.
            pending = db.session.scalar(select(func.count()).select_from(WebhookDelivery)
                                        .join(WebhookEndpoint)
                                        .where(WebhookDelivery.status == "pending",
                                               WebhookEndpoint.enabled.is_(True)))
            if not pending:
                return
            assert time.monotonic() < deadline, f"{pending} deliveries still pending"
            time.sleep(0.05)


def test_every_completion_reaches_a_receiver_that_was_down_once_and_signed(hooks, demo,
                                                                         receiver):
    endpoint_id, secret = _endpoint(hooks, receiver.url(), demo.campaign_id,
                                    ["quiz.completed"])
    external_ids = complete_quizzes(hooks, demo.campaign_id, 1000)
    with hooks.app_context():
        # Down: nothing listens on its port. Every first attempt fails, nothing is lost.
        made = delivery.deliver_due(db.session, hooks.config, checkpoint=db.session.commit,
                                    limit=1000, budget_seconds=0)
        assert made == 1000
        rows = db.session.execute(select(WebhookDelivery.status, WebhookDelivery.attempts,
                                         WebhookDelivery.last_error)).all()
        assert Counter(rows) == {("pending", 1, "refused"): 1000}
    # Up again, but overloaded for its first 150 requests.
    receiver.answer = lambda n, _path: 503 if n < 150 else 200
    receiver.start()
    deliver_until_done(hooks)

    taken = receiver.delivered()
    assert len(taken) == 1000
    uids = Counter(r.headers["webhook-id"] for r in taken)
    assert len(uids) == 1000 and set(uids.values()) == {1}  # each webhook id exactly once
    verifier = Webhook(secret)
    completed = set()
    for request in receiver.received:
        payload = verifier.verify(request.body, request.headers)
        assert payload["type"] == "quiz.completed" and request.path == "/hook"
        assert payload["data"]["campaign"] == "winter-2026"
        assert payload["data"]["answers"] and payload["data"]["quiz"]["version"]
        completed.add(payload["data"]["recipient"]["external_id"])
    assert completed == set(external_ids)
    with hooks.app_context():
        statuses = Counter(db.session.scalars(select(WebhookDelivery.status)))
        assert statuses == {"delivered": 1000}
        assert db.session.scalar(select(func.count()).select_from(WebhookAttempt)) == \
            1000 + 150 + 1000
        assert db.session.get(WebhookEndpoint, endpoint_id).enabled


def test_two_workers_at_once_send_each_message_once(make_app, hooks, demo, receiver):
    receiver.start()
    _endpoint(hooks, receiver.url(), demo.campaign_id, ["quiz.started"])
    complete_quizzes(hooks, demo.campaign_id, 120)
    workers = [make_app(**FAST) for _ in range(3)]

    def work(app) -> None:  # noqa: ANN001
        with app.app_context():
            jobs.deliver_webhooks(db.session, app.config)
            db.session.remove()

    threads = [threading.Thread(target=work, args=(app,)) for app in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    uids = Counter(r.headers["webhook-id"] for r in receiver.received)
    assert len(uids) == 120 and set(uids.values()) == {1}


def test_only_news_is_sent_and_a_rolled_back_request_sends_nothing(hooks, demo, client,
                                                                   receiver):
    receiver.start()
    _endpoint(hooks, receiver.url(), demo.campaign_id)  # every type
    client.get(demo.path("Anna"))
    client.get(demo.path("Anna"))  # a repeat visit is no news
    with hooks.app_context():
        # A request that failed after recording its event rolls back its messages too.
        recipient = db.session.get(Recipient, demo.recipient_ids["Björn"])
        events.record(db.session, "visit", recipient=recipient)
        db.session.rollback()
        seed = db.session.scalar(select(Recipient).where(Recipient.is_seed.is_(True)))
    if seed is not None:
        client.get("/p/" + sign(seed.link_key, TEST_KEYS))  # a seed's events stay inside
    deliver_until_done(hooks)
    types = [json.loads(r.body)["type"] for r in receiver.received]
    assert types == ["recipient.visited"]
    data = json.loads(receiver.received[0].body)["data"]
    assert data["recipient"]["id"] == demo.recipient_ids["Anna"]
    assert "email" not in data["recipient"]  # a visit names the link, not the person


def test_410_switches_the_endpoint_off_and_a_redirect_is_not_followed(hooks, demo, client,
                                                                      receiver):
    receiver.start()
    gone_id, _ = _endpoint(hooks, receiver.url("/gone"), demo.campaign_id)
    moved_id, _ = _endpoint(hooks, receiver.url("/moved"), demo.campaign_id)
    receiver.location = receiver.url("/elsewhere")
    statuses = {"/gone": 410, "/moved": 302, "/elsewhere": 200}
    receiver.answer = lambda _n, path: statuses[path]
    client.get(demo.path("Anna"))
    client.get(demo.path("Björn"))
    deliver_until_done(hooks)
    with hooks.app_context():
        gone = db.session.get(WebhookEndpoint, gone_id)
        assert (gone.enabled, gone.disabled_reason) == (False, "gone")
        assert db.session.get(WebhookEndpoint, moved_id).enabled
        moved = db.session.scalars(select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == moved_id)).all()
        assert {(d.status, d.attempts, d.last_status, d.last_error) for d in moved} == \
            {("failed", 4, 302, "redirect")}
        # The second visit found the endpoint off: it waits, unsent.
        gone_deliveries = Counter(db.session.scalars(select(WebhookDelivery.status).where(
            WebhookDelivery.endpoint_id == gone_id)))
        assert gone_deliveries == {"failed": 1, "pending": 1}
    assert all(r.path != "/elsewhere" for r in receiver.received)
    assert [r.path for r in receiver.received].count("/gone") == 1


def test_the_resolved_address_is_checked_at_every_delivery(make_app, hooks, demo, client,
                                                          receiver):
    receiver.start()
    host = socket.gethostname()
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, receiver.port)}
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if all(addresses.is_public(a) for a in resolved):
        pytest.skip("this machine's name resolves to a public address")
    # Saved while private targets were allowed (or a name that pointed outward then).
    _endpoint(hooks, f"http://{host}:{receiver.port}/hook", demo.campaign_id)
    client.get(demo.path("Anna"))
    strict = make_app(**{**FAST, "WEBHOOK_ALLOW_PRIVATE": False})
    with strict.app_context():
        jobs.deliver_webhooks(db.session, strict.config)
        row = db.session.scalar(select(WebhookDelivery))
        assert (row.status, row.attempts, row.last_error) == ("pending", 1, "private")
    assert receiver.received == []


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://shop.example/hook", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("https://user:pw@shop.example/hook", "credentials"),
    ("http://127.0.0.1:8000/hook", "private"),
    ("http://localhost/hook", "private"),
    ("http://10.1.2.3/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "private"),
    ("http://[::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "private"),
    ("http://100.64.0.1/hook", "private"),
    ("https:///hook", "url"),
    ("https://shop.example:99999/hook", "url"),
    ("https://shop.example/ hook", "url"),
    ("", "url"),
])
def test_targets_purl_will_not_send_to(url: str, code: str):
    with pytest.raises(addresses.AddressError) as refused:
        addresses.parse(url, allow_private=False)
    assert str(refused.value) == code


def test_public_targets_are_accepted():
    target = addresses.parse("https://hooks.shop.example:8443/purl?x=1", allow_private=False)
    assert (target.host, target.port, target.path) == ("hooks.shop.example", 8443,
                                                       "/purl?x=1")
    assert addresses.parse("http://93.184.215.14/h", allow_private=False).port == 80


def test_attempts_run_out_on_the_schedule_then_the_delivery_fails(hooks, demo, client,
                                                                  receiver):
    receiver.answer = lambda _n, _path: 500
    receiver.start()
    _endpoint(hooks, receiver.url(), demo.campaign_id)
    client.get(demo.path("Anna"))
    with hooks.app_context():
        jobs.deliver_webhooks(db.session, hooks.config)
        first = db.session.scalar(select(WebhookDelivery))
        waited = first.next_attempt_at.replace(tzinfo=dt.UTC) - \
            first.last_attempt_at.replace(tzinfo=dt.UTC)
        assert dt.timedelta(seconds=0.04) <= waited <= dt.timedelta(seconds=0.06)
        db.session.rollback()
    deliver_until_done(hooks)
    with hooks.app_context():
        row = db.session.scalar(select(WebhookDelivery))
        assert (row.status, row.attempts, row.last_status) == ("failed", 4, 500)
        # Replayed by hand: the same message, the same webhook id, from a first attempt.
        receiver.answer = lambda _n, _path: 200
        delivery.replay(db.session, row)
        db.session.commit()
    deliver_until_done(hooks)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert receiver.received[-1].status == 200


def test_erasure_deletes_the_messages_that_name_the_recipient(hooks, demo, client):
    _endpoint(hooks, "http://127.0.0.1:9/hook", demo.campaign_id)
    client.get(demo.path("Anna"))
    client.get(demo.path("Björn"))
    with hooks.app_context():
        lena = db.session.get(Recipient, demo.recipient_ids["Anna"])
        privacy.erase_recipient(db.session, lena, "test")
        db.session.commit()
        left = db.session.scalars(select(WebhookMessage.recipient_id)).all()
        assert left == [demo.recipient_ids["Björn"]]
        assert all("Anna" not in body for body in db.session.scalars(
            select(WebhookMessage.body)))


def test_retention_deletes_finished_messages_and_keeps_waiting_ones(hooks, demo, client):
    _endpoint(hooks, "http://127.0.0.1:9/hook", demo.campaign_id)
    client.get(demo.path("Anna"))
    client.get(demo.path("Björn"))
    with hooks.app_context():
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
        db.session.execute(update(WebhookMessage).values(created_at=old))
        first = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).first()
        first.status = "delivered"
        db.session.commit()
        assert outbox.purge(db.session, 30) == 1
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(WebhookMessage)) == 1
        assert db.session.scalar(select(WebhookDelivery.status)) == "pending"


def test_a_running_worker_sends_a_shoppers_visit_within_seconds(hooks, demo, client, receiver,
                                                                database_url, start_worker,
                                                                tmp_path):
    """The real thing: `jobs work` finds the due delivery by itself (its poll), no request
    queued anything."""
    receiver.start()
    _endpoint(hooks, receiver.url(), demo.campaign_id, ["recipient.visited"])
    worker = start_worker(worker_env(database_url, tmp_path / "jobs.sqlite3",
                                     PURL_WEBHOOK_ALLOW_PRIVATE="1",
                                     PURL_WEBHOOK_POLL_SECONDS="0.2"))
    client.get(demo.path("Anna"))
    deadline = time.monotonic() + 30
    while not receiver.delivered():
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.1)
    assert json.loads(receiver.delivered()[0].body)["type"] == "recipient.visited"
