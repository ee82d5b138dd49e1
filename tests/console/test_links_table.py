"""The links table at size: keyset pages walk a campaign without gaps or repeats, and a
search finds a recipient by the start of any name, email, customer number or code."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from purl.extensions import db
from purl.links.recipients import NewRecipient, mint
from purl.models import Campaign, Recipient
from tests.conftest import HX, login

LINKS = "/console/campaigns/winter-2026/links"
_ROW = re.compile(r"/links/(\d+)/preview")
_NEXT = re.compile(r'<a href="[^"]*[?&]after=(\d+)')
_PREVIOUS = re.compile(r'<a href="[^"]*[?&]before=(\d+)')


@pytest.fixture
def many(app, demo):  # noqa: ANN001, ANN201
    """250 more recipients on the demo campaign (255 in all), and a stranger elsewhere."""
    with app.app_context():
        camp = db.session.scalar(select(Campaign).where(Campaign.slug == "winter-2026"))
        mint(db.session, camp, [NewRecipient(first_name=f"Vor{i:03d}", last_name=f"Nach{i:03d}",
                                             email=f"kunde{i:03d}@beispiel.de",
                                             external_id=f"KD-{i:03d}") for i in range(250)])
        other = Campaign(slug="other", name="Other", quiz_slug="zoohandlung", variants=[])
        db.session.add(other)
        db.session.flush()
        mint(db.session, other, [NewRecipient(first_name="Vor000", email="kunde000@fremd.de")])
        db.session.commit()
        return list(db.session.scalars(select(Recipient.id).where(
            Recipient.campaign_id == camp.id).order_by(Recipient.id)))


def _ids(html: str) -> list[int]:
    return list(dict.fromkeys(int(i) for i in _ROW.findall(html)))


def test_pages_walk_forward_and_back_without_gaps_or_repeats(client, many):
    login(client, DEMO_USER, DEMO_PASSWORD)
    html = client.get(LINKS).get_data(as_text=True)
    assert "Link gefunden" not in html and "Links gefunden" not in html  # nothing counted
    assert not _PREVIOUS.search(html)
    pages = [_ids(html)]
    while (following := _NEXT.search(html)):
        response = client.get(f"{LINKS}?after={following.group(1)}")
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert "Zurück" in html
        pages.append(_ids(html))
    assert [len(p) for p in pages] == [50, 50, 50, 50, 50, 5]
    assert [i for p in pages for i in p] == many
    back = [pages[-1]]
    while (previous := _PREVIOUS.search(html)):
        html = client.get(f"{LINKS}?before={previous.group(1)}").get_data(as_text=True)
        back.insert(0, _ids(html))
    assert back == pages


def test_a_page_as_htmx_fragment_keeps_its_links_and_works_without_js(client, many):
    login(client, DEMO_USER, DEMO_PASSWORD)
    fragment = client.get(f"{LINKS}?after={many[49]}", headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "</html>" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    assert _ids(html) == many[50:100]
    assert f'href="{LINKS}?after={many[99]}"' in html and 'hx-get=' in html
    page = client.get(f"{LINKS}?before={many[50]}").get_data(as_text=True)
    assert "</html>" in page and _ids(page) == many[:50] and not _PREVIOUS.search(page)


@pytest.mark.parametrize("query, expected", [
    ("vor12", [f"Vor{i}" for i in range(120, 130)]),
    ("NACH2", [f"Vor{i}" for i in range(200, 250)]),
    ("kunde007@", ["Vor007"]),
    ("kd-24", [f"Vor{i}" for i in range(240, 250)]),
    ("vor1 nach10", [f"Vor{i}" for i in range(100, 110)]),
    ("ach1", []),  # the middle of a name is no prefix
    ("beispiel.de", []),
])
def test_search_finds_the_start_of_a_name_email_or_customer_number(client, many, query,
                                                                    expected):
    login(client, DEMO_USER, DEMO_PASSWORD)
    html = client.get(LINKS, query_string={"q": query}).get_data(as_text=True)
    found = re.findall(r"<td>(Vor\d+) Nach", html)
    assert found == expected
    assert "fremd.de" not in html  # the other campaign's namesake stays out


def test_search_finds_a_link_by_the_start_of_its_code(app, client, many):
    with app.app_context():
        code = db.session.get(Recipient, many[77]).code
    login(client, DEMO_USER, DEMO_PASSWORD)
    for typed in (code[:6].lower(), f"{code[:4]}-{code[4:8]}", code):
        html = client.get(LINKS, query_string={"q": typed}).get_data(as_text=True)
        assert many[77] in _ids(html), typed
        assert len(_ids(html)) < 5


@pytest.mark.parametrize("args, status", [
    ("after=abc", 404), ("after=-1", 404), ("after=1e9", 404), ("before=1.5", 404),
    ("after=99999999999999999999999", 404), ("after=9223372036854775806", 200),
    ("before=0", 200), ("after=", 200), ("after=0&before=0", 200), ("q=%00a&after=1", 200),
])
def test_junk_page_keys_answer_404_or_an_empty_page(client, many, args, status):
    login(client, DEMO_USER, DEMO_PASSWORD)
    assert client.get(f"{LINKS}?{args}").status_code == status
