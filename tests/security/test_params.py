"""Finding 6: no URL parameter makes the server answer 500.

Every rule of ``app.url_map`` is walked, by GET and (where the rule takes it) by POST with a
valid CSRF token, signed out and signed in as an admin, with the demo loaded: integer parts get
zero, small and huge numbers (past 64 bits too), text and path parts arbitrary text, and the
query string the parameters the pages read. The answer may be anything but a 5xx.
"""

from __future__ import annotations

import re
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.routing import IntegerConverter, PathConverter

from purl.demo.load import DEMO_QUIZ
from purl.extensions import db
from purl.models import Recipient, User
from tests.conftest import ADMIN, ADMIN_PASSWORD, csrf_token, login

EXAMPLES = 8  # per rule, method and user: enough to cross 0, 2**31, 2**63 and beyond
HUGE = 9223372036854775807  # the largest signed 64-bit integer

INT32 = 2147483647  # the largest INTEGER id on PostgreSQL
numbers = st.one_of(st.integers(0, 3), st.integers(INT32 - 1, INT32 + 2),
                    st.integers(HUGE - 1, HUGE + 2), st.integers(10**19, 10**40))
# Arbitrary text, and text made of what breaks things: NUL (PostgreSQL cannot compare it),
# other control characters, quoting and path characters, non-ASCII.
NASTY = "\x00\x01\x1f\x7f\t\n\r %&?#/\\.'\"<>;=+ßé€😀\u202e"
texts = st.one_of(st.text(alphabet=st.sampled_from(NASTY), min_size=1, max_size=8),
                  st.text(max_size=40))
FORM_NAMES = ["email", "password", "name", "slug", "message", "answer", "channel", "role",
              "active", "map-0", "quiz_slug", "headline"]
PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
QUERY_NAMES = ["page", "q", "next", "archived", "min", "max", "tag", "sort"]


def _known(app, demo) -> dict[str, list[str]]:  # noqa: ANN001
    """Values that exist in the demo, so a huge number meets a real campaign or link too."""
    with app.app_context():
        codes = [c for c in db.session.scalars(select(Recipient.code)) if c][:3]
    return {
        "slug": ["winter-2026", "zoohandlung-web"], "token": list(demo.tokens.values())[:2],
        "quiz_slug": [DEMO_QUIZ, "roestwerk"], "question_id": ["tier", "budget", "start"],
        "typed": codes, "fmt": ["png", "svg"], "filename": ["css/app.css", "js/app.js"],
    }


def _part(rule, name: str, known: dict[str, list[str]]):  # noqa: ANN001, ANN202
    converter = rule._converters[name]
    if isinstance(converter, IntegerConverter):
        return numbers.map(str)
    values = texts.map(lambda s: urllib.parse.quote(s, safe=""))
    if isinstance(converter, PathConverter):
        values = st.lists(values, min_size=1, max_size=3).map("/".join)
    if known.get(name):
        values = st.one_of(st.sampled_from(known[name]), values)
    return values


def _urls(rule, known: dict[str, list[str]]):  # noqa: ANN001, ANN202
    """URLs for ``rule``: each placeholder filled, and a query string of the pages' names."""
    parts = st.fixed_dictionaries({name: _part(rule, name, known) for name in rule.arguments})
    query = st.dictionaries(st.sampled_from(QUERY_NAMES),
                            st.one_of(numbers.map(str), texts), max_size=3)

    def build(values: dict[str, str], args: dict[str, str]) -> str:
        path = PLACEHOLDER.sub(lambda m: values[m.group(1)], rule.rule)
        return path + ("?" + urllib.parse.urlencode(args) if args else "")

    return st.builds(build, parts, query)


def _check(client, rule, method: str, token: str, known: dict,  # noqa: ANN001
           failures: list[str]) -> None:
    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(url=_urls(rule, known),
           fields=st.dictionaries(st.sampled_from(FORM_NAMES), texts, max_size=3))
    def check(url: str, fields: dict[str, str]) -> None:
        if method == "POST":
            response = client.post(url, data={**fields, "csrf_token": token})
        else:
            response = client.get(url)
        if response.status_code >= 500:
            failures.append(f"{method} {url} -> {response.status_code}")

    check()


def _walk(app, client, known, token_page: str, sign_in=None) -> list[str]:  # noqa: ANN001
    """Every rule, GET and POST; logout last (it ends the session the rest would use)."""
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint == "console.logout")
    failures: list[str] = []
    for rule in rules:
        if sign_in:
            sign_in()
        token = csrf_token(client.get(token_page).get_data(as_text=True))
        for method in sorted(rule.methods & {"GET", "POST"}):
            _check(client, rule, method, token, known, failures)
    return failures


def test_no_url_parameter_makes_a_500_signed_out(app, demo, users):  # noqa: ANN001
    client = app.test_client()
    failures = _walk(app, client, _known(app, demo), "/console/login")
    assert failures == []


def test_no_url_parameter_makes_a_500_signed_in_as_admin(app, demo, users):  # noqa: ANN001
    client = app.test_client()

    def sign_in() -> None:
        # The walk may deactivate, demote or sign out the admin (those are routes too).
        with app.app_context():
            db.session.execute(update(User).where(User.email == ADMIN).values(
                active=True, role="admin"))
            db.session.commit()
        if client.get("/console/").status_code != 200:
            assert login(client, ADMIN, ADMIN_PASSWORD).status_code == 303

    failures = _walk(app, client, _known(app, demo), "/console/", sign_in)
    assert failures == []


def test_the_audits_huge_numbers_answer_404(app, demo, users):  # noqa: ANN001
    client = app.test_client()
    token = next(iter(demo.tokens.values()))
    for url in (f"/p/{token}/go/99999999999999999999", f"/q/{DEMO_QUIZ}/go/{HUGE + 1}",
                "/q/zoohandlung/go/" + "9" * 5000):
        assert client.get(url).status_code == 404, url
    assert login(client, ADMIN, ADMIN_PASSWORD).status_code == 303
    campaign = "/console/campaigns/winter-2026"
    for url in (f"{campaign}/links/{HUGE + 1}/preview", f"{campaign}/batches/{HUGE + 1}",
                f"{campaign}/batches/{HUGE}", f"{campaign}/batches/{INT32 + 1}",
                f"{campaign}/links/{HUGE}/preview", f"/p/{token}/go/{INT32 + 1}"):
        assert client.get(url).status_code == 404, url
    # NUL in a URL part matches no route; in a search or a form it is dropped.
    for url in (f"{campaign}/links?q=%00", "/console/campaigns/%00", f"{campaign}%00/links",
                "/static/css%00/app.css"):
        assert client.get(url).status_code in (200, 404), url
    # A page past the end shows the last page; so does one past any integer.
    for page in (HUGE, HUGE * 10, -HUGE, "x"):
        response = client.get(f"{campaign}/links?page={page}")
        assert response.status_code == 200, page
