"""The quiz flow over HTTP: every question type, bad input (with and without htmx), resume,
progressive profiling and the visitor's optional link step."""

from __future__ import annotations

import re

from sqlalchemy import select

from purl.extensions import db
from purl.models import Event, QuizResponse, Recipient, ShopperProfile
from tests.conftest import HX, answer, csrf_token, finish_coffee, stored_answers

COFFEE = "/q/roestwerk/quiz/"


def test_every_question_type_renders_as_page_and_fragment(client, demo):
    client.get("/q/roestwerk")
    expectations = {
        "zubereitung": ['type="radio"', 'src="/static/img/quiz/handfilter.svg"'],
        "muehle": ['value="yes"', ">Ja<", ">Nein<"],
        "milch": ['value="no"'],
        "geschmack": ['type="checkbox"', "Wähle eine oder zwei."],
        "budget": ['type="number"', 'type="range"', 'min="5"', 'max="40"', 'value="15"'],
        "wunsch": ['type="text"', 'maxlength="200"', "(optional)"],
    }
    answers = {"zubereitung": ["handfilter"], "muehle": ["no"], "milch": ["no"],
               "geschmack": ["fruchtig"], "budget": ["15"]}
    for question_id, needles in expectations.items():
        full = client.get(COFFEE + question_id)
        fragment = client.get(COFFEE + question_id, headers=HX)
        assert full.status_code == fragment.status_code == 200, question_id
        assert "</html>" in full.get_data(as_text=True)
        assert "</html>" not in fragment.get_data(as_text=True)
        for needle in needles:
            assert needle in fragment.get_data(as_text=True), (question_id, needle)
        if question_id in answers:
            answer(client, COFFEE + question_id, *answers[question_id])


def test_range_outside_its_bounds_is_refused_and_changes_nothing(app, client, demo):
    finish_coffee_until_budget(client)
    before = stored_answers(app)
    for headers in ({}, HX):
        for value in ("41", "2", "viel"):
            r = answer(client, COFFEE + "budget", value, headers=headers)
            assert r.status_code == 422, value
            page = r.get_data(as_text=True)
            assert "Bitte gib eine Zahl von 5 bis 40 ein." in page
            assert 'aria-invalid="true"' in page and 'role="alert"' in page
            assert ("</html>" in page) is not bool(headers)
            assert stored_answers(app) == before
    assert answer(client, COFFEE + "budget", "40").status_code == 303


def finish_coffee_until_budget(client) -> None:  # noqa: ANN001
    client.get("/q/roestwerk")
    for question_id, values in [("zubereitung", ["handfilter"]), ("muehle", ["no"]),
                                ("milch", ["no"]), ("geschmack", ["fruchtig"])]:
        assert answer(client, COFFEE + question_id, *values).status_code == 303


def test_option_not_offered_is_refused_on_every_choice_type(app, client, demo):
    client.get("/q/roestwerk")
    for headers in ({}, HX):
        r = answer(client, COFFEE + "zubereitung", "kapselmaschine", headers=headers)
        assert r.status_code == 422
        assert "Keine gültige Auswahl" in r.get_data(as_text=True)
        assert stored_answers(app) in (None, {})
    answer(client, COFFEE + "zubereitung", "handfilter")
    for headers in ({}, HX):
        r = answer(client, COFFEE + "muehle", "maybe", headers=headers)
        assert r.status_code == 422
    answer(client, COFFEE + "muehle", "yes")
    answer(client, COFFEE + "milch", "yes")
    for headers in ({}, HX):
        r = answer(client, COFFEE + "geschmack", "fruchtig", "nussig", "kraeftig", headers=headers)
        assert r.status_code == 422
        assert "Bitte wähle höchstens 2 Antworten aus." in r.get_data(as_text=True)
        r = answer(client, COFFEE + "geschmack", "fruchtig", "bitter", headers=headers)
        assert r.status_code == 422
    assert stored_answers(app) == {"zubereitung": "handfilter", "muehle": "yes", "milch": "yes"}


def test_post_without_csrf_is_refused_with_and_without_htmx(app, client, demo):
    client.get("/q/roestwerk")
    plain = client.post(COFFEE + "zubereitung", data={"answer": "handfilter"})
    assert plain.status_code == 400
    assert "Dieses Formular ist abgelaufen" in plain.get_data(as_text=True)
    assert "</html>" in plain.get_data(as_text=True)
    fragment = client.post(COFFEE + "zubereitung", data={"answer": "handfilter"}, headers=HX)
    # htmx swaps only 2xx and 422: the step comes back with a fresh token and the message.
    assert fragment.status_code == 422
    body = fragment.get_data(as_text=True)
    assert "</html>" not in body and "Dieses Formular ist abgelaufen" in body
    assert 'role="alert"' in body and csrf_token(body)
    assert fragment.headers["HX-Push-Url"] == "false"
    wrong = client.post(COFFEE + "zubereitung", data={"answer": "handfilter",
                                                      "csrf_token": "forged"})
    assert wrong.status_code == 400
    assert stored_answers(app) is None


def test_free_text_is_length_limited_and_escaped(app, client, demo):
    finish_coffee_until_budget(client)
    answer(client, COFFEE + "budget", "20")
    r = answer(client, COFFEE + "wunsch", "x" * 201)
    assert r.status_code == 422 and "höchstens 200 Zeichen" in r.get_data(as_text=True)
    r = answer(client, COFFEE + "wunsch", '<script>alert("hi")</script>')
    assert r.status_code == 303
    assert stored_answers(app)["wunsch"] == '<script>alert("hi")</script>'
    page = client.get(COFFEE + "wunsch").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_optional_text_left_empty_finishes_the_quiz(app, client, demo):
    r = finish_coffee(client)
    assert r.location.endswith("/q/roestwerk/link")  # the visitor's optional last step
    answers = stored_answers(app)
    assert answers["wunsch"] is None and answers["budget"] == 15
    with app.app_context():
        events = db.session.scalars(select(Event).where(Event.kind == "answer")).all()
        assert [e.question_id for e in events] == [
            "zubereitung", "muehle", "milch", "geschmack", "budget", "wunsch"]
        assert {e.quiz_version for e in events} == {
            db.session.scalar(select(QuizResponse.quiz_version))}


def test_the_showroom_shows_the_coffee_catalog(client, demo):
    finish_coffee(client, budget=["12"])
    page = client.get("/q/roestwerk/showroom").get_data(as_text=True)
    assert "gemahlen" in page and "Napoli" not in page  # filter coffee, ground, up to 12 €
    assert "Geisha" not in page  # 34 € is above the budget


def test_visitor_can_leave_an_email_for_a_personal_link(app, client, demo):
    finish_coffee(client)
    step = client.get("/q/roestwerk/link")
    assert step.status_code == 200
    page = step.get_data(as_text=True)
    assert 'href="/q/roestwerk/showroom"' in page  # the skip link
    assert "</html>" in page
    fragment = client.get("/q/roestwerk/link", headers=HX).get_data(as_text=True)
    assert "</html>" not in fragment and 'name="email"' in fragment
    token = csrf_token(page)
    for headers in ({}, HX):
        r = client.post("/q/roestwerk/link", headers=headers,
                        data={"csrf_token": token, "email": "kaffee@example.org"})
        assert r.status_code == 422
        assert "Bitte bestätige" in r.get_data(as_text=True)
        r = client.post("/q/roestwerk/link", headers=headers,
                        data={"csrf_token": token, "email": "kein-at", "consent": "y"})
        assert r.status_code == 422 and "gültige E-Mail-Adresse" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Recipient).where(Recipient.channel == "web")) is None
    r = client.post("/q/roestwerk/link",
                    data={"csrf_token": token, "email": "kaffee@example.org", "consent": "y"})
    assert r.status_code == 303
    page = client.get("/q/roestwerk/link").get_data(as_text=True)
    link = re.search(r'class="purl-link">http://localhost(/p/[^<]+)</a>', page).group(1)
    with app.app_context():
        recipient = db.session.scalar(select(Recipient).where(Recipient.channel == "web"))
        assert recipient.email == "kaffee@example.org"
        assert recipient.campaign.slug == "roestwerk-web"
        visitor = db.session.scalar(select(ShopperProfile).where(
            ShopperProfile.visitor_id.is_not(None)))
        assert visitor.consent_at is not None and visitor.email == "kaffee@example.org"
    # The new link opens the same selection in any browser.
    other = app.test_client()
    landing = other.get(link)
    assert landing.status_code == 303 and landing.location.endswith(link + "/showroom")
    assert other.get(link + "/showroom").status_code == 200
    # Someone else typing the same address gets their own link, never this one.
    stranger = app.test_client()
    finish_coffee(stranger)
    token = csrf_token(stranger.get("/q/roestwerk/link").get_data(as_text=True))
    stranger.post("/q/roestwerk/link",
                  data={"csrf_token": token, "email": "kaffee@example.org", "consent": "y"})
    assert link not in stranger.get("/q/roestwerk/link").get_data(as_text=True)


def test_link_step_needs_a_finished_quiz(client, demo):
    client.get("/q/roestwerk")
    r = client.get("/q/roestwerk/link")
    assert r.status_code == 303 and r.location.endswith("/q/roestwerk/quiz/")


def test_a_recipient_attribute_answers_the_question_and_it_stays_changeable(app, client, demo):
    # Björn's CRM record says "Haustier: Katze" (the demo loader sets it).
    start = client.get(demo.path("Björn", "/quiz/"))
    assert start.status_code == 303 and start.location.endswith("/quiz/bedarf")
    assert stored_answers(app) == {"tier": "katze"}
    page = client.get(demo.path("Björn", "/quiz/bedarf")).get_data(as_text=True)
    assert "Frage 1 von 3" in page
    assert "/quiz/tier" not in page  # no Back into a question they were never asked
    answer(client, demo.path("Björn", "/quiz/bedarf"), "futter")
    answer(client, demo.path("Björn", "/quiz/budget"), "egal")
    r = answer(client, demo.path("Björn", "/quiz/wichtig"), "premium")
    assert r.location.endswith("/showroom")
    # From the showroom's chips the pre-answered question can still be changed.
    tier = client.get(demo.path("Björn", "/quiz/tier"))
    assert tier.status_code == 200
    assert re.search(r'<input checked[^>]*value="katze"', tier.get_data(as_text=True))
    r = answer(client, demo.path("Björn", "/quiz/tier"), "hund")
    assert r.location.endswith("/quiz/alter")
    assert stored_answers(app)["tier"] == "hund"


def test_reopening_a_link_resumes_at_the_first_unanswered_question(client, demo):
    answer(client, demo.path("Anna", "/quiz/tier"), "katze")
    landing = client.get(demo.path("Anna")).get_data(as_text=True)
    assert "Weiter, wo du aufgehört hast" in landing
    assert client.get(demo.path("Anna", "/quiz/")).location.endswith("/quiz/bedarf")
    fresh = client.get(demo.path("Kim")).get_data(as_text=True)
    assert "Los geht’s" in fresh and "Weiter, wo du" not in fresh


def test_visitor_landing_offers_to_continue(client, demo):
    client.get("/q/zoohandlung")
    answer(client, "/q/zoohandlung/quiz/tier", "kleintier")
    assert "Weiter, wo du aufgehört hast" in client.get("/q/zoohandlung").get_data(as_text=True)


def test_quiz_report_shows_where_shoppers_drop_off(app, client, demo, runner):
    finish_coffee(client)
    dropout = app.test_client()
    dropout.get("/q/roestwerk")
    answer(dropout, COFFEE + "zubereitung", "vollautomat")
    result = runner.invoke(args=["quiz", "report", "roestwerk"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1] for line in result.output.splitlines()}
    assert lines["started"] == "2" and lines["zubereitung"] == "2"
    assert lines["muehle"] == "1" and lines["milch"] == "1" and lines["koffein"] == "0"
    assert lines["completed"] == "1"
    # The same drop-off the console shows: one shopper left after the first question.
    left = {line.split()[0]: line.split()[3] for line in result.output.splitlines()
            if line.split()[0] in ("zubereitung", "muehle")}
    assert left == {"zubereitung": "1", "muehle": "0"}
    assert lines["(none)"] == "0"  # nobody left before the first answer
    assert runner.invoke(args=["quiz", "report", "nope"]).exit_code == 1


def test_a_quiz_that_names_its_shop_shows_that_name(client, demo):
    coffee = client.get("/q/roestwerk").get_data(as_text=True)
    assert '<span>Röstwerk</span>' in coffee and "Zoohandlung" not in coffee
    assert "img/logo.svg" not in coffee  # the pet shop's paw is not the roaster's
    question = client.get(COFFEE + "zubereitung", headers={"HX-Request": "true"})
    assert "<title>" in question.get_data(as_text=True)
    assert "· Röstwerk</title>" in question.get_data(as_text=True)
    pets = client.get("/q/zoohandlung").get_data(as_text=True)
    assert '<span>Zoohandlung</span>' in pets and "img/logo.svg" in pets


WATT_QUIZ = """
slug: watt
title: Licht
questions:
  - id: watt
    type: range
    min: 1
    max: 2000
    step: 0.5
    unit: W
    maps_to: {attribute: leistung, bound: min}
    text: Wie viel Watt mindestens?
"""


def test_numbers_are_written_the_shoppers_way(app) -> None:  # noqa: ANN001
    from purl.quiz.flow import answer_chips
    from purl.quiz.format import parse_quiz
    from purl.shopper.forms import answer_form

    quiz = parse_quiz(WATT_QUIZ, "watt.yaml")
    assert [c.label for c in answer_chips(quiz, {"watt": 7.5}, "de")] == ["ab 7,5 W"]
    assert [c.label for c in answer_chips(quiz, {"watt": 1500}, "de")] == ["ab 1.500 W"]
    assert [c.label for c in answer_chips(quiz, {"watt": 7.5}, "en")] == ["from 7.5 W"]
    # Back on the question, the field holds the answer as given, not the stored 50.0 (a
    # number field takes 7.5, and the browser shows it as 7,5 in German).
    with app.test_request_context():
        assert answer_form(quiz.questions[0], "de", current=50.0).answer._value() == "50"
        assert answer_form(quiz.questions[0], "de", current=7.5).answer._value() == "7.5"
