"""Offers by rule: dog owners get HUND10, the CRM segment "VIP" gets VIP20, everyone else the
campaign's own WINTER15; the first rule that matches wins, on the landing page and in the
showroom, in the list with links (list columns only: nobody has answered yet) and in the
funnel per offer. Wrong rules are refused naming the rule and the field."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from purl.campaigns import offers
from purl.extensions import db
from purl.models import Campaign, Recipient
from tests.conftest import answer, csrf_token, excel_export

URL = "/console/campaigns/winter-2026/offers"
RULES = {
    "rule-0-name": "Hundebesitzer", "rule-0-source": "answer", "rule-0-key": "tier",
    "rule-0-values": "hund", "rule-0-code": "HUND10",
    "rule-0-text": "10 % auf alles für deinen Hund",
    "rule-1-name": "VIP", "rule-1-source": "attribute", "rule-1-key": "segment",
    "rule-1-values": "VIP, Gold", "rule-1-code": "VIP20", "rule-1-text": "20 % für VIPs",
}


def save(console, **fields: str):  # noqa: ANN001, ANN003, ANN201
    page = console.get(URL).get_data(as_text=True)
    return console.post(URL, data={"csrf_token": csrf_token(page), **fields})


def offer_on(html: str) -> str | None:
    found = re.search(r'class="offer-code"><span>[^<]*</span> <strong>([^<]+)</strong>', html)
    return found.group(1) if found else None


def test_the_first_matching_rule_wins_else_the_campaigns_own_offer():
    camp = Campaign(offer_code="WINTER15", offer_text="15 %", offers=[
        offers.Rule("Hund", "HUND10", "", "answer", "tier", ("hund",)).stored(),
        offers.Rule("VIP", "VIP20", "", "attribute", "Segment", ("vip",)).stored(),
        offers.Rule("Bedarf", "SNACK5", "", "answer", "bedarf", ("snacks",)).stored(),
    ])
    assert offers.offer_for(camp, {}, {}).code == "WINTER15"
    assert offers.offer_for(camp, {"segment ": " VIP"}, {}).code == "VIP20"  # case, spaces
    # Both match: the first rule wins.
    assert offers.offer_for(camp, {"Segment": "VIP"}, {"tier": "hund"}).code == "HUND10"
    assert offers.offer_for(camp, {}, {"bedarf": ["futter", "snacks"]}).code == "SNACK5"
    # The list's export knows no answers: only list columns count.
    assert offers.offer_for(camp, {"Segment": "VIP"}, {"tier": "hund"},
                            with_answers=False).code == "VIP20"
    camp.offer_code = None
    assert offers.offer_for(camp, {}, {}) is None


def test_a_marketer_saves_rules_and_each_shopper_sees_their_offer(console, demo):
    app = console.application
    saved = save(console, **RULES)
    assert saved.status_code == 303
    page = console.get(URL).get_data(as_text=True)
    assert 'value="HUND10"' in page and 'value="VIP, Gold"' in page
    with app.app_context():
        db.session.get(Recipient, demo.recipient_ids["Jürgen"]).attributes = {"Segment": "VIP"}
        db.session.commit()

    shopper = app.test_client()
    # Before the quiz: Jürgen's CRM segment wins VIP20, Anna gets the campaign's own.
    assert offer_on(shopper.get(demo.path("Jürgen")).get_data(as_text=True)) == "VIP20"
    assert offer_on(shopper.get(demo.path("Anna")).get_data(as_text=True)) == "WINTER15"
    # Anna tells the quiz she has a dog: her showroom offers HUND10.
    base = demo.path("Anna", "/quiz/")
    for question, values in (("tier", ["hund"]), ("alter", ["erwachsen"]),
                             ("bedarf", ["futter"]), ("budget", ["bis-50"]),
                             ("wichtig", ["natur"])):
        answer(shopper, base + question, *values)
    showroom = shopper.get(demo.path("Anna", "/showroom")).get_data(as_text=True)
    assert offer_on(showroom) == "HUND10"
    assert "10 % auf alles für deinen Hund" in showroom

    # The funnel per offer: each step counted under the offer shown then.
    funnel = console.get("/console/campaigns/winter-2026/funnel").get_data(as_text=True)
    table = funnel.split("Pro Angebot", 1)[1].split("</table>", 1)[0]
    rows = {m[0]: m[1] for m in re.findall(
        r'<th scope="row">([^<]+)</th>(.*?)</tr>', table, re.S)}
    counts = {code: re.findall(r'data-label="[^"]+">(\d+)', cells) for code, cells in rows.items()}
    assert counts["VIP20"] == ["1", "0", "0", "0"]
    assert counts["WINTER15"] == ["1", "1", "0", "0"]  # Anna's visit and quiz start
    assert counts["HUND10"] == ["0", "0", "1", "0"]  # her completed quiz, as a dog owner


def test_the_list_with_links_carries_each_recipients_offer(console):
    save(console, **RULES)
    rows = [*excel_export().decode("cp1252").splitlines()]
    rows[0] += ";Segment"
    rows[1] += ";VIP"
    rows[2:] = [r + ";" for r in rows[2:]]
    page = console.get("/console/campaigns/winter-2026").get_data(as_text=True)
    uploaded = console.post("/console/campaigns/winter-2026/batches", data={
        "csrf_token": csrf_token(page),
        "file": (io.BytesIO("\n".join(rows).encode("cp1252")), "kunden.csv")},
        content_type="multipart/form-data")
    batch_url = uploaded.location
    form = console.get(batch_url).get_data(as_text=True)
    fields = dict(re.findall(r'<select id="(map-\d+)" name="map-\d+">.*?<option value="([^"]+)" '
                             r'selected', form, re.S))
    minted = console.post(batch_url, data={"csrf_token": csrf_token(form), **fields,
                                           "channel": "email"})
    assert minted.status_code == 303
    links = console.get(batch_url + "/links.csv").get_data().decode("utf-8-sig")
    listed = list(csv.DictReader(io.StringIO(links), delimiter=";"))
    assert [(r["Segment"], r["offer_code"]) for r in listed] == [
        ("VIP", "VIP20")] + [("", "WINTER15")] * (len(listed) - 1)
    assert listed[0]["offer_text"] == "20 % für VIPs"
    excel = console.get(batch_url + "/links.csv?for=excel").get_data().decode("utf-8-sig")
    assert "Rabattcode" in excel.splitlines()[0]


@pytest.mark.parametrize(("fields", "message"), [
    ({"rule-0-code": "HUND 10"}, "Regel 1: Der Rabattcode"),
    ({"rule-0-key": "haustier"}, "Regel 1: Das Quiz der Kampagne hat keine Frage „haustier“"),
    ({"rule-0-values": "hamster"}, "Regel 1: Die Frage „tier“ hat keine Antwort „hamster“"),
    ({"rule-1-values": " , "}, "Regel 2: Bitte nennen Sie mindestens einen Wert"),
    ({"rule-1-source": "cookie"}, "Regel 2: Bitte wählen Sie"),
])
def test_wrong_rules_are_refused_by_rule_and_field_and_nothing_is_stored(console, fields,
                                                                        message):
    refused = save(console, **{**RULES, **fields})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert message in html
    assert 'value="HUND10"' in html or 'value="HUND 10"' in html  # the form keeps the rows
    with console.application.app_context():
        assert db.session.scalar(select(Campaign.offers).where(
            Campaign.slug == "winter-2026")) == []
