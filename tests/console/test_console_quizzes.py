"""The quiz builder's first part in the console: the quizzes, a new quiz (blank, from a
template, as a copy), the draft's title, introduction and questions, publishing with what it
changes, roll-back, and versions as files; refusals in German naming the question."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import yaml

from purl.extensions import db
from purl.models import (
    Campaign,
    Product,
    QuizResponse,
    QuizVersion,
    StoredFile,
    StoredFileChunk,
    StoredQuiz,
    User,
)
from purl.quiz import versions
from purl.quiz.format import parse_quiz
from tests.conftest import (
    HX,
    MARKETER,
    MARKETER_PASSWORD,
    answer,
    csrf_token,
    form_fields,
    login,
)


def _post(client, path: str, data: dict | None = None, headers: dict | None = None,  # noqa: ANN001, ANN201
          page: str = "/console/quizzes"):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})}, headers=headers or {})


def _versions(app, slug: str) -> list[QuizVersion]:  # noqa: ANN001
    with app.app_context():
        stored = versions.stored_quiz(db.session, slug)
        rows = list(db.session.scalars(db.select(QuizVersion).where(
            QuizVersion.quiz_id == stored.id).order_by(QuizVersion.number)))
        db.session.expunge_all()
        return rows


def _questions(app, slug: str, number: int | None = None) -> list[str]:  # noqa: ANN001
    rows = _versions(app, slug)
    row = rows[-1] if number is None else next(v for v in rows if v.number == number)
    return [q.id for q in parse_quiz(row.content, slug).questions]


def test_the_list_shows_each_quiz_with_what_shoppers_get(console) -> None:  # noqa: ANN001
    page = console.get("/console/quizzes")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Finde das Richtige für dein Tier" in html and "zoohandlung" in html
    assert "Version 1" in html  # the demo quizzes are published
    assert 'aria-current="page">Quizze</a>' in html


def test_a_quiz_from_a_template_is_a_private_draft_of_its_questions(console) -> None:  # noqa: ANN001
    app = console.application
    answer = _post(console, "/console/quizzes", {"title": "Winter-Quiz für Hunde",
                                                  "slug": "", "start": "copy:zoohandlung"})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/console/quizzes/winter-quiz-fuer-hunde")
    (draft,) = _versions(app, "winter-quiz-fuer-hunde")
    assert draft.published_at is None and draft.source == "console"
    data = yaml.safe_load(draft.content)
    assert data["public"] is False and "visitor_campaign" not in data
    assert data["title"] == {"de": "Winter-Quiz für Hunde"}
    assert _questions(app, "winter-quiz-fuer-hunde") == _questions(app, "zoohandlung")
    page = console.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Noch nicht veröffentlicht" in page and "Version 1 veröffentlichen" in page
    # Not published: no shopper reaches it.
    assert console.get("/q/winter-quiz-fuer-hunde").status_code == 404


def test_a_blank_quiz_and_a_taken_address(console) -> None:  # noqa: ANN001
    app = console.application
    answer = _post(console, "/console/quizzes", {"title": "Leer", "slug": "leer", "start": ""})
    assert answer.status_code == 303
    assert _questions(app, "leer") == ["frage-1"]
    again = _post(console, "/console/quizzes", {"title": "Nochmal", "slug": "leer", "start": ""})
    assert again.status_code == 422
    assert "Die Adresse &#39;leer&#39; hat schon ein anderes Quiz" in again.get_data(as_text=True)
    bad = _post(console, "/console/quizzes", {"title": "X", "slug": "Groß Buchstaben"})
    assert bad.status_code == 422
    assert "Nur Kleinbuchstaben, Ziffern und Bindestriche." in bad.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(StoredQuiz)) == 3


def test_questions_are_added_moved_and_removed_in_the_draft(console) -> None:  # noqa: ANN001
    app = console.application
    _post(console, "/console/quizzes", {"title": "Baukasten", "slug": "baukasten"})
    page = "/console/quizzes/baukasten"
    for qtype in ("multi", "image", "yesno", "range", "text"):
        answer = _post(console, f"{page}/questions", {"type": qtype}, page=page)
        assert answer.status_code == 303
    assert _questions(app, "baukasten") == [f"frage-{n}" for n in range(1, 7)]
    types = [q.type for q in parse_quiz(_versions(app, "baukasten")[-1].content, "b").questions]
    assert types == ["single", "multi", "image", "yesno", "range", "text"]
    _post(console, f"{page}/questions/frage-3/move", {"direction": "up"}, page=page)
    _post(console, f"{page}/questions/frage-1/move", {"direction": "up"}, page=page)  # stays
    assert _questions(app, "baukasten")[:3] == ["frage-1", "frage-3", "frage-2"]
    _post(console, f"{page}/questions/frage-6/remove", page=page)
    assert "frage-6" not in _questions(app, "baukasten")
    # Still one draft: every change rewrote it.
    assert [v.number for v in _versions(app, "baukasten")] == [1]
    assert _post(console, f"{page}/questions/nope/remove", page=page).status_code == 404
    assert _post(console, f"{page}/questions/frage-1/move", {"direction": "sideways"},
                 page=page).status_code == 400


def test_htmx_gets_the_question_list_and_a_fresh_summary(console) -> None:  # noqa: ANN001
    page = "/console/quizzes/zoohandlung"
    answer = _post(console, f"{page}/questions", {"type": "yesno"}, headers=HX, page=page)
    assert answer.status_code == 303  # htmx follows it with HX-Request still set
    fragment = console.get(page, headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "</html>" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    assert 'id="quiz-publish" hx-swap-oob="true"' in html
    assert "Frage &#39;frage-" in html or "frage-" in html
    assert "hinzugefügt" in html  # the summary of what publishing changes
    full = console.get(page)
    assert "</html>" in full.get_data(as_text=True) and "HX-Request" in full.headers["Vary"]


def test_a_refused_change_names_the_question_in_german_and_keeps_the_draft(console) -> None:  # noqa: ANN001
    app = console.application
    _post(console, "/console/quizzes", {"title": "Bedingt", "slug": "bedingt"})
    page = "/console/quizzes/bedingt"
    _post(console, f"{page}/questions", {"type": "single"}, page=page)
    with app.app_context():  # the second question is shown only for an answer of the first
        row = db.session.scalars(db.select(QuizVersion)).all()[-1]
        data = yaml.safe_load(row.content)
        data["questions"][1]["show_if"] = {"question": "frage-1", "equals": "antwort-1"}
        from purl.quiz import drafts
        drafts.save(db.session, versions.stored_quiz(db.session, "bedingt"), data)
        db.session.commit()
    before = _versions(app, "bedingt")[-1].content
    answer = _post(console, f"{page}/questions/frage-1/remove", headers=HX, page=page)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Nicht gespeichert" in html
    assert "Frage &#39;frage-2&#39;" in html and "frage-1" in html
    assert _versions(app, "bedingt")[-1].content == before
    # An empty title is refused by its field, in German, and changes nothing.
    texts = _post(console, f"{page}/texts", {"title_de": "", "title_de_sie": "", "title_en": ""},
                  page=page)
    assert texts.status_code == 422
    assert "Das Quiz braucht einen Titel, mindestens auf Deutsch" in texts.get_data(as_text=True)
    assert _versions(app, "bedingt")[-1].content == before


def test_title_in_du_and_sie_then_publish_roll_back_and_download(console) -> None:  # noqa: ANN001
    app = console.application
    page = "/console/quizzes/zoohandlung"
    saved = _post(console, f"{page}/texts", {
        "title_de": "Finde das Beste für dein Tier", "title_de_sie": "Finden Sie das Beste",
        "title_en": "Find the best", "intro_de": "", "intro_de_sie": "", "intro_en": ""},
        page=page)
    assert saved.status_code == 303
    rows = _versions(app, "zoohandlung")
    assert [(v.number, v.published_at is None) for v in rows] == [(1, False), (2, True)]
    data = yaml.safe_load(rows[-1].content)
    assert data["title"]["de"] == {"du": "Finde das Beste für dein Tier",
                                   "sie": "Finden Sie das Beste"}
    assert "intro" not in data
    html = console.get(page).get_data(as_text=True)
    assert "Der Titel wurde geändert" in html and "Die Einleitung wurde geändert" in html
    assert _post(console, f"{page}/publish", page=page).status_code == 303
    with app.app_context():
        stored = versions.stored_quiz(db.session, "zoohandlung")
        assert versions.current_version(db.session, stored).number == 2
    assert _post(console, f"{page}/versions/1/rollback", page=page).status_code == 303
    with app.app_context():
        stored = versions.stored_quiz(db.session, "zoohandlung")
        assert versions.current_version(db.session, stored).number == 1
    download = console.get(f"{page}/versions/2.yaml")
    assert download.status_code == 200 and download.mimetype == "application/yaml"
    assert "zoohandlung-v2.yaml" in download.headers["Content-Disposition"]
    assert parse_quiz(download.get_data(as_text=True), "v2").title["de:sie"] == \
        "Finden Sie das Beste"
    assert console.get(f"{page}/versions/9.yaml").status_code == 404
    assert _post(console, f"{page}/versions/9/rollback", page=page).status_code == 404


def test_publishing_needs_the_right_to_edit_every_campaign_using_the_quiz(
        make_app, demo, users) -> None:  # noqa: ANN001
    app = make_app()
    client = app.test_client()
    login(client, MARKETER, MARKETER_PASSWORD)
    page = "/console/quizzes/zoohandlung"
    # A marketer may write a draft ...
    assert _post(client, f"{page}/questions", {"type": "text"}, page=page).status_code == 303
    html = client.get(page).get_data(as_text=True)
    assert "bitte deren Besitzer oder einen Admin" in html
    # ... but not publish it to the demo campaigns, which are not theirs.
    assert _post(client, f"{page}/publish", page=page).status_code == 403
    with app.app_context():
        marketer = db.session.scalar(db.select(User).where(User.email == MARKETER))
        for campaign in db.session.scalars(db.select(Campaign).where(
                Campaign.quiz_slug == "zoohandlung")):
            campaign.owner_id = marketer.id
        db.session.commit()
    assert _post(client, f"{page}/publish", page=page).status_code == 303


def test_unknown_quiz_is_404(console) -> None:  # noqa: ANN001
    assert console.get("/console/quizzes/gibt-es-nicht").status_code == 404
    assert _post(console, "/console/quizzes/gibt-es-nicht/publish").status_code == 404


# --- one question ----------------------------------------------------------------------------

def _question(console, slug: str, qid: str):  # noqa: ANN001, ANN202
    page = f"/console/quizzes/{slug}/questions/{qid}"
    html = console.get(page).get_data(as_text=True)
    return page, form_fields(html, page)


def test_every_demo_question_sent_back_unchanged_stores_nothing(console) -> None:  # noqa: ANN001
    app = console.application
    for slug in ("zoohandlung", "roestwerk"):
        for qid in _questions(app, slug):
            page, fields = _question(console, slug, qid)
            answer = console.post(page, data=fields)
            assert answer.status_code == 303, (slug, qid, answer.get_data(as_text=True)[-2000:])
        assert [v.number for v in _versions(app, slug)] == [1], slug


def test_an_option_mapped_to_the_catalog_counts_what_it_leaves(console) -> None:  # noqa: ANN001
    app = console.application
    with app.app_context():
        dogs = db.session.scalar(db.select(db.func.count()).select_from(Product).where(
            Product.category == "hund", Product.available.is_(True)))
        dog_food = db.session.scalar(db.select(db.func.count()).select_from(Product).where(
            Product.category == "hund", Product.product_type == "futter",
            Product.available.is_(True)))
    page, fields = _question(console, "zoohandlung", "tier")
    html = console.get(page).get_data(as_text=True)
    assert f"{dogs} Produkte" in html
    # The catalog's own categories, with their counts.
    assert f'<option selected value="hund">hund ({dogs})</option>' in html
    # Live, unsaved: the count for "Hund" once it also asks for food.
    fields.setlist("options-0-filter_product_type", ["futter"])
    live = console.get(f"{page}/counts", query_string=fields, headers=HX)
    counted = live.get_data(as_text=True)
    assert live.status_code == 200 and "</html>" not in counted
    assert f'id="count-0" hx-swap-oob="true"><strong>{dog_food} Produkte' in counted
    assert [v.number for v in _versions(app, "zoohandlung")] == [1]  # nothing stored
    full = console.get(f"{page}/counts", query_string=fields)
    assert "</html>" in full.get_data(as_text=True) and "HX-Request" in full.headers["Vary"]
    # Saved: the draft holds the filter, and the page counts it.
    assert console.post(page, data=fields).status_code == 303
    option = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["questions"][0]["options"][0]
    assert option["filter"] == {"category": "hund", "product_type": ["futter"]}
    assert f"{dog_food} Produkte" in console.get(page).get_data(as_text=True)


def test_answers_added_removed_and_asked_only_after_an_earlier_answer(console) -> None:  # noqa: ANN001
    app = console.application
    page, fields = _question(console, "zoohandlung", "tier")
    assert console.post(page, data={**fields, "action": "add-option"}).status_code == 303
    data = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)
    assert [o["value"] for o in data["questions"][0]["options"]][-1] == "antwort-5"
    page, fields = _question(console, "zoohandlung", "tier")
    fields["options-4-label_de"] = "Vogel"
    fields["options-4-exclude_tags"] = "sensitiv"
    assert console.post(page, data=fields).status_code == 303
    option = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["questions"][0][
        "options"][4]
    assert option == {"value": "antwort-5", "label": {"de": "Vogel"},
                      "exclude": {"tags": ["sensitiv"]}}
    page, fields = _question(console, "zoohandlung", "tier")
    assert console.post(page, data={**fields, "action": "remove-option:antwort-5"}
                        ).status_code == 303
    values = [o["value"] for o in yaml.safe_load(_versions(app, "zoohandlung")[-1].content)[
        "questions"][0]["options"]]
    assert values == ["hund", "katze", "kleintier", "aquaristik"]
    # A condition from the dropdown of earlier questions' answers.
    page, fields = _question(console, "zoohandlung", "bedarf")
    html = console.get(page).get_data(as_text=True)
    assert 'value="tier=katze"' in html and 'value="alter=senior"' in html
    fields.setlist("show_if", ["tier=katze", "tier=hund"])
    assert console.post(page, data=fields).status_code == 303
    question = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["questions"][2]
    assert question["show_if"] == {"question": "tier", "in": ["katze", "hund"]}
    # The first question has no earlier one to depend on.
    assert "immer gefragt" in console.get(
        "/console/quizzes/zoohandlung/questions/tier").get_data(as_text=True)


def test_a_bad_question_edit_is_refused_by_field_in_german(console) -> None:  # noqa: ANN001
    app = console.application
    page, fields = _question(console, "zoohandlung", "tier")
    fields["options-1-value"] = "hund"  # the same value twice
    answer = console.post(page, data=fields)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Nicht gespeichert" in html and "Frage &#39;tier&#39;" in html
    assert [v.number for v in _versions(app, "zoohandlung")] == [1]
    page, fields = _question(console, "zoohandlung", "tier")
    fields["text_de"] = ""
    fields["text_de_sie"] = ""
    fields["text_en"] = ""
    answer = console.post(page, data=fields)
    assert answer.status_code == 422
    assert "Fragetext" in answer.get_data(as_text=True)


def test_a_range_mapped_to_a_numeric_attribute_and_a_sie_text(console) -> None:  # noqa: ANN001
    app = console.application
    with app.app_context():
        for i, watt in enumerate((5, 7, 12)):
            db.session.add(Product(sku=f"lampe-{i}", title=f"Leuchte {watt} W", category="licht",
                                   product_type="downlight", price=20, url="https://x.example/",
                                   attributes={"watt": watt}))
        db.session.commit()
    quiz_page = "/console/quizzes/zoohandlung"
    _post(console, f"{quiz_page}/questions", {"type": "range"}, page=quiz_page)
    qid = _questions(app, "zoohandlung")[-1]
    page, fields = _question(console, "zoohandlung", qid)
    html = console.get(page).get_data(as_text=True)
    assert 'value="attribute:watt:max"' in html and "watt: höchstens die Zahl" in html
    for key, value in {"range_min": "1", "range_max": "20", "range_step": "1",
                       "range_default": "7,5", "range_unit": "W",
                       "maps_to": "attribute:watt:max",
                       "text_de": "Wie hell darf es sein?",
                       "text_de_sie": "Wie hell soll es sein?"}.items():
        fields[key] = value
    assert console.post(page, data=fields).status_code == 303
    question = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["questions"][-1]
    assert question["maps_to"] == {"attribute": "watt", "bound": "max"}
    assert question["default"] == 7.5
    assert question["text"]["de"] == {"du": "Wie hell darf es sein?",
                                      "sie": "Wie hell soll es sein?"}


def test_unknown_question_is_404(console) -> None:  # noqa: ANN001
    assert console.get("/console/quizzes/zoohandlung/questions/nope").status_code == 404
    assert console.get("/console/quizzes/zoohandlung/questions/nope/counts").status_code == 404


def test_the_preview_shows_the_shoppers_question_in_each_language_and_tone(console) -> None:  # noqa: ANN001
    page = "/console/quizzes/zoohandlung/questions/tier/preview"
    sie = console.get(f"{page}?locale=de&tone=sie").get_data(as_text=True)
    assert "Für welches Tier suchen Sie etwas?" in sie and "suchst du" not in sie
    assert "Frage 1 von 5" in sie and 'value="hund"' in sie
    du = console.get(f"{page}?locale=de&tone=du").get_data(as_text=True)
    assert "Für welches Tier suchst du etwas?" in du
    english = console.get(f"{page}?locale=en&tone=du").get_data(as_text=True)
    assert "Which pet are you shopping for?" in english and "Question 1 of 5" in english
    # The console around it stays in the marketer's language.
    assert "Vorschau der Frage tier" in english
    # Answering nothing says what the quiz would say, in Sie; nothing is stored.
    token = csrf_token(sie)
    answered = console.post(f"{page}?locale=de&tone=sie", data={"csrf_token": token})
    assert "Bitte wählen Sie eine Antwort aus." in answered.get_data(as_text=True)
    fragment = console.post(f"{page}?locale=de&tone=sie", data={"csrf_token": token},
                            headers=HX)
    html = fragment.get_data(as_text=True)
    assert "</html>" not in html and 'id="quiz"' in html
    assert "HX-Request" in fragment.headers["Vary"]
    assert "</html>" in console.get(page).get_data(as_text=True)
    with console.application.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(QuizVersion)) == 2
    assert console.get("/console/quizzes/zoohandlung/questions/nope/preview").status_code == 404


def test_the_funnel_names_answers_by_the_version_they_were_given_to(console, demo) -> None:  # noqa: ANN001
    app = console.application

    def shop(name: str, pet: str) -> None:
        shopper = app.test_client()
        shopper.get(demo.path(name))
        assert answer(shopper, demo.path(name, "/quiz/tier"), pet).status_code == 303

    shop("Anna", "aquaristik")
    shop("Ayşe", "hund")
    # Version 2 takes "Fische & Aquarium" out (and the CRM values that meant it); the next
    # shopper answers under it.
    page, fields = _question(console, "zoohandlung", "tier")
    assert console.post(page, data={**fields, "action": "remove-option:aquaristik"}
                        ).status_code == 303
    question = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["questions"][0]
    assert "aquaristik" not in question["answered_by"]["map"].values()
    quiz_page = "/console/quizzes/zoohandlung"
    assert _post(console, f"{quiz_page}/publish", page=quiz_page).status_code == 303
    shop("Jürgen", "hund")
    # Anna's answer stays under version 1, as given.
    v1 = _versions(app, "zoohandlung")[0]
    with app.app_context():
        first = db.session.scalars(db.select(QuizResponse).order_by(QuizResponse.id)).first()
        assert (first.answers, first.quiz_version) == ({"tier": "aquaristik"}, v1.content_hash)
    html = console.get("/console/campaigns/winter-2026/funnel").get_data(as_text=True)
    assert "Fische &amp; Aquarium" in html  # named as version 1 named it
    assert "Version 1: 1, Version 2: 1" in html  # "Hund" under both versions


# --- pictures for image questions ------------------------------------------------------------

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35"
       b"\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def _upload(console, picture: bytes, name: str):  # noqa: ANN001, ANN202
    page, fields = _question(console, "roestwerk", "zubereitung")
    data = {key: fields.getlist(key) for key in fields}
    data["options-1-upload"] = (io.BytesIO(picture), name)
    return console.post(page, data=data, content_type="multipart/form-data")


def test_a_picture_uploaded_for_an_answer_is_stored_once_and_shown(console, runner,
                                                                   tmp_path) -> None:  # noqa: ANN001
    app = console.application
    assert _upload(console, PNG, "maschine.png").status_code == 303
    reference = f"uploads/{hashlib.sha256(PNG).hexdigest()}.png"
    data = yaml.safe_load(_versions(app, "roestwerk")[-1].content)
    assert data["questions"][0]["options"][1]["image"] == reference
    # Served by its content, for ever the same bytes; in the preview and to shoppers.
    served = console.get("/quiz-images/" + reference.removeprefix("uploads/"))
    assert served.status_code == 200 and served.data == PNG
    assert served.mimetype == "image/png" and "immutable" in served.headers["Cache-Control"]
    preview = console.get("/console/quizzes/roestwerk/questions/zubereitung/preview")
    assert "/quiz-images/" + reference.removeprefix("uploads/") in preview.get_data(
        as_text=True)
    assert _upload(console, PNG, "nochmal.png").status_code == 303  # the same picture again
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(StoredFile).where(
            StoredFile.sha256 == hashlib.sha256(PNG).hexdigest())) == 1
    # Exported with the file, imported back as the same version, the picture with it.
    _post(console, "/console/quizzes/roestwerk/publish", page="/console/quizzes/roestwerk")
    out = tmp_path / "export"
    written = runner.invoke(args=["quiz", "export", "roestwerk", "--out", str(out)])
    assert written.exit_code == 0 and "1 picture(s)" in written.output
    assert (out / reference).read_bytes() == PNG
    with app.app_context():
        db.session.execute(db.delete(StoredFileChunk))
        db.session.execute(db.delete(StoredFile))
        db.session.commit()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "roestwerk.yaml").write_bytes((out / "roestwerk.yaml").read_bytes())
    refused = runner.invoke(args=["quiz", "import", str(broken / "roestwerk.yaml")])
    assert refused.exit_code != 0 and "uploads" in refused.output
    again = runner.invoke(args=["quiz", "import", str(out / "roestwerk.yaml")])
    assert again.exit_code == 0 and "unchanged, same as version 2" in again.output
    assert console.get("/quiz-images/" + reference.removeprefix("uploads/")).data == PNG


def test_what_is_no_picture_is_refused_naming_the_answer(console) -> None:  # noqa: ANN001
    app = console.application
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    answer_ = _upload(console, svg, "logo.svg")
    assert answer_.status_code == 422
    html = answer_.get_data(as_text=True)
    assert "Antwort 2: &#39;logo.svg&#39; ist kein Bild, das purl nimmt" in html
    assert [v.number for v in _versions(app, "roestwerk")] == [1]
    assert _upload(console, PNG[:8] + b"\x00" * (3 * 1024 * 1024), "riesig.png"
                   ).status_code == 422
    assert console.get("/quiz-images/" + "0" * 64 + ".png").status_code == 404


# --- the draft as a test shopper ----------------------------------------------------------------

def _counts_of_everything(app) -> tuple:  # noqa: ANN001
    from purl.models import Event, FunnelTally, QuizTally, ShopperProfile

    with app.app_context():
        return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                     for model in (Event, QuizResponse, ShopperProfile, QuizTally, FunnelTally))


def test_a_draft_taken_as_a_test_shopper_to_its_showroom_counts_nothing(console) -> None:  # noqa: ANN001
    app = console.application
    # The draft differs from what shoppers get: its first question says so.
    page, fields = _question(console, "zoohandlung", "tier")
    fields["text_de_sie"] = "Für welches Haustier suchen Sie etwas? (Entwurf)"
    assert console.post(page, data=fields).status_code == 303
    before = _counts_of_everything(app)
    start = console.get("/console/quizzes/zoohandlung/try?locale=de&tone=sie")
    assert start.status_code == 303
    step = start.headers["Location"]
    assert step.endswith("/try/quiz/tier")
    html = console.get(step).get_data(as_text=True)
    assert "Für welches Haustier suchen Sie etwas? (Entwurf)" in html and "suchst du" not in html
    # A wrong answer is told as the quiz tells it, in Sie.
    refused = console.post(step, data={"csrf_token": csrf_token(html), "answer": "drache"})
    assert refused.status_code == 422
    for value in ("hund", "senior", "futter", "bis-50", "natur"):
        html = console.get(step).get_data(as_text=True)
        answered = console.post(step, data={"csrf_token": csrf_token(html), "answer": value})
        assert answered.status_code == 303, (step, answered.get_data(as_text=True)[-500:])
        step = answered.headers["Location"]
    assert step.endswith("/try/showroom")
    room = console.get(step)
    shown = room.get_data(as_text=True)
    assert room.status_code == 200 and "Für Sie ausgesucht" in shown
    assert shown.count('class="product"') >= 1 and 'href="go/' in shown
    assert 'href="quiz/alter"' in shown  # an answer leads back to its question
    # The shopper's filters work here too, and an htmx filter gets the catalog alone.
    fragment = console.get(f"{step}?sort=price-asc", headers=HX)
    assert "</html>" not in fragment.get_data(as_text=True)
    assert 'id="catalog"' in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    # A product click goes to the shop, uncounted.
    product = re.search(r'href="go/(\d+)', shown).group(1)
    click = console.get(step.replace("/showroom", f"/go/{product}"))
    assert click.status_code == 303 and click.headers["Location"].startswith("https://")
    assert _counts_of_everything(app) == before


def test_a_test_run_keeps_to_its_path(console) -> None:  # noqa: ANN001
    console.get("/console/quizzes/zoohandlung/try")
    # Not asked yet (the dog's age needs a dog): 404; the showroom waits for the answers.
    assert console.get("/console/quizzes/zoohandlung/try/quiz/alter").status_code == 404
    showroom = console.get("/console/quizzes/zoohandlung/try/showroom")
    assert showroom.status_code == 303 and showroom.headers["Location"].endswith("/quiz/tier")
    assert console.get("/console/quizzes/zoohandlung/try/quiz/nope").status_code == 404
    assert console.get("/console/quizzes/zoohandlung/try/go/999999").status_code == 404


def test_the_question_page_shows_the_shoppers_view_beside_the_form(console) -> None:  # noqa: ANN001
    page = "/console/quizzes/zoohandlung/questions/tier"
    sie = console.get(f"{page}?locale=de&tone=sie").get_data(as_text=True)
    preview = sie[sie.index('id="question-preview"'):]
    assert "Für welches Tier suchen Sie etwas?" in preview and "Frage 1 von 5" in preview
    # As the form changes, unsaved: the live answer carries the preview along.
    fields = form_fields(sie, page)
    fields["text_de_sie"] = "Welches Tier haben Sie?"
    fields["locale"], fields["tone"] = "de", "sie"
    live = console.get(f"{page}/counts", query_string=fields, headers=HX)
    html = live.get_data(as_text=True)
    assert 'id="question-preview" lang="de" inert hx-swap-oob="true"' in html
    assert "Welches Tier haben Sie?" in html
    # A form the format refuses shows why instead.
    fields["options-1-value"] = "hund"
    refused = console.get(f"{page}/counts", query_string=fields, headers=HX)
    assert "Noch nicht gezählt" in refused.get_data(as_text=True)
    assert "Erscheint, sobald die Frage lesbar ist" in refused.get_data(as_text=True)


# --- a quiz file imported in the console ----------------------------------------------------

def _import(console, content: bytes, name: str = "quiz.yaml"):  # noqa: ANN001, ANN202
    token = csrf_token(console.get("/console/quizzes").get_data(as_text=True))
    return console.post("/console/quizzes/import", data={
        "csrf_token": token, "file": (io.BytesIO(content), name)},
        content_type="multipart/form-data")


def test_a_quiz_file_imported_becomes_a_draft_and_a_broken_one_says_why_in_german(
        console) -> None:  # noqa: ANN001
    app = console.application
    shipped = Path(__file__).resolve().parents[2] / "quizzes" / "roestwerk.yaml"
    text = shipped.read_text(encoding="utf-8")
    same = _import(console, text.encode(), "roestwerk.yaml")
    assert same.status_code == 303
    assert "Nichts Neues" in console.get(same.headers["Location"]).get_data(as_text=True)
    changed = text.replace("Finde deinen Kaffee", "Finde deinen Lieblingskaffee", 1)
    assert _import(console, changed.encode()).status_code == 303
    assert [(v.number, v.published_at is None) for v in _versions(app, "roestwerk")] == [
        (1, False), (2, True)]
    broken = changed.replace("    options:\n", "    optoins:\n", 1)
    refused = _import(console, broken.encode())
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Frage &#39;zubereitung&#39;" in html
    assert "unbekannte Einstellung &#39;optoins&#39;: meinen Sie &#39;options&#39;?" in html
    assert len(_versions(app, "roestwerk")) == 2
    latin = _import(console, "slug: käse\n".encode("cp1252"))
    assert latin.status_code == 422 and "keine Textdatei in UTF-8" in latin.get_data(as_text=True)
    empty = console.post("/console/quizzes/import", data={"csrf_token": csrf_token(
        console.get("/console/quizzes").get_data(as_text=True))})
    assert empty.status_code == 422 and "Bitte wählen Sie eine Quiz-Datei." in empty.get_data(
        as_text=True)


def test_an_answers_reason_and_advice_in_du_sie_and_english(console) -> None:  # noqa: ANN001
    app = console.application
    page, fields = _question(console, "zoohandlung", "alter")
    # The puppy's advice comes in German and English from the shipped file.
    assert fields["options-0-content_title_en"] == "Tips for the first weeks with a puppy"
    fields["options-0-content_title_de_sie"] = "Tipps für Ihre ersten Wochen mit Welpe"
    fields["options-0-content_body_de_sie"] = "Welpen brauchen kleine Kroketten."
    fields["options-0-reason_de"] = "Für deinen Welpen"
    fields["options-0-reason_de_sie"] = "Für Ihren Welpen"
    assert console.post(page, data=fields).status_code == 303
    option = yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["questions"][1][
        "options"][0]
    assert option["reason"] == {"de": {"du": "Für deinen Welpen", "sie": "Für Ihren Welpen"}}
    assert option["content"]["title"] == {
        "de": {"du": "Tipps für die ersten Wochen mit Welpe",
               "sie": "Tipps für Ihre ersten Wochen mit Welpe"},
        "en": "Tips for the first weeks with a puppy"}
    assert option["content"]["body"]["de"]["sie"] == "Welpen brauchen kleine Kroketten."


def test_a_quiz_draws_from_the_catalog_chosen_in_the_console(console) -> None:  # noqa: ANN001
    app = console.application
    page = "/console/quizzes/zoohandlung"
    html = console.get(page).get_data(as_text=True)
    assert '<option selected value="default">' in html and "Röstwerk (" in html
    texts = {"title_de": "Finde das Richtige", "title_de_sie": "", "title_en": "",
             "intro_de": "", "intro_de_sie": "", "intro_en": ""}
    refused = _post(console, f"{page}/texts", {**texts, "catalog": "teeladen"}, page=page)
    assert refused.status_code == 422
    assert "Einen Katalog dieses Namens gibt es nicht." in refused.get_data(as_text=True)
    saved = _post(console, f"{page}/texts", {**texts, "catalog": "roestwerk"}, page=page)
    assert saved.status_code == 303
    assert yaml.safe_load(_versions(app, "zoohandlung")[-1].content)["catalog"] == "roestwerk"
    # The builder now counts the roaster's products for each answer: no pet food is left.
    counts = console.get(f"{page}/questions/tier").get_data(as_text=True)
    assert '<option selected value="roestwerk">' in console.get(page).get_data(as_text=True)
    assert "Hundefutter" not in counts
    back = _post(console, f"{page}/texts", {**texts, "catalog": "default"}, page=page)
    assert back.status_code == 303
    assert "catalog" not in yaml.safe_load(_versions(app, "zoohandlung")[-1].content)
