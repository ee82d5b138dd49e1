"""A shopper refused by a rate limit sees when to try again, with JavaScript and without."""

from __future__ import annotations

import re

import pytest

from purl.shopper.journey import VISITOR_COOKIE
from tests.conftest import csrf_token, finish_coffee


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_refused_post_says_when_to_try_again_in_the_browser(app, demo, live_server,
                                                              new_page, javascript):
    # Someone at the same address used up the hour's links...
    other = app.test_client()
    finish_coffee(other)
    token = csrf_token(other.get("/q/roestwerk/link").get_data(as_text=True))
    for i in range(20):
        assert other.post("/q/roestwerk/link", data={
            "csrf_token": token, "email": f"k{i}@example.org", "consent": "y"}).status_code == 303
    # ...so this shopper's htmx post is refused: the page shows why and until when.
    shopper = app.test_client()
    finish_coffee(shopper)
    page = new_page(javascript=javascript)
    page.context.add_cookies([{"name": VISITOR_COOKIE, "url": live_server,
                               "value": shopper.get_cookie(VISITOR_COOKIE).value}])
    page.goto(live_server + "/q/roestwerk/link")
    page.get_by_label("Deine E-Mail-Adresse").fill("kaffee@example.org")
    page.get_by_label(re.compile("Ja, meine E-Mail-Adresse darf")).check()
    page.get_by_role("button", name="Link erhalten").click()
    wait = re.compile(r"Bitte versuche es in \d+ Minuten noch einmal\.")
    if javascript:
        page.get_by_role("alert").filter(has_text=wait).wait_for()
        assert page.get_by_label("Deine E-Mail-Adresse").input_value() == "kaffee@example.org"
    else:
        page.get_by_role("heading", name="Zu viele Versuche").wait_for()
        page.get_by_text(wait).wait_for()
    assert page.csp_violations == []
