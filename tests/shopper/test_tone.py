"""Du and Sie: a Sie campaign's shopper pages (landing, every quiz step, its error, the
visitor's link step, the showroom) show no du-form anywhere, a du campaign's do, and a quiz
without Sie texts falls back to du on the whole page rather than mixing the two."""

from __future__ import annotations

import html as html_lib
import re
import shutil
from pathlib import Path

from sqlalchemy import select

from purl.extensions import db
from purl.models import Campaign
from purl.quiz.schema import DU_FORMS
from tests.conftest import ROOT, answer, csrf_token, finish_coffee

PET_ANSWERS = [("tier", ["hund"]), ("alter", ["welpe"]), ("bedarf", ["futter", "snacks"]),
               ("budget", ["bis-50"]), ("wichtig", ["natur"])]


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    # What a reader sees: text and the labels that assistive technology reads out.
    labels = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', page))
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page) + " " + labels)


def du_forms(page: str) -> list[str]:
    return sorted({m.group(0) for m in DU_FORMS.finditer(visible_text(page))})


def set_tone(app, slug_or_id, tone: str, **texts: str) -> None:  # noqa: ANN001
    """Switch a campaign's tone, with the texts its marketer writes in it (headline...)."""
    with app.app_context():
        column = Campaign.id if isinstance(slug_or_id, int) else Campaign.slug
        campaign = db.session.scalar(select(Campaign).where(column == slug_or_id))
        campaign.tone = tone
        for name, value in texts.items():
            setattr(campaign, name, value)
        db.session.commit()


SIE_TEXTS = {"headline": "Ihr Wintervorrat, persönlich ausgesucht",
             "message": "Schön, dass Sie wieder da sind! Beantworten Sie uns ein paar Fragen.",
             "offer_text": "15 % auf Ihre erste Bestellung aus dieser Auswahl."}


def pet_journey(client, demo) -> dict[str, str]:  # noqa: ANN001
    """Every page of Anna's journey, by name: landing, each question (and a refused
    answer), the showroom."""
    pages = {"landing": client.get(demo.path("Anna")).get_data(as_text=True)}
    base = demo.path("Anna", "/quiz/")
    refused = client.post(base + "tier", data={
        "csrf_token": csrf_token(client.get(base + "tier").get_data(as_text=True))})
    assert refused.status_code == 422
    pages["refused"] = refused.get_data(as_text=True)
    for question_id, values in PET_ANSWERS:
        pages[question_id] = client.get(base + question_id).get_data(as_text=True)
        assert answer(client, base + question_id, *values).status_code == 303
    pages["showroom"] = client.get(demo.path("Anna", "/showroom")).get_data(as_text=True)
    return pages


def test_a_sie_campaign_never_says_du(app, client, demo):  # noqa: ANN001
    set_tone(app, demo.campaign_id, "sie", **SIE_TEXTS)
    pages = pet_journey(client, demo)
    assert {name: du_forms(page) for name, page in pages.items()} == \
        {name: [] for name in pages}
    assert "Für Sie ausgesucht" in pages["showroom"]
    assert "Wie alt ist Ihr Hund?" in pages["alter"]
    assert "Bitte wählen Sie eine Antwort aus." in pages["refused"]
    assert "Tipps für die ersten Wochen mit Welpe" in pages["showroom"]  # a content block


def test_a_du_campaign_says_du(client, demo):  # noqa: ANN001
    pages = pet_journey(client, demo)
    assert "dich" in du_forms(pages["showroom"])  # "Für dich ausgesucht": the scan sees it
    assert "dein" in du_forms(pages["alter"])
    assert "Bitte wähle eine Antwort aus." in pages["refused"]


def test_a_visitor_quiz_speaks_its_visitor_campaigns_tone(app, client, demo):  # noqa: ANN001
    set_tone(app, "roestwerk-web", "sie")
    pages = {"landing": client.get("/q/roestwerk").get_data(as_text=True)}
    for question_id in ("zubereitung", "muehle", "milch", "geschmack", "budget", "wunsch"):
        pages[question_id] = client.get(f"/q/roestwerk/quiz/{question_id}").get_data(
            as_text=True)
        finish_step = {"zubereitung": ["handfilter"], "muehle": ["no"], "milch": ["no"],
                       "geschmack": ["fruchtig"], "budget": ["15"], "wunsch": [""]}
        answer(client, f"/q/roestwerk/quiz/{question_id}", *finish_step[question_id])
    pages["link"] = client.get("/q/roestwerk/link").get_data(as_text=True)
    pages["showroom"] = client.get("/q/roestwerk/showroom").get_data(as_text=True)
    assert {name: du_forms(page) for name, page in pages.items()} == \
        {name: [] for name in pages}
    assert "Kaufen Sie kleine" in pages["showroom"]  # the content block's Sie form
    assert "Finden Sie Ihren Kaffee" in pages["landing"]


def test_a_quiz_without_sie_texts_is_du_on_the_whole_page(make_app, tmp_path):  # noqa: ANN001
    """No page mixes tones: a Sie campaign whose quiz lacks a Sie form speaks du throughout."""
    shutil.copy(ROOT / "quizzes" / "roestwerk.yaml", tmp_path / "roestwerk.yaml")
    path = tmp_path / "roestwerk.yaml"
    content = path.read_text(encoding="utf-8")
    content = content.replace("        du: Welche Aromen magst du?\n        sie: Welche Aromen "
                              "mögen Sie?\n", "        du: Welche Aromen magst du?\n")
    content = content.replace("      de:\n        du: Welche Aromen magst du?\n",
                              "      de: Welche Aromen magst du?\n")
    path.write_text(content, encoding="utf-8")
    app = make_app(QUIZ_FOLDER=str(tmp_path))
    from purl.demo.load import load_demo
    from purl.quiz import versions

    with app.app_context():
        load_demo(db.session)
        versions.import_files(db.session, [path], publish=True)  # the edited quiz goes live
        db.session.commit()
    set_tone(app, "roestwerk-web", "sie")
    client = app.test_client()
    finish_coffee(client)
    showroom = client.get("/q/roestwerk/showroom").get_data(as_text=True)
    assert "Für dich ausgesucht" in showroom and "Kauf kleine Packungen" in showroom
    assert "Für Sie" not in showroom and "Kaufen Sie" not in showroom  # and no Sie at all


def test_quiz_check_names_du_texts_without_a_sie_form(runner, tmp_path: Path):  # noqa: ANN001
    (tmp_path / "x.yaml").write_text(
        "slug: x\nquestions:\n - id: a\n   text: Magst du Kaffee?\n   type: yesno\n",
        encoding="utf-8")
    result = runner.invoke(args=["quiz", "check", str(tmp_path / "x.yaml")])
    assert result.exit_code == 0
    assert ("warning: x.yaml: 1 text in du has no Sie form, so Sie campaigns show this "
            "quiz in du: Magst du Kaffee?") in result.output
