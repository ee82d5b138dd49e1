"""Quiz files: every kind of broken file is refused with file, question and problem; the
branching, profiling and preference logic behind the flow."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from purl.models import Recipient
from purl.quiz import flow as logic
from purl.quiz.format import QuizError, get_quiz, load_quiz_file, parse_quiz

ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "broken_quizzes"

# file -> (question named in the message, the problem)
PROBLEMS = {
    "unknown_condition.yaml": ("question 'b'", "show_if refers to unknown question 'nope'"),
    "later_condition.yaml": ("question 'a'", "refers to question 'b', which comes later"),
    "condition_value.yaml": ("question 'b'", "tests 'a' for 'z', which is not one of its options"),
    "duplicate_option.yaml": ("question 'a'", "duplicate option value 'x'"),
    "unknown_field.yaml": ("question 'a', option 'x'", "filter on unknown catalog field 'farbe'"),
    "range_bounds.yaml": ("question 'budget'", "bad range bounds: min (100) must be below max"),
    "range_default.yaml": ("question 'budget'", "default (500) lies outside 10–100"),
    "range_target.yaml": ("question 'budget'", "maps_to 'gewicht' is not a catalog filter"),
    "multi_bounds.yaml": ("question 'a'", "max_choices must be a whole number from 1 to 3"),
    "missing_image.yaml": ("question 'a', option 'x'", "image 'img/quiz/nope.svg' not found"),
    "image_escape.yaml": ("question 'a', option 'x'", "not found under static/"),
    "answered_by.yaml": ("question 'tier'", "maps 'Pferd' to 'pferd', which is not one of"),
    "typo_key.yaml": ("question 'a'", "unknown key 'shwo_if'"),
    "yesno_options.yaml": ("question 'a'", "options are exactly yes and no"),
    "text_length.yaml": ("question 'wunsch'", "max_length must be from 1 to 500"),
    "condition_on_text.yaml": ("question 'b'", "'wunsch' is a text question"),
    "duplicate_question.yaml": ("question 'a'", "duplicate question id"),
    "bad_campaign.yaml": ("", "visitor_campaign must be a campaign slug"),
    "bad_shop.yaml": ("", "shop must be the shop's name (up to 100 characters)"),
}


def test_every_broken_fixture_has_an_expected_problem():
    assert {p.name for p in BROKEN.glob("*.yaml")} == set(PROBLEMS)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_quiz_check_names_file_question_and_problem(runner, name):  # noqa: ANN001
    question, problem = PROBLEMS[name]
    result = runner.invoke(args=["quiz", "check", str(BROKEN / name)])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith(f"error: {name}"), first
    assert question in first and problem in first, first


def test_quiz_check_of_a_folder_reports_each_broken_file(runner):
    result = runner.invoke(args=["quiz", "check", str(BROKEN)])
    assert result.exit_code == 1
    assert f"{len(PROBLEMS)} of {len(PROBLEMS)} quiz files have errors" in result.output


def test_quiz_check_accepts_the_shipped_quizzes(runner):
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 0, result.output
    assert "ok: zoohandlung.yaml" in result.output and "ok: roestwerk.yaml" in result.output
    # Before the demo is loaded the visitor campaigns are missing: a warning, not an error.
    assert "warning: roestwerk.yaml: visitor_campaign 'roestwerk-web' does not exist" \
        in result.output
    runner.invoke(args=["demo", "load"])
    result = runner.invoke(args=["quiz", "check"])
    assert result.exit_code == 0 and "warning" not in result.output


def test_an_invalid_quiz_is_never_stored_and_the_import_says_why(app, runner, tmp_path):  # noqa: ANN001
    shutil.copy(ROOT / "quizzes" / "zoohandlung.yaml", tmp_path / "good.yaml")
    (tmp_path / "bad.yaml").write_text(
        (BROKEN / "unknown_condition.yaml").read_text().replace("slug: broken", "slug: kaputt"))
    result = runner.invoke(args=["quiz", "import", "--publish", str(tmp_path)])
    assert result.exit_code == 1
    assert "nothing imported: bad.yaml, question 'b': show_if refers to unknown question" \
        in result.output
    client = app.test_client()
    assert client.get("/q/kaputt").status_code == 404
    assert client.get("/q/zoohandlung").status_code == 200


def quiz():  # noqa: ANN201
    return load_quiz_file(ROOT / "quizzes" / "roestwerk.yaml")


def test_a_quiz_file_changed_added_or_removed_is_served_as_it_is_now(tmp_path):
    """The shopper pages remember which file holds which quiz; edits still show at once."""
    import os

    shipped = (ROOT / "quizzes" / "roestwerk.yaml").read_text(encoding="utf-8")
    target = tmp_path / "kaffee.yaml"
    target.write_text(shipped, encoding="utf-8")
    assert get_quiz(tmp_path, "roestwerk") is not None
    renamed = shipped.replace("slug: roestwerk", "slug: kaffee-quiz", 1)
    target.write_text(renamed, encoding="utf-8")
    os.utime(target, ns=(1, 10**18))  # a new mtime even on a coarse clock
    assert get_quiz(tmp_path, "roestwerk") is None
    assert get_quiz(tmp_path, "kaffee-quiz") is not None
    target.unlink()
    assert get_quiz(tmp_path, "kaffee-quiz") is None
    (tmp_path / "later.yaml").write_text(shipped, encoding="utf-8")
    assert get_quiz(tmp_path, "roestwerk") is not None


def test_show_if_follows_earlier_answers_and_combinations():
    q = quiz()
    ids = [x.id for x in logic.visible_questions(q, {"zubereitung": "vollautomat"})]
    assert "muehle" not in ids  # not: a bean-to-cup machine grinds itself
    assert "koffein" not in ids
    ids = [x.id for x in logic.visible_questions(q, {"zubereitung": "handfilter",
                                                     "milch": "no", "geschmack": ["nussig"]})]
    assert "muehle" in ids and "koffein" in ids  # any: mild flavour
    ids = [x.id for x in logic.visible_questions(q, {"milch": "no", "geschmack": ["fruchtig"]})]
    assert "koffein" not in ids


def test_changing_an_earlier_answer_drops_answers_of_hidden_questions():
    q = quiz()
    answers = {"zubereitung": "siebtraeger", "muehle": "yes", "milch": "no",
               "geschmack": ["nussig"], "koffein": "ohne"}
    # A hidden question's stale answer does not keep a later branch alive either.
    assert "koffein" in [x.id for x in logic.visible_questions(q, answers)]
    changed = {**answers, "geschmack": ["fruchtig"]}
    assert "koffein" not in [x.id for x in logic.visible_questions(q, changed)]
    prefs = logic.preferences(q, changed)
    assert prefs.constraint("koffein") is None  # the dropped "decaf" filter no longer applies


def test_progress_counts_the_shoppers_path():
    q = quiz()
    short = {"zubereitung": "vollautomat"}
    assert logic.progress(q, short, "milch") == (2, 5)
    long = {"zubereitung": "handfilter", "muehle": "no", "milch": "yes"}
    assert logic.progress(q, long, "milch") == (3, 7)


def test_a_range_on_price_sets_the_price_bound_and_options_bring_content():
    q = quiz()
    answers = {"zubereitung": "handfilter", "muehle": "no", "milch": "no",
               "geschmack": ["fruchtig"], "budget": 12, "wunsch": "<b>mild</b>"}
    prefs = logic.preferences(q, answers, "de")
    assert [a.filter for a in prefs.constraint("budget").alternatives] == \
        [{"price_max": Decimal("12")}]
    assert [a.filter for a in prefs.constraint("zubereitung").alternatives] == \
        [{"category": "filter"}]
    assert [a.filter for a in prefs.constraint("muehle").alternatives] == \
        [{"product_type": "gemahlen"}]
    assert [b.title for b in prefs.content_blocks] == ["Frisch gemahlen schmeckt's besser"]
    english = logic.preferences(q, answers, "en")
    assert english.content_blocks[0].title == "Freshly ground tastes better"
    assert "bis 12 €" in [c.label for c in prefs.criteria]
    chips = {c.question_id: c.label for c in logic.answer_chips(q, answers, "de")}
    assert chips["budget"] == "bis 12 €" and chips["wunsch"] == "<b>mild</b>"
    assert chips["muehle"] == "Gemahlen"  # the option's reason
    assert "Gemahlen" in [c.label for c in prefs.criteria]
    content = "slug: x\nquestions:\n - id: a\n   type: yesno\n   text: Mühle?\n"
    bare = parse_quiz(content, "x.yaml")
    assert logic.answer_chips(bare, {"a": "no"})[0].label == "Mühle? Nein"


def test_puppy_owners_get_the_puppy_advice():
    pets = load_quiz_file(ROOT / "quizzes" / "zoohandlung.yaml")
    prefs = logic.preferences(pets, {"tier": "hund", "alter": "welpe"})
    assert prefs.content_blocks and "Welpe" in prefs.content_blocks[0].title
    assert logic.preferences(pets, {"tier": "katze"}).content_blocks == []


@pytest.mark.parametrize(
    ("question_id", "raw", "problem"),
    [
        ("budget", ["41"], "takes 5 to 40"),
        ("budget", ["4.99"], "takes 5 to 40"),
        ("budget", ["zwanzig"], "needs a number"),
        ("budget", ["NaN"], "takes 5 to 40"),
        ("zubereitung", ["kapsel"], "not an option"),
        ("zubereitung", ["handfilter", "siebtraeger"], "takes one answer"),
        ("geschmack", ["fruchtig", "nussig", "kraeftig"], "at most 2"),
        ("geschmack", [], "at least 1"),
        ("muehle", ["maybe"], "not an option"),
        ("wunsch", ["x" * 201], "at most 200 characters"),
    ],
)
def test_clean_value_refuses_what_the_question_does_not_offer(question_id, raw, problem):  # noqa: ANN001
    question = quiz().question(question_id)
    with pytest.raises(ValueError, match=problem):
        logic.clean_value(question, raw)


def test_clean_value_keeps_what_is_valid():
    q = quiz()
    assert logic.clean_value(q.question("budget"), ["20"]) == 20
    assert logic.clean_value(q.question("budget"), ["12,5"]) == 12.5
    assert logic.clean_value(q.question("geschmack"), ["nussig", "fruchtig"]) == \
        ["fruchtig", "nussig"]
    assert logic.clean_value(q.question("wunsch"), ["  "]) is None  # optional, left empty
    assert logic.clean_value(q.question("muehle"), ["no"]) == "no"


def test_shuffled_order_is_stable_per_shopper_and_differs_across_shoppers():
    question = quiz().question("geschmack")
    first = [o.value for o in logic.option_order(question, "shopper-1")]
    assert first == [o.value for o in logic.option_order(question, "shopper-1")]
    assert sorted(first) == sorted(o.value for o in question.options)
    orders = {tuple(o.value for o in logic.option_order(question, f"s{i}")) for i in range(20)}
    assert len(orders) > 1
    fixed = quiz().question("zubereitung")
    assert logic.option_order(fixed, "x") == list(fixed.options)


def test_recipient_attributes_answer_questions():
    pets = load_quiz_file(ROOT / "quizzes" / "zoohandlung.yaml")
    recipient = Recipient(attributes={"Haustier": " katze "})
    assert logic.profile_answers(pets, recipient) == {"tier": "katze"}
    assert logic.profile_answers(pets, Recipient(attributes={"Haustier": "Pferd"})) == {}
    assert logic.profile_answers(pets, Recipient(attributes={"haustier": "HUND"})) == \
        {"tier": "hund"}
    assert logic.profile_answers(pets, Recipient(attributes={})) == {}
    assert logic.profile_answers(pets, None) == {}


def test_yes_and_no_written_plainly_in_yaml_stay_words():
    content = ("slug: x\nquestions:\n - id: a\n   type: yesno\n   text: A?\n"
               " - id: b\n   text: B?\n   show_if: {question: a, equals: yes}\n"
               "   options: [{value: x, label: X}, {value: y, label: Y}]")
    q = parse_quiz(content, "ok.yaml")
    assert [o.value for o in q.question("a").options] == ["yes", "no"]
    assert q.question("b").show_if.holds({"a": "yes"})
    with pytest.raises(QuizError, match="ok.yaml, question 'a'"):
        parse_quiz(content.replace("type: yesno", "type: yesno\n   required: maybe"), "ok.yaml")


def test_the_documented_example_is_a_valid_quiz():
    readme = (ROOT / "quizzes" / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    q = parse_quiz(example, "README.md")
    assert [x.type for x in q.questions] == ["image", "yesno", "multi", "single", "range", "text"]
    assert q.question("koffein").show_if.holds({"zubereitung": "siebtraeger", "muehle": "yes"})
    assert not q.question("koffein").show_if.holds({"zubereitung": "siebtraeger",
                                                    "muehle": "no", "geschmack": ["fruchtig"]})


def test_quiz_schema_prints_a_json_schema_the_shipped_quizzes_satisfy(runner):  # noqa: ANN001
    import json

    import jsonschema
    import yaml

    result = runner.invoke(args=["quiz", "schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    readme = (ROOT / "quizzes" / "README.md").read_text(encoding="utf-8")
    documented = [block.split("```", 1)[0] for block in readme.split("```yaml\n")[1:]]
    files = [p.read_text(encoding="utf-8") for p in (ROOT / "quizzes").glob("*.yaml")]
    for content in files + documented[:1]:
        assert list(validator.iter_errors(yaml.safe_load(content))) == []
    # An editor flags a typo as it is typed, as quiz check does.
    typo = yaml.safe_load((BROKEN / "typo_key.yaml").read_text())
    assert list(validator.iter_errors(typo))


def test_problems_name_question_option_and_field_in_german(app):  # noqa: ANN001
    from flask_babel import force_locale, gettext

    content = ("slug: x\nquestions:\n - id: tier\n   text: Tier?\n   required: vielleicht\n"
               "   options:\n    - {value: hund, label: Hund, filter: {farbe: braun}}\n"
               "    - {value: katze, label: Katze}\n")
    with pytest.raises(QuizError) as caught:
        parse_quiz(content, "x.yaml")
    english = caught.value.messages()
    assert "x.yaml, question 'tier': “required” is true or false" in english
    assert ("x.yaml, question 'tier', option 'hund': filter on unknown catalog field 'farbe' "
            "(known: attributes, category, price_max, price_min, product_type, tags)") in english
    with app.test_request_context(), force_locale("de"):
        german = caught.value.messages(gettext)
    assert ("x.yaml, Frage 'tier': „Pflichtfrage“ (required) ist true (ja) oder false (nein)"
            in german)
    assert any(line.startswith("x.yaml, Frage 'tier', Antwort 'hund': Filter auf ein "
                               "unbekanntes Katalogfeld 'farbe'") for line in german), german
    typo = parse_error("slug: x\nquestions:\n - id: a\n   text: A?\n   optoins: [x, y]\n")
    with app.test_request_context(), force_locale("de"):
        assert typo.messages(gettext) == [
            "x.yaml, Frage 'a': unbekannte Einstellung 'optoins': meinen Sie 'options'?"]


def parse_error(content: str) -> QuizError:
    with pytest.raises(QuizError) as caught:
        parse_quiz(content, "x.yaml")
    return caught.value


def test_the_new_matching_keys_are_validated():
    base = ("slug: x\nquestions:\n - id: a\n   text: A?\n   options:\n"
            "    - {value: x, label: X, %s}\n    - {value: y, label: Y}\n")
    good = parse_quiz(base % "filter: {attributes: {watt: {max: 10}, farbe: [weiß, schwarz]}}, "
                             "exclude: {tags: decaf, attributes: {material: kunststoff}}", "x.yaml")
    option = good.question("a").option("x")
    assert option.filter == {"attributes": {"watt": {"max": Decimal(10)},
                                            "farbe": {"in": ["weiß", "schwarz"]}}}
    assert option.exclude == {"tags": "decaf", "attributes": {"material": {"in": ["kunststoff"]}}}
    assert "attribute 'watt': min is above max" in str(parse_error(
        base % "filter: {attributes: {watt: {min: 10, max: 5}}}"))
    assert "exclude on unknown catalog field 'price_max'" in str(parse_error(
        base % "exclude: {price_max: 5}"))
    assert "how firmly it filters (match) takes one of" in str(parse_error(
        base.replace("   text: A?\n", "   text: A?\n   match: sometimes\n") % "label: X"))
    ranged = parse_quiz("slug: x\nquestions:\n - id: w\n   type: range\n   text: W?\n"
                        "   min: 1\n   max: 50\n   maps_to: {attribute: watt, bound: min}\n",
                        "x.yaml")
    assert (ranged.question("w").range.attribute, ranged.question("w").range.bound) == \
        ("watt", "min")
