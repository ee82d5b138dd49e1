"""Quiz versions in the database: import, publish, roll back, export (round trip), the version
a shopper gets and keeps, and the migration that stored the quiz files as version 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from purl.extensions import db
from purl.links import codes, tokens
from purl.models import (
    Campaign,
    Event,
    QuizPublication,
    QuizResponse,
    QuizVersion,
    Recipient,
    ShopperProfile,
    StoredQuiz,
    utcnow,
)
from purl.quiz import versions
from purl.quiz.format import content_version
from tests.conftest import TEST_KEYS, answer

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "quizzes"
COFFEE = "/q/roestwerk/quiz/"
OLD_MILK = "Trinkst du deinen Kaffee meistens mit Milch?"
NEW_MILK = "Magst du Milch im Kaffee?"


def _counts(app) -> tuple[int, int, int]:  # noqa: ANN001
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (StoredQuiz, QuizVersion, QuizPublication))


def _coffee_v2(tmp_path: Path) -> Path:
    """The roaster's quiz edited: the milk question reworded, the free-text wish removed."""
    text = (SHIPPED / "roestwerk.yaml").read_text(encoding="utf-8")
    assert OLD_MILK in text and "  - id: wunsch" in text
    text = text.replace(OLD_MILK, NEW_MILK).split("  - id: wunsch")[0]
    path = tmp_path / "roestwerk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def milk_question(app) -> str:  # noqa: ANN001
    """The milk question as a new visitor is asked it (the third question)."""
    visitor = app.test_client()
    visitor.get("/q/roestwerk")
    for question_id, values in [("zubereitung", ["handfilter"]), ("muehle", ["no"])]:
        assert answer(visitor, COFFEE + question_id, *values).status_code == 303
    return visitor.get(COFFEE + "milch").get_data(as_text=True)


@pytest.mark.parametrize("slug", ["zoohandlung", "roestwerk"])
def test_export_then_import_round_trips_a_demo_quiz_unchanged(app, runner, tmp_path, slug):  # noqa: ANN001
    before = _counts(app)
    printed = runner.invoke(args=["quiz", "export", slug])
    assert printed.exit_code == 0, printed.output
    assert printed.output == (SHIPPED / f"{slug}.yaml").read_text(encoding="utf-8")
    written = runner.invoke(args=["quiz", "export", slug, "--version", "1", "--out",
                                  str(tmp_path / "out")])
    assert written.exit_code == 0, written.output
    exported = tmp_path / "out" / f"{slug}.yaml"
    assert exported.read_text(encoding="utf-8") == printed.output
    checked = runner.invoke(args=["quiz", "check", str(exported)])
    assert checked.exit_code == 0 and f"ok: {slug}.yaml" in checked.output
    imported = runner.invoke(args=["quiz", "import", "--publish", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert f"{slug}: unchanged, same as version 1 (published)" in imported.output
    assert _counts(app) == before


def test_an_identical_import_stores_nothing_and_a_changed_one_a_draft(app, runner, tmp_path):  # noqa: ANN001
    before = _counts(app)
    again = runner.invoke(args=["quiz", "import", str(SHIPPED)])
    assert again.exit_code == 0, again.output
    assert _counts(app) == before
    edited = runner.invoke(args=["quiz", "import", str(_coffee_v2(tmp_path))])
    assert edited.exit_code == 0, edited.output
    assert "roestwerk: version 2 stored (draft)" in edited.output
    assert _counts(app) == (before[0], before[1] + 1, before[2])
    # A draft is not what shoppers get.
    assert OLD_MILK in milk_question(app)
    # The same draft imported again stores nothing either.
    runner.invoke(args=["quiz", "import", str(tmp_path / "roestwerk.yaml")])
    assert _counts(app) == (before[0], before[1] + 1, before[2])


def test_a_broken_file_among_several_imports_none_of_them(app, runner, tmp_path):  # noqa: ANN001
    before = _counts(app)
    good = _coffee_v2(tmp_path)
    broken = tmp_path / "zz-broken.yaml"
    broken.write_text("slug: kaputt\nquestions:\n  - id: a\n    type: single\n",
                      encoding="utf-8")
    result = runner.invoke(args=["quiz", "import", "--publish", str(good), str(broken)])
    assert result.exit_code == 1
    assert "nothing imported: zz-broken.yaml, question 'a'" in result.output
    assert _counts(app) == before


def test_publish_then_roll_back(app, runner, tmp_path):  # noqa: ANN001
    runner.invoke(args=["quiz", "import", str(_coffee_v2(tmp_path))])
    assert runner.invoke(args=["quiz", "rollback", "roestwerk", "2"]).exit_code == 1  # a draft
    published = runner.invoke(args=["quiz", "publish", "roestwerk"])
    assert published.exit_code == 0 and "version 2 published" in published.output
    assert "no draft to publish" in runner.invoke(args=["quiz", "publish", "roestwerk"]).output

    assert NEW_MILK in milk_question(app)
    assert runner.invoke(args=["quiz", "export", "roestwerk"]).output == \
        (tmp_path / "roestwerk.yaml").read_text(encoding="utf-8")
    rolled = runner.invoke(args=["quiz", "rollback", "roestwerk", "1"])
    assert rolled.exit_code == 0 and "version 1 published again" in rolled.output
    assert OLD_MILK in milk_question(app)
    refused = runner.invoke(args=["quiz", "rollback", "roestwerk", "1"])
    assert refused.exit_code == 1 and "is the one published" in refused.output
    lines = runner.invoke(args=["quiz", "history", "roestwerk"]).output.splitlines()
    assert [line.split()[0] for line in lines] == ["v2", "v1"]
    assert lines[1].endswith("<- live") and "<- live" not in lines[0]
    assert lines[1].count(",") == 1  # version 1 went live twice
    with app.app_context():
        stored = versions.stored_quiz(db.session, "roestwerk")
        first = versions.version(db.session, stored, 1)
        # Frozen: its text is the shipped file's, under the hash answers carry.
        assert first.content == (SHIPPED / "roestwerk.yaml").read_text(encoding="utf-8")
        assert first.content_hash == content_version(first.content)


def test_a_response_started_on_one_version_finishes_on_it(app, client, demo, runner,  # noqa: ANN001
                                                          tmp_path):
    client.get("/q/roestwerk")
    for question_id, values in [("zubereitung", ["handfilter"]), ("muehle", ["no"])]:
        assert answer(client, COFFEE + question_id, *values).status_code == 303
    with app.app_context():
        v1 = db.session.scalar(select(QuizResponse.quiz_version))
    assert runner.invoke(args=["quiz", "import", "--publish",
                               str(_coffee_v2(tmp_path))]).exit_code == 0
    # The shopper who started goes on with the questions they started on ...
    assert OLD_MILK in client.get(COFFEE + "milch").get_data(as_text=True)
    for question_id, values in [("milch", ["no"]), ("geschmack", ["fruchtig"]),
                                ("budget", ["15"])]:
        assert answer(client, COFFEE + question_id, *values).status_code == 303
    last = answer(client, COFFEE + "wunsch", "Gern hell geröstet")  # gone from version 2
    assert last.status_code == 303
    assert client.get("/q/roestwerk/showroom").status_code == 200
    with app.app_context():
        response = db.session.scalar(select(QuizResponse))
        assert response.completed_at is not None and response.quiz_version == v1
        assert response.answers["wunsch"] == "Gern hell geröstet"
        assert set(db.session.scalars(select(Event.quiz_version).where(
            Event.quiz_slug == "roestwerk"))) == {v1}
    # ... while a new one gets version 2.
    assert NEW_MILK in milk_question(app)
    newcomer = app.test_client()
    newcomer.get("/q/roestwerk")
    assert newcomer.get(COFFEE + "wunsch").status_code == 404


def test_a_campaign_pinned_to_a_version_keeps_it(app, client, demo, tmp_path):  # noqa: ANN001
    shipped = (SHIPPED / "zoohandlung.yaml").read_text(encoding="utf-8")
    old, new = "Für welches Tier suchst du etwas?", "Welches Tier hast du?"
    with app.app_context():
        campaign = db.session.get(Campaign, demo.campaign_id)
        versions.pin(db.session, campaign, 1)
        versions.import_quiz(db.session, shipped.replace(old, new), "edit.yaml", publish=True)
        db.session.commit()
    # Anna's campaign keeps version 1; a visitor of the quiz gets version 2.
    assert old in client.get(demo.path("Anna", "/quiz/tier")).get_data(as_text=True)
    visitor = app.test_client()
    visitor.get("/q/zoohandlung")
    assert new in visitor.get("/q/zoohandlung/quiz/tier").get_data(as_text=True)
    with app.app_context():
        campaign = db.session.get(Campaign, demo.campaign_id)
        with pytest.raises(versions.VersionError):
            versions.pin(db.session, campaign, 3)
        versions.pin(db.session, campaign, None)
        db.session.commit()
    assert new in app.test_client().get(demo.path("Jürgen", "/quiz/tier")).get_data(as_text=True)


def test_the_migration_keeps_stored_answers_on_their_version(make_app, empty_database):  # noqa: ANN001
    """A database from before 0012 holds answers given to the quiz files; afterwards each file
    is version 1 of its quiz, under the hash the answers carry, and the showroom reads them."""
    app = make_app(SQLALCHEMY_DATABASE_URI=empty_database)
    cli = app.test_cli_runner()
    assert cli.invoke(args=["db", "upgrade", "0011"]).exit_code == 0
    given_to = content_version((SHIPPED / "zoohandlung.yaml").read_text(encoding="utf-8"))
    code = codes.new_code()
    with app.app_context():
        db.session.execute(insert(Campaign.__table__).values(
            slug="winter", name="Winter", quiz_slug="zoohandlung", variants=[]))
        campaign_id = db.session.scalar(select(Campaign.__table__.c.id))
        anna = Recipient(campaign_id=campaign_id, code=code, identity="email:anna@example.org",
                         channel="email", first_name="Anna", attributes={})
        db.session.add(anna)
        db.session.flush()
        profile = ShopperProfile(recipient_id=anna.id)
        db.session.add(profile)
        db.session.flush()
        db.session.add(QuizResponse(
            profile_id=profile.id, quiz_slug="zoohandlung", quiz_version=given_to,
            answers={"tier": "katze", "bedarf": ["futter"], "budget": "egal",
                     "wichtig": "natur"}, completed_at=utcnow()))
        db.session.commit()
    result = cli.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        stored = db.session.scalars(select(QuizVersion).order_by(QuizVersion.content_hash))
        rows = {(v.quiz.slug, v.number, v.content_hash, v.is_draft) for v in stored}
        roaster = content_version((SHIPPED / "roestwerk.yaml").read_text(encoding="utf-8"))
        assert rows == {("zoohandlung", 1, given_to, False), ("roestwerk", 1, roaster, False)}
        response = db.session.scalar(select(QuizResponse))
        assert versions.quiz_by_hash(db.session, "zoohandlung", response.quiz_version)
    client = app.test_client()
    token = tokens.sign(code, TEST_KEYS)
    landing = client.get(f"/p/{token}")
    assert landing.status_code == 303 and landing.location.endswith("/showroom")
    page = client.get(f"/p/{token}/showroom")
    assert page.status_code == 200 and "Katze" in page.get_data(as_text=True)
    # And back: the downgrade drops what 0012 added, the answers stay.
    assert cli.invoke(args=["db", "downgrade", "0011"]).exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(QuizResponse.__table__.c.quiz_version)) == given_to


def test_demo_load_imports_the_shipped_quizzes_once(app, runner):  # noqa: ANN001
    with app.app_context():  # a database the quizzes never reached
        for model in (QuizPublication, QuizVersion, StoredQuiz):
            db.session.execute(model.__table__.delete())
        db.session.commit()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Quiz 'roestwerk': version 1 published." in first.output
    stored = _counts(app)
    assert stored == (2, 2, 2)
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "version 1 published" not in again.output
    assert _counts(app) == stored
    app.config["HOME_QUIZZES"] = "all"
    page = app.test_client().get("/")
    assert 'href="/q/roestwerk"' in page.get_data(as_text=True)
