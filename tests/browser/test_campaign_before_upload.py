"""A new campaign in a real browser, JavaScript on and off, in the order a marketer works:
made in the console (Sie), its showroom curated (three pins, one exclusion, a Sie heading)
and its whole journey previewed before any list is uploaded; then its list uploaded and
minted, and its shopper, following the link, sees the pins first, never the excluded
product, and the Sie heading."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from purl.extensions import db
from purl.links.tokens import sign
from purl.models import Campaign, Event, Product, QuizResponse, Recipient
from tests.browser.conftest import screenshot, sign_in, until
from tests.conftest import TEST_KEYS, answer

LIST = "E-Mail;Vorname;Nachname;Anrede\r\nerika@example.org;Erika;Muster;Frau\r\n"
ANSWERS = (["Hund"], ["Erwachsen"], ["Futter", "Snacks"], ["bis 50 €"], ["Bio & nachhaltig"])


@pytest.fixture
def app(make_app, tmp_path):  # noqa: ANN001, ANN201
    # The list is minted inside the request that queues it, as a worker would mint it.
    return make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), CONSOLE_BATCH_WAIT=True)


def _take_quiz(page, scope, done_url: str) -> None:  # noqa: ANN001
    """Answer the pet shop's quiz as a dog owner, each question in turn."""
    for labels in ANSWERS:
        asked = "".join(scope.locator("h1.question").all_inner_texts())
        for label in labels:
            scope.locator("label.choice", has_text=label).click()
        scope.get_by_role("button", name=re.compile("Weiter|Auswahl")).click()
        until(page, lambda asked=asked: done_url in page.url
               or "".join(scope.locator("h1.question").all_inner_texts()) != asked)
    page.wait_for_url(re.compile(re.escape(done_url) + "$"))


def _titles(scope) -> list[str]:  # noqa: ANN001
    return scope.locator(".product-title").all_inner_texts()


def _counts(app) -> tuple[int, ...]:  # noqa: ANN001
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Event, QuizResponse, Recipient))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_new_campaign_is_curated_and_previewed_before_its_list_and_its_shopper_sees_it(
        app, client, demo, live_server, new_page, javascript):  # noqa: ANN001
    mode = "js" if javascript else "no-js"
    # What a dog owner's showroom holds today, to choose the pins from.
    base = demo.path("Anna", "/quiz/")
    for question, values in (("tier", ["hund"]), ("alter", ["erwachsen"]),
                             ("bedarf", ["futter", "snacks"]), ("budget", ["bis-50"]),
                             ("wichtig", ["natur"])):
        answer(client, base + question, *values)
    html = client.get(demo.path("Anna", "/showroom")).get_data(as_text=True)
    shown = [unescape(t) for t in re.findall(r'<span class="product-title">([^<]+)</span>', html)]
    with app.app_context():
        sku_of = dict(db.session.execute(select(Product.title, Product.sku)).all())
    pins, gone = [shown[6], shown[4], shown[5]], shown[0]

    marketer = new_page(javascript=javascript, width=1200, height=900)
    sign_in(marketer, live_server)
    marketer.get_by_role("link", name="Neue Kampagne").click()
    marketer.get_by_label("Name", exact=True).fill("Winterbrief Sie")
    marketer.get_by_label("Quiz", exact=True).select_option("zoohandlung")
    marketer.get_by_label("Ansprache der Kunden").select_option("sie")
    marketer.get_by_role("button", name="Kampagne anlegen").click()
    marketer.wait_for_url(re.compile(r"/console/campaigns/winterbrief-sie$"))

    marketer.get_by_role("link", name="Showroom", exact=True).click()
    heading = marketer.get_by_label("Überschrift, Deutsch (Sie)", exact=True)
    heading.fill("Ihre Auswahl für den Winter")
    marketer.get_by_label("Angeheftete Produkte").fill("\n".join(sku_of[t] for t in pins))
    marketer.get_by_label("Ausgeschlossene Produkte").fill(sku_of[gone])
    marketer.get_by_role("button", name="Showroom speichern").click()
    marketer.get_by_text("Showroom gespeichert").wait_for()

    # The whole journey before any list: landing, quiz, showroom; nothing stored or counted.
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winterbrief-sie"))
        assert db.session.scalar(select(func.count(Recipient.id)).where(
            Recipient.campaign_id == camp.id)) == 0
    before = _counts(app)
    marketer.get_by_role("link", name="Vorschau", exact=True).click()
    phone = marketer.locator(".phone-preview")
    assert phone.get_by_role("heading", level=1).inner_text() == "Sehr geehrte Frau Beispiel,"
    phone.get_by_role("link", name="Los geht’s").click()
    _take_quiz(marketer, phone, "/preview/showroom")
    assert phone.locator("#showroom-title").inner_text() == "Ihre Auswahl für den Winter"
    previewed = _titles(phone)
    assert previewed[:3] == pins and gone not in previewed
    screenshot(marketer, f"new-campaign-preview-{mode}.png")
    assert _counts(app) == before

    # Then the list: uploaded, its links minted.
    marketer.get_by_role("link", name="Übersicht").click()
    marketer.get_by_label("CSV-Datei").set_input_files(files=[{
        "name": "winterbrief.csv", "mimeType": "text/csv", "buffer": LIST.encode()}])
    marketer.get_by_role("button", name="Liste hochladen").click()
    marketer.wait_for_url(re.compile(r"/batches/\d+$"))
    marketer.get_by_role("button", name="Links erzeugen").click()
    marketer.get_by_text("Fertig.").wait_for()
    with app.app_context():
        erika = db.session.scalar(select(Recipient).where(Recipient.first_name == "Erika"))
        link = f"{live_server}/p/{sign(erika.link_key, TEST_KEYS)}"

    shopper = new_page(javascript=javascript)
    shopper.goto(link)
    assert shopper.get_by_role("heading", level=1).inner_text() == "Sehr geehrte Frau Muster,"
    shopper.get_by_role("link", name="Los geht’s").click()
    _take_quiz(shopper, shopper, "/showroom")
    titles = _titles(shopper)
    assert titles[:3] == pins and gone not in titles
    assert shopper.get_by_role("heading", level=1).inner_text() == "Ihre Auswahl für den Winter"
    screenshot(shopper, f"new-campaign-shopper-{mode}.png")
    assert shopper.csp_violations == [] and marketer.csp_violations == []
