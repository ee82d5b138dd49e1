"""``flask webhook …``: an endpoint made from the command line, refused where it must be,
and a test message that reaches a receiver signed with the secret it printed."""

from __future__ import annotations

import json

from sqlalchemy import select
from standardwebhooks import Webhook

from purl import jobs
from purl.extensions import db
from purl.models import WebhookEndpoint, WebhookMessage
from tests.conftest import MARKETER


def test_create_prints_the_secret_and_a_test_message_verifies_with_it(make_app, demo,
                                                                      receiver):
    from purl.demo.load import DEMO_USER

    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    runner = app.test_cli_runner()
    receiver.start()
    made = runner.invoke(args=["webhook", "create", DEMO_USER, receiver.url(), "--campaign",
                               "winter-2026", "--event", "quiz.completed"])
    assert made.exit_code == 0, made.output
    secret = made.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = runner.invoke(args=["webhook", "list"])
    assert "winter-2026\ton\t" + receiver.url() + "\tquiz.completed" in listed.output
    with app.app_context():
        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    sent = runner.invoke(args=["webhook", "test", str(endpoint_id)])
    assert sent.exit_code == 0, sent.output
    with app.app_context():
        assert db.session.scalar(select(WebhookMessage.event_type)) == "webhook.test"
        jobs.deliver_webhooks(db.session, app.config)
    (request,) = receiver.received
    payload = Webhook(secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test" and payload["data"]["campaign"] == "winter-2026"
    assert json.loads(request.body)["data"]["endpoint_id"] == endpoint_id
    gone = runner.invoke(args=["webhook", "delete", str(endpoint_id)])
    assert gone.exit_code == 0 and runner.invoke(args=["webhook", "list"]).output == ""


def test_bad_addresses_and_scopes_are_refused_in_words(app, demo, runner, users):
    from purl.demo.load import DEMO_USER

    cases = [
        ([DEMO_USER, "http://127.0.0.1:9000/h", "--campaign", "winter-2026"],
         "private network"),
        ([DEMO_USER, "ftp://crm.example/h", "--campaign", "winter-2026"], "http://"),
        ([DEMO_USER, "https://crm.example/h", "--campaign", "gibt-es-nicht"],
         "no campaign gibt-es-nicht"),
        ([MARKETER, "https://crm.example/h", "--campaign", "winter-2026"],
         "no campaign winter-2026 that"),
        ([MARKETER, "https://crm.example/h"], "only an admin"),
        ([DEMO_USER, "https://crm.example/h", "--event", "quiz.done"], "quiz.done"),
    ]
    for args, words in cases:
        result = runner.invoke(args=["webhook", "create", *args])
        assert result.exit_code != 0 and words in result.output, (args, result.output)
    with app.app_context():
        assert db.session.scalar(select(WebhookEndpoint)) is None
