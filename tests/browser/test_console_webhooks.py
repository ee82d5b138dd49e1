"""A marketer connects their CRM in a real browser: a new endpoint, its secret, a test event
that a receiver on 127.0.0.1 takes, the delivery log and one delivery; phone and desktop."""

from __future__ import annotations

import re

import pytest
from standardwebhooks import Webhook

from purl import jobs
from purl.extensions import db
from tests.browser.conftest import screenshot, sign_in


@pytest.fixture
def app(make_app):  # noqa: ANN001, ANN201
    # The receiver listens on 127.0.0.1, which purl refuses to send to unless told.
    return make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SECONDS=(0.01,))


def _deliver(app) -> None:  # noqa: ANN001
    # The job worker's work, done here so the test knows when it is over.
    with app.app_context():
        jobs.deliver_webhooks(db.session, app.config)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_connect_a_crm_and_see_its_test_event_delivered(app, demo, live_server, new_page,
                                                        receiver, javascript):
    receiver.start()
    page = new_page(javascript=javascript, width=1280, height=900)
    sign_in(page, live_server)
    page.get_by_role("link", name="Webhooks").click()
    page.wait_for_url(re.compile(r"/console/webhooks$"))

    page.get_by_label("Adresse (URL)").fill("crm.example/hook")  # no scheme
    page.get_by_role("button", name="Endpunkt anlegen").click()
    page.get_by_text("mit https:// oder http://").wait_for()

    page.get_by_label("Adresse (URL)").fill(receiver.url())
    page.get_by_label("Ereignisse von").select_option(label="Kampagne „Winter 2026 – Stammkunden“")
    page.get_by_label("Quiz abgeschlossen (mit den Antworten)").check()
    page.get_by_label("Beschreibung").fill("Unser CRM")
    page.get_by_role("button", name="Endpunkt anlegen").click()
    page.wait_for_url(re.compile(r"/console/webhooks/\d+$"))
    assert page.get_by_text("Noch nichts gesendet").is_visible()
    page.get_by_text("Anzeigen").click()
    secret = page.locator("code.secret").inner_text()

    page.get_by_role("button", name="Testereignis senden").click()
    page.get_by_text("Testereignis eingereiht").wait_for()
    _deliver(app)
    page.reload()
    row = page.locator("#webhook-log tbody tr").first
    assert "zugestellt" in row.inner_text() and "HTTP 204" in row.inner_text()
    (request,) = receiver.received
    assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
    screenshot(page, f"webhook-1280-{'js' if javascript else 'nojs'}.png")

    row.get_by_role("link", name="Testereignis").click()
    page.wait_for_url(re.compile(r"/deliveries/\d+$"))
    assert page.get_by_text('"type": "webhook.test"').is_visible()
    page.go_back()

    page.get_by_role("link", name="Endpunkt löschen").click()
    page.get_by_role("button", name="Löschen").click()
    page.wait_for_url(re.compile(r"/console/webhooks$"))
    assert page.get_by_text(receiver.url()).count() == 1  # in the flash, not in the list
    assert page.locator("table").count() == 0 or receiver.url() not in page.locator(
        "table").inner_text()
    assert page.csp_violations == []


def test_the_webhook_pages_fit_a_phone_and_pass_an_accessibility_check(
        app, demo, live_server, new_page, receiver):
    from axe_playwright_python.sync_playwright import Axe

    receiver.start()
    page = new_page(bypass_csp=True)  # axe is injected as a script, which our CSP forbids
    sign_in(page, live_server)
    page.goto(live_server + "/console/webhooks")
    problems = {}
    problems["list"] = Axe().run(page).response["violations"]
    page.get_by_label("Adresse (URL)").fill(receiver.url())
    page.get_by_role("button", name="Endpunkt anlegen").click()
    page.wait_for_url(re.compile(r"/console/webhooks/\d+$"))
    page.get_by_role("button", name="Testereignis senden").click()
    page.get_by_text("Testereignis eingereiht").wait_for()
    _deliver(app)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "webhook-390.png")
    problems["endpoint"] = Axe().run(page).response["violations"]
    page.locator("#webhook-log tbody a").first.click()
    page.wait_for_url(re.compile(r"/deliveries/\d+$"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "webhook-delivery-390.png")
    problems["delivery"] = Axe().run(page).response["violations"]
    serious = {name: [v["id"] for v in found if v["impact"] in ("serious", "critical")]
               for name, found in problems.items()}
    assert serious == {"list": [], "endpoint": [], "delivery": []}
