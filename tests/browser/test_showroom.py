"""The showroom's catalog filters in a real browser: the state lives in the URL."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.browser.conftest import screenshot
from tests.conftest import answer


def finish_quiz(client, demo) -> None:  # noqa: ANN001
    base = demo.path("Anna", "/quiz/")
    answer(client, base + "tier", "hund")
    answer(client, base + "alter", "erwachsen")  # the quiz asks dog owners their dog's age
    answer(client, base + "bedarf", "futter", "snacks", "spielzeug", "pflege", "zubehoer")
    answer(client, base + "budget", "egal")
    answer(client, base + "wichtig", "natur")


def state(page) -> dict:  # noqa: ANN001
    """What the shopper sees: chosen category, price field, and the products with prices."""
    prices = [Decimal(re.sub(r"[^\d,]", "", t).replace(",", "."))
              for t in page.locator(".product .price strong").all_inner_texts()]
    return {
        "type": page.locator("input[name=type]:checked").get_attribute("value"),
        "max": page.locator("input[name=max]").input_value(),
        "titles": page.locator(".product-title").all_inner_texts(),
        "prices": prices,
    }


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_filter_by_category_and_price_then_reload_and_go_back(
    client, demo, live_server, new_page, javascript
):
    finish_quiz(client, demo)
    page = new_page(javascript=javascript, width=360, height=780)
    page.goto(live_server + demo.path("Anna", "/showroom"))
    everything = state(page)
    assert len(everything["titles"]) == 24
    page.get_by_text("Filtern & sortieren").click()
    if javascript:
        page.evaluate("window.__samePage = true")

    page.get_by_role("radio", name=re.compile(r"^Futter \d+$")).check()
    if not javascript:
        page.get_by_role("button", name="Produkte anzeigen").click()
    page.wait_for_url(re.compile(r"type=futter"))
    page.locator("input[name=type][value=futter]:checked").wait_for()
    food = state(page)
    assert food["type"] == "futter" and food["titles"] != everything["titles"]

    page.locator("input[name=max]").fill("20")
    if javascript:
        page.locator("input[name=max]").press("Tab")  # change -> htmx request
    else:
        page.get_by_role("button", name="Produkte anzeigen").click()
    page.wait_for_url(re.compile(r"type=futter.*max=20"))
    page.wait_for_function("document.querySelector('input[name=max]').value === '20'")
    cheap_food = state(page)
    assert cheap_food["type"] == "futter" and cheap_food["max"] == "20"
    assert cheap_food["prices"] and max(cheap_food["prices"]) <= 20
    assert len(cheap_food["titles"]) < len(food["titles"])
    if javascript:
        assert page.evaluate("window.__samePage") is True  # swapped, not reloaded
    screenshot(page, f"showroom-filtered-360-{'js' if javascript else 'nojs'}.png")

    page.reload()
    assert state(page) == cheap_food

    page.go_back()
    page.wait_for_url(re.compile(r"type=futter(?!.*max=20)"))
    page.locator("input[name=type][value=futter]:checked").wait_for()
    assert state(page) == food

    page.go_forward()
    page.wait_for_url(re.compile(r"max=20"))
    page.wait_for_function("document.querySelector('input[name=max]').value === '20'")
    assert state(page) == cheap_food
    assert page.csp_violations == []


def test_showroom_on_a_desktop(client, demo, live_server, new_page):
    finish_quiz(client, demo)
    page = new_page(width=1280, height=900)
    page.goto(live_server + demo.path("Anna", "/showroom?type=snacks&sort=price-asc"))
    assert page.locator(".product").count() >= 5
    screenshot(page, "showroom-desktop.png")
    page = new_page(width=360, height=780)
    page.goto(live_server + demo.path("Anna", "/showroom"))
    # Nothing wider than the phone: no sideways scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "showroom-360.png")


def test_the_showroom_passes_an_accessibility_check(client, demo, live_server, new_page):
    from axe_playwright_python.sync_playwright import Axe

    finish_quiz(client, demo)
    page = new_page(bypass_csp=True)
    page.goto(live_server + demo.path("Anna", "/showroom?type=futter&max=30"))
    results = Axe().run(page)
    problems = [(v["id"], v["impact"]) for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")]
    assert problems == []
