"""The onboarding quiz: file format, one step per URL, htmx fragments and the no-JS twin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.models import Event
from purl.quiz.flow import preferences
from purl.quiz.format import QuizError, load_quiz_file, parse_quiz
from tests.conftest import HX, answer, stored_answers

QUIZ_FOLDER = Path(__file__).resolve().parents[2] / "quizzes"


@pytest.mark.parametrize("name", ["zoohandlung.yaml", "roestwerk.yaml"])
def test_demo_quizzes_are_valid(name):  # noqa: ANN001
    quiz = load_quiz_file(QUIZ_FOLDER / name)
    assert 5 <= len(quiz.questions) <= 8
    assert len(quiz.version) == 12
    assert quiz.visitor_campaign


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("slug: x\nquestions: []", "needs a list of questions"),
        ("slug: x\nquestions:\n - id: a\n   text: A\n   options: [{value: 1, label: A}]",
         "question 'a': needs at least two options"),
        ("slug: x\nquestions:\n - id: a\n   text: A\n   options:\n"
         "    - {value: v, label: A}\n    - {value: v, label: B}",
         "question 'a': duplicate option value 'v'"),
        ("slug: x\nquestions:\n - id: a\n   text: A\n   options:\n"
         "    - {value: v, label: A, filter: {colour: red}}\n    - {value: w, label: B}",
         "question 'a', option 'v': filter on unknown catalog field 'colour'"),
        ("slug: x\nquestions:\n - id: a\n   type: slider\n   text: A\n   options: []",
         "question 'a': unknown type 'slider'"),
        ("slug: x\nquestions: [oops", "not valid YAML"),
    ],
)
def test_broken_quiz_files_are_rejected_with_file_and_question(content, problem):  # noqa: ANN001
    with pytest.raises(QuizError) as excinfo:
        parse_quiz(content, "broken.yaml")
    assert str(excinfo.value).startswith("broken.yaml")
    assert problem in str(excinfo.value)


def test_quiz_check_cli(runner, tmp_path):
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 0, result.output
    assert "ok: zoohandlung.yaml" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "slug: x\nquestions:\n - id: a\n   text: A\n   options: [{value: 1, label: A}]"
    )
    result = runner.invoke(args=["quiz", "check", str(broken)])
    assert result.exit_code == 1
    assert "broken.yaml, question 'a': needs at least two options" in result.output


def test_full_quiz_without_javascript(app, client, demo):
    base = demo.path("Anna", "/quiz/")
    start = client.get(base)
    assert start.status_code == 303 and start.location.endswith("/quiz/tier")
    r = answer(client, base + "tier", "hund")
    assert r.status_code == 303 and r.location.endswith("/quiz/alter")  # only asked for dogs
    r = answer(client, base + "alter", "welpe")
    assert r.status_code == 303 and r.location.endswith("/quiz/bedarf")
    r = answer(client, base + "bedarf", "futter", "snacks")
    assert r.status_code == 303 and r.location.endswith("/quiz/budget")
    r = answer(client, base + "budget", "bis-50")
    r = answer(client, base + "wichtig", "natur")
    assert r.status_code == 303 and r.location.endswith("/showroom")
    assert stored_answers(app) == {
        "tier": "hund", "alter": "welpe", "bedarf": ["futter", "snacks"], "budget": "bis-50",
        "wichtig": "natur",
    }
    with app.app_context():
        kinds = dict(db.session.execute(
            select(Event.kind, func.count()).group_by(Event.kind)).all())
    assert kinds == {"quiz_start": 1, "answer": 5, "quiz_complete": 1}
    # Coming back later through the same link opens the showroom straight away.
    again = client.get(demo.path("Anna"))
    assert again.status_code == 303 and again.location.endswith("/showroom")


def test_question_page_is_a_fragment_for_htmx_and_a_page_otherwise(client, demo):
    path = demo.path("Anna", "/quiz/tier")
    full = client.get(path)
    fragment = client.get(path, headers=HX)
    for response in (full, fragment):
        assert response.status_code == 200
        assert "HX-Request" in response.headers["Vary"]
        assert 'action="' + path + '"' in response.get_data(as_text=True)
    assert "</html>" in full.get_data(as_text=True)
    assert "</html>" not in fragment.get_data(as_text=True)
    # Boosted requests and history restores need the whole page.
    boosted = client.get(path, headers={**HX, "HX-Boosted": "true"})
    assert "</html>" in boosted.get_data(as_text=True)
    restore = client.get(path, headers={**HX, "HX-History-Restore-Request": "true"})
    assert "</html>" in restore.get_data(as_text=True)


def test_htmx_post_moves_on_and_the_last_answer_navigates(client, demo):
    base = demo.path("Anna", "/quiz/")
    r = answer(client, base + "tier", "katze", headers=HX)
    assert r.status_code == 303  # the browser's XHR follows it to the next fragment
    answer(client, base + "bedarf", "spielzeug", headers=HX)
    answer(client, base + "budget", "egal", headers=HX)
    last = answer(client, base + "wichtig", "premium", headers=HX)
    # A full page must not be swapped into the question's place: htmx is told to navigate.
    assert last.status_code == 200
    assert last.headers["HX-Redirect"].endswith(demo.path("Anna", "/showroom"))
    plain = answer(client, base + "wichtig", "premium")
    assert plain.status_code == 303


def test_an_option_that_is_not_offered_changes_nothing(app, client, demo):
    path = demo.path("Anna", "/quiz/tier")
    r = answer(client, path, "einhorn")
    assert r.status_code == 422
    assert "Keine gültige Auswahl" in r.get_data(as_text=True)
    assert stored_answers(app) in (None, {})
    r = answer(client, path, "einhorn", headers=HX)
    assert r.status_code == 422 and "</html>" not in r.get_data(as_text=True)
    assert r.headers["HX-Push-Url"] == "false"


def test_no_answer_to_a_multiple_choice_gets_an_inline_error(app, client, demo):
    base = demo.path("Anna", "/quiz/")
    answer(client, base + "tier", "katze")
    r = answer(client, base + "bedarf")
    assert r.status_code == 422
    assert "Bitte wähle mindestens eine Antwort aus." in r.get_data(as_text=True)
    assert stored_answers(app) == {"tier": "katze"}


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, demo):
    r = client.post(demo.path("Anna", "/quiz/tier"), data={"answer": "hund"})
    assert r.status_code == 400
    assert "Dieses Formular ist abgelaufen" in r.get_data(as_text=True)
    assert stored_answers(app) is None


def test_cannot_skip_ahead_of_an_unanswered_question(client, demo):
    r = client.get(demo.path("Anna", "/quiz/budget"))
    assert r.status_code == 303 and r.location.endswith("/quiz/tier")
    assert client.get(demo.path("Anna", "/quiz/nope")).status_code == 404


def test_back_shows_the_previous_answer_and_changing_it_keeps_others(app, client, demo):
    base = demo.path("Anna", "/quiz/")
    answer(client, base + "tier", "katze")
    page = client.get(base + "bedarf").get_data(as_text=True)
    assert f'href="{base}tier"' in page  # the Back link
    previous = client.get(base + "tier").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="katze"', previous)
    answer(client, base + "bedarf", "futter")
    answer(client, base + "tier", "kleintier")
    assert stored_answers(app) == {"tier": "kleintier", "bedarf": ["futter"]}


def test_anonymous_quiz_uses_a_first_party_cookie(app, client):
    landing = client.get("/q/zoohandlung")
    assert landing.status_code == 200
    cookie = client.get_cookie("purl_visitor")
    assert cookie is not None and cookie.http_only
    r = answer(client, "/q/zoohandlung/quiz/tier", "aquaristik")
    assert r.status_code == 303 and r.location.endswith("/q/zoohandlung/quiz/bedarf")
    assert stored_answers(app) == {"tier": "aquaristik"}
    # Another browser (no cookie) starts afresh and cannot see these answers.
    other = app.test_client()
    r = other.get("/q/zoohandlung/quiz/bedarf")
    assert r.status_code == 303 and r.location.endswith("/q/zoohandlung/quiz/tier")


def test_a_visitor_quiz_speaks_its_shops_language_until_the_shopper_switches(client, demo):
    english_browser = {"Accept-Language": "en-US,en"}
    page = client.get("/q/zoohandlung/quiz/tier", headers=english_browser)
    html = page.get_data(as_text=True)
    # The shop is German (its visitor campaign's language), whatever the browser prefers.
    assert "Für welches Tier suchst du etwas?" in html and "Frage 1 von 4" in html
    assert 'href="?lang=en"' in html  # the switch, on every visitor page
    switched = client.get("/q/zoohandlung/quiz/tier?lang=en", headers=english_browser)
    assert "Which pet are you shopping for?" in switched.get_data(as_text=True)
    assert "Question 1 of 4" in switched.get_data(as_text=True)
    # The choice is kept: the next page (no ?lang=) is English too, and back is one click.
    kept = client.get("/q/zoohandlung", headers={"Accept-Language": "de"})
    assert "Find the right things for your pet" in kept.get_data(as_text=True)
    back = client.get("/q/zoohandlung/quiz/tier?lang=de").get_data(as_text=True)
    assert "Für welches Tier suchst du etwas?" in back
    assert client.get("/q/zoohandlung/quiz/tier?lang=xx").status_code == 200


def test_a_personal_link_keeps_its_campaigns_language(client, demo):
    html = client.get(demo.path("Anna") + "?lang=en",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "?lang=" not in html and 'lang="de"' in html


def test_unknown_quiz_is_a_404(client):
    assert client.get("/q/nope").status_code == 404


def test_preferences_from_answers():
    quiz = load_quiz_file(QUIZ_FOLDER / "zoohandlung.yaml")
    prefs = preferences(quiz, {"tier": "hund", "bedarf": ["futter", "snacks"],
                               "budget": "bis-20", "wichtig": "natur"})
    def filters(prefs, question_id):  # noqa: ANN001, ANN202
        return [dict(a.filter) for a in prefs.constraint(question_id).alternatives]

    assert filters(prefs, "tier") == [{"category": "hund"}]
    assert filters(prefs, "bedarf") == [{"product_type": "futter"}, {"product_type": "snacks"}]
    assert [str(f["price_max"]) for f in filters(prefs, "budget")] == ["20"]
    assert prefs.tag_weights == {"bio": 2.0, "nachhaltig": 1.0}
    no_budget = preferences(quiz, {"tier": "hund", "budget": "egal"})
    assert not no_budget.constraint("budget").active  # "egal": any price
