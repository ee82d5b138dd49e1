"""The campaign funnel: numbers equal the events made, A/B significance, charts, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re

import pytest
from sqlalchemy import select

from purl import spreadsheet
from purl.analytics import abtest, events, export
from purl.analytics import funnel as reports
from purl.extensions import db
from purl.links.recipients import NewRecipient, mint
from purl.links.tokens import sign
from purl.models import Campaign, Event, Recipient
from tests.conftest import ADMIN, ADMIN_PASSWORD, TEST_KEYS, csrf_token, login

# A cat owner: the quiz asks no dog-age question on this path.
QUIZ = ("tier", "katze"), ("bedarf", "futter"), ("budget", "bis-50"), ("wichtig", "natur")
STEPS = ("visit", "quiz_start", "quiz_complete", "product_click")


def test_two_proportion_z_matches_a_hand_computation():
    # 30 of 200 against 50 of 200: pooled p = 0.2, se = sqrt(0.2 * 0.8 * (2 / 200)) = 0.04,
    # z = (0.25 - 0.15) / 0.04 = 2.5, two-sided p = 2 * (1 - Phi(2.5)) = 2 * 0.00621 = 0.0124.
    z, p = abtest.two_proportion_z(30, 200, 50, 200)
    assert z == pytest.approx(2.5)
    assert p == pytest.approx(0.0124, abs=5e-5)
    z, p = abtest.two_proportion_z(50, 200, 30, 200)
    assert z == pytest.approx(-2.5)
    assert abtest.two_proportion_z(0, 0, 1, 5) is None  # no trials: no test
    assert abtest.two_proportion_z(5, 5, 7, 7) is None  # no variance: no test


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+49 30", "'+49 30"),
    ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Anna", "Anna"), ("", ""), (None, ""), (42, "42"),
])
def test_export_cells_are_formula_safe(value, cell):
    assert spreadsheet.safe_cell(value) == cell


def _campaign(app, variants: list[str]) -> int:  # noqa: ANN001
    with app.app_context():
        camp = Campaign(slug="ab-test", name="AB Test", quiz_slug="zoohandlung",
                        variants=[{"key": k, "headline": f"Headline {k}", "message": ""}
                                  for k in variants])
        db.session.add(camp)
        db.session.commit()
        return camp.id


def test_funnel_equals_the_events_made_per_channel_and_variant(app, client, demo, users):
    campaign_id = _campaign(app, ["a", "b"])
    # Per recipient: channel, how far they get (0 nothing … 4 product click), repeats.
    script = [("email", 4), ("email", 3), ("email", 2), ("email", 1), ("email", 0),
              ("email", 4), ("print", 1), ("print", 3), ("print", 0), ("print", 2),
              ("print", 4)]
    with app.app_context():
        camp = db.session.get(Campaign, campaign_id)
        people = [NewRecipient(first_name=f"P{i}", email=f"p{i}@example.org", channel=channel)
                  for i, (channel, _) in enumerate(script)]
        people.append(NewRecipient(first_name="Seed", email="seed@shop.example", is_seed=True))
        minted = mint(db.session, camp, people)
        db.session.commit()
        recipients = [(r.id, r.channel, r.variant, sign(r.link_key, TEST_KEYS)) for r in minted]
        product_id = None
    shopper = app.test_client()
    # The seed (last) goes all the way; none of its steps may count.
    for (_, _, _, token), level in zip(recipients, [*(s[1] for s in script), 4], strict=True):
        if level >= 1:
            shopper.get(f"/p/{token}")
            shopper.get(f"/p/{token}")  # a second visit is still one visitor
        if level >= 2:
            questions = QUIZ if level >= 3 else QUIZ[:1]
            for question, value in questions:
                path = f"/p/{token}/quiz/{question}"
                page = shopper.get(path).get_data(as_text=True)
                shopper.post(path, data={"csrf_token": csrf_token(page), "answer": value})
        if level >= 4:
            # A click counts from the showroom that showed the product (its signed link);
            # everyone here gave the same answers, so the first product is the same for all.
            room = shopper.get(f"/p/{token}/showroom").get_data(as_text=True)
            link = re.search(r'href="go/(\d+)(\?s=[^"]+)"', room)
            product_id, signed = int(link.group(1)), link.group(2)
            assert shopper.get(f"/p/{token}/go/{product_id}{signed}").status_code == 302
            shopper.get(f"/p/{token}/go/{product_id}{signed}")
    reached = [(channel, variant, level) for (_, channel, variant, _), (_, level)
               in zip(recipients, script, strict=False)]

    def expected(key_of) -> dict[str, dict[str, int]]:  # noqa: ANN001
        result: dict[str, dict[str, int]] = {}
        for channel, variant, level in reached:
            counts = result.setdefault(key_of(channel, variant), dict.fromkeys(
                ("minted", *STEPS), 0))
            counts["minted"] += 1
            for needed, step in enumerate(STEPS, start=1):
                counts[step] += level >= needed
        return result

    with app.app_context():
        by_channel = reports.funnels(db.session, campaign_id, by="channel")
        by_variant = reports.funnels(db.session, campaign_id, by="variant")
        total = reports.funnel(db.session, campaign_id)
        dropoff = reports.quiz_reach(db.session, [q for q, _ in QUIZ],
                                     campaign_id=campaign_id).questions
        top = reports.top_products(db.session, campaign_id)
        assert db.session.scalar(select(Event).where(Event.is_seed.is_(True))) is not None
    assert {k: f.counts for k, f in by_channel.items()} == expected(lambda c, v: c)
    assert {k: f.counts for k, f in by_variant.items()} == expected(lambda c, v: v)
    assert set(by_variant) == {"a", "b"}
    assert total.counts == expected(lambda c, v: "")[""]
    assert total.counts == {"minted": 11, "visit": 9, "quiz_start": 7, "quiz_complete": 5,
                            "product_click": 3}
    assert [(q.question_id, q.answered) for q in dropoff] == [
        ("tier", 7), ("bedarf", 5), ("budget", 5), ("wichtig", 5)]
    # The two who answered only the first question stopped after it.
    assert [q.stopped_after for q in dropoff] == [2, 0, 0, 0]
    assert [(t.product.id, t.clicks, t.shoppers) for t in top] == [(product_id, 6, 3)]

    login(client, ADMIN, ADMIN_PASSWORD)
    page = client.get("/console/campaigns/ab-test/funnel").get_data(as_text=True)
    rows = {line.split("</th>")[0].rsplit(">", 1)[-1]: line
            for line in page.split('<tr><th scope="row">')[1:]}
    for key, counts in expected(lambda c, v: c).items():
        label = {"email": "E-Mail", "print": "Brief"}[key]  # channels in words
        cells = [c.split("<")[0] for c in re.split(r'<td class="num[^>]*>', rows[label])[1:]]
        assert [int(c) for c in cells] == [counts[s] for s in ("minted", *STEPS)], key
    assert "Noch zu wenige Daten, um Variante b mit Variante a zu vergleichen" in page


def _ab_events(app, campaign_id: int, a: tuple[int, int], b: tuple[int, int]) -> None:  # noqa: ANN001
    """``a`` and ``b``: (visited, completed) recipients of each variant."""
    with app.app_context():
        camp = db.session.get(Campaign, campaign_id)
        n = max(a[0], b[0]) * 2
        people = mint(db.session, camp, [NewRecipient(email=f"r{i}@example.org")
                                         for i in range(n)])
        by_variant = {"a": [r for r in people if r.variant == "a"],
                      "b": [r for r in people if r.variant == "b"]}
        day = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
        for key, (visited, completed) in (("a", a), ("b", b)):
            for i, recipient in enumerate(by_variant[key][:visited]):
                events.record(db.session, "visit", recipient=recipient,
                                 created_at=day + dt.timedelta(days=i % 3))
                if i < completed:
                    events.record(db.session, "quiz_complete", recipient=recipient,
                                     created_at=day + dt.timedelta(days=i % 3, hours=1))
        db.session.commit()


@pytest.mark.parametrize(("b", "significant", "p_text", "z_text"), [
    # a: 10 of 40 visitors complete. b: 25 of 40. pooled 35/80 = 0.4375,
    # se = sqrt(0.4375 * 0.5625 * (1/40 + 1/40)) = 0.11093, z = 0.375 / 0.11093 = 3.38,
    # p = erfc(3.38 / sqrt 2) = 0.0007.
    ((40, 25), True, "p = 0,001", "z = 3,38"),
    # b: 12 of 40. pooled 22/80 = 0.275, se = sqrt(0.275 * 0.725 / 20) = 0.09984,
    # z = 0.05 / 0.09984 = 0.50, p = 0.617.
    ((40, 12), False, "p = 0,617", "z = 0,50"),
])
def test_ab_statement_matches_a_hand_computation(app, client, users, b, significant,
                                                 p_text, z_text):
    campaign_id = _campaign(app, ["a", "b"])
    _ab_events(app, campaign_id, (40, 10), b)
    with app.app_context():
        (comparison,) = abtest.compare_variants(
            reports.funnels(db.session, campaign_id, by="variant"))
    assert comparison.significant is significant
    x2, n2 = b[1], b[0]
    pooled = (10 + x2) / (40 + n2)
    z = (x2 / n2 - 10 / 40) / math.sqrt(pooled * (1 - pooled) * (1 / 40 + 1 / n2))
    assert comparison.z == pytest.approx(z)
    login(client, ADMIN, ADMIN_PASSWORD)
    page = client.get("/console/campaigns/ab-test/funnel").get_data(as_text=True)
    assert p_text in page and z_text in page
    if significant:
        assert ("Mit Variante b schließen mehr Besucher das Quiz ab als mit Variante a "
                "(62,5 % gegenüber 25,0 %).") in page.replace("\xa0", " ")
        assert "ist auf dem 95-%-Niveau signifikant" in page
    else:
        assert "ist auf dem 95-%-Niveau noch nicht signifikant" in page


def test_funnel_page_draws_charts_without_script_or_inline_style(app, client, users):
    campaign_id = _campaign(app, ["a", "b"])
    _ab_events(app, campaign_id, (6, 3), (6, 2))
    with app.app_context():
        camp = db.session.get(Campaign, campaign_id)
        camp.starts_on = dt.date(2026, 11, 1)
        days = reports.daily(db.session, campaign_id, dt.date(2026, 11, 1),
                               dt.date(2026, 11, 5))
        db.session.commit()
    # 12 visitors spread over three days (i % 3), completes one hour after their visit.
    assert [(d.day.day, d.visit, d.quiz_complete) for d in days] == [
        (1, 0, 0), (2, 4, 2), (3, 4, 2), (4, 4, 1), (5, 0, 0)]
    login(client, ADMIN, ADMIN_PASSWORD)
    response = client.get("/console/campaigns/ab-test/funnel")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    steps = page.split('aria-labelledby="funnel-title">')[1].split("</ol>")[0]
    assert steps.count('class="funnel-bar"') == 5 and '<svg class="time-chart"' in page
    assert 'aria-labelledby="dropoff-title"' in page  # drop-off and answers draw bars too
    assert "<polyline" in page and "style=" not in page and "<script>" not in page
    assert "02.11.2026" in page  # the day table under the chart


def test_events_export_is_a_formula_safe_csv(app, client, demo, users):
    with app.app_context():
        anna = db.session.get(Recipient, demo.recipient_ids["Anna"])
        anna.external_id = "=HYPERLINK(\"http://evil.example\")"
        db.session.commit()
    app.test_client().get(demo.path("Anna"))
    login(client, ADMIN, ADMIN_PASSWORD)
    response = client.get("/console/campaigns/winter-2026/events.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == list(export.EXPORT_COLUMNS)
    assert len(rows) == 2
    assert rows[1][1] == "visit" and rows[1][5] == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1][8] == "no"


def test_a_question_only_some_answers_lead_to_is_no_drop_off(app, demo):
    """Cats skip the dog owners' age question by design: only real stops count."""
    campaign_id = _campaign(app, [])
    with app.app_context():
        camp = db.session.get(Campaign, campaign_id)
        minted = mint(db.session, camp, [NewRecipient(first_name=n, email=f"{n}@example.org")
                                         for n in ("hund", "katze", "fertig")])
        db.session.commit()
        tokens = [sign(r.link_key, TEST_KEYS) for r in minted]
    shopper = app.test_client()

    def answer(token: str, question: str, value: str) -> None:
        path = f"/p/{token}/quiz/{question}"
        page = shopper.get(path).get_data(as_text=True)
        assert shopper.post(path, data={"csrf_token": csrf_token(page),
                                        "answer": value}).status_code == 303

    answer(tokens[0], "tier", "hund")
    answer(tokens[0], "alter", "welpe")  # a dog owner stops after the age question
    answer(tokens[1], "tier", "katze")  # a cat owner stops after the first question
    for question, value in QUIZ:  # and a cat owner who finishes
        answer(tokens[2], question, value)
    order = ["tier", "alter", "bedarf", "budget", "wichtig"]
    with app.app_context():
        reach = reports.quiz_reach(db.session, order, campaign_id=campaign_id)
    assert [(q.question_id, q.answered, q.stopped_after) for q in reach.questions] == [
        ("tier", 3, 1), ("alter", 1, 1), ("bedarf", 1, 0), ("budget", 1, 0), ("wichtig", 1, 0)]
    assert (reach.started, reach.completed) == (3, 1)


def test_drop_off_is_where_the_last_answer_was(app, demo):
    """A shopper who went back and changed the first answer, then left, left at the first
    question, not at the furthest one they had reached; visitors without a link count too."""
    campaign_id = _campaign(app, [])
    with app.app_context():
        camp = db.session.get(Campaign, campaign_id)
        token = sign(mint(db.session, camp, [NewRecipient(email="zurueck@example.org")])[0]
                     .link_key, TEST_KEYS)
        db.session.commit()
    shopper = app.test_client()

    def answer(path: str, value: str) -> None:
        page = shopper.get(path).get_data(as_text=True)
        assert shopper.post(path, data={"csrf_token": csrf_token(page),
                                        "answer": value}).status_code == 303

    answer(f"/p/{token}/quiz/tier", "katze")
    answer(f"/p/{token}/quiz/bedarf", "futter")
    answer(f"/p/{token}/quiz/tier", "hund")  # back to the first question, then gone
    visitor = app.test_client()
    visitor.get("/q/zoohandlung")
    page = visitor.get("/q/zoohandlung/quiz/tier").get_data(as_text=True)
    visitor.post("/q/zoohandlung/quiz/tier", data={"csrf_token": csrf_token(page),
                                                   "answer": "katze"})
    with app.app_context():
        mine = reports.quiz_reach(db.session, ["tier", "alter", "bedarf"],
                                  campaign_id=campaign_id)
        quiz_wide = reports.quiz_reach(db.session, ["tier", "alter", "bedarf"],
                                       quiz_slug="zoohandlung")
    assert [(q.question_id, q.stopped_after) for q in mine.questions] == [
        ("tier", 1), ("alter", 0), ("bedarf", 0)]
    assert [(q.question_id, q.answered, q.stopped_after) for q in quiz_wide.questions] == [
        ("tier", 2, 2), ("alter", 0, 0), ("bedarf", 1, 0)]
