"""Browser fixtures: the app served on a free loopback port, driven by Debian's chromium.

Playwright's own browser download is not available here, so the tests launch the system
chromium. Without it they are skipped locally with a clear reason; in CI (``CI`` set) a
missing browser fails the run instead of passing silently.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from werkzeug.serving import make_server

from purl.demo.load import DEMO_PASSWORD, DEMO_USER

CHROMIUM = os.environ.get("PURL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not Path(CHROMIUM).exists():
        message = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:  # noqa: ANN001
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def new_page(browser):  # noqa: ANN001, ANN201
    """Open a page with JavaScript on or off, at a phone's size by default."""
    contexts = []

    def factory(javascript: bool = True, width: int = 390, height: int = 844, **options):  # noqa: ANN003, ANN202
        context = browser.new_context(
            java_script_enabled=javascript, viewport={"width": width, "height": height},
            locale="de-DE", **options,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.csp_violations = []
        page.on("console", lambda m: "Content Security Policy" in m.text
                and page.csp_violations.append(m.text))
        return page

    yield factory
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:  # noqa: ANN001
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, live_server: str) -> None:  # noqa: ANN001
    page.goto(live_server + "/console/")
    page.wait_for_url(re.compile(r"/console/login"))
    page.get_by_label("E-Mail").fill(DEMO_USER)
    page.get_by_label("Passwort").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r"/console/$"))


def until(page, done: Callable[[], bool], seconds: float = 10) -> None:  # noqa: ANN001
    """Wait until ``done()`` holds, asked from Python: the pages' CSP forbids the eval that
    Playwright's wait_for_function uses."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if done():
                break
        except PlaywrightError:  # the page is navigating: ask again once it is there
            pass
        assert time.monotonic() < deadline, "the page did not get there"
        page.wait_for_timeout(50)
    page.wait_for_load_state()
