"""Several machines: two web processes and one job worker sharing only PostgreSQL and Redis.

A marketer uploads a list through web process A; the worker mints it; web process B, which
never saw the upload, shows its true progress and hands out the finished list. Each process
is started as production starts it (gunicorn, ``flask jobs work``); the list never touches
a disk, so nothing but the database and Redis connects them.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from tests.conftest import REDIS_URL, Browser, csrf_token, server_env

ROWS = 20_000


def _redis_up() -> bool:
    parts = urllib.parse.urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture
def machines(database_url: str, start_gunicorn, start_worker,  # noqa: ANN001
             tmp_path: Path) -> dict[str, str]:
    """Web A, web B and a worker, each in its own folder, on one database and one Redis."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several machines share PostgreSQL (the SQLite queue lives on one)")
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    shared = {"REDIS_URL": REDIS_URL, "PURL_JOBS_QUEUE_NAME": f"scaleout-{uuid.uuid4().hex[:8]}"}
    webs = {name: start_gunicorn(workers=1, **shared) for name in ("a", "b")}
    start_worker(server_env(database_url, tmp_path / "worker", **shared))
    return {name: web.url for name, web in webs.items()}


def _recipient_list() -> bytes:
    lines = ["Kundennummer;Vorname;Nachname;E-Mail"]
    lines += [f"S-{i};Vorname{i};Nachname{i};kunde{i}@example.org" for i in range(ROWS)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def test_an_upload_to_one_web_process_is_minted_by_the_worker_and_followed_on_another(
        machines: dict[str, str]) -> None:
    a, b = machines["a"], machines["b"]
    marketer = Browser()
    status, _, page = marketer.open(f"{a}/console/login")
    assert status == 200
    status, _, _ = marketer.open(f"{a}/console/login", {
        "csrf_token": csrf_token(page), "email": DEMO_USER, "password": DEMO_PASSWORD})
    assert status == 303
    _, _, page = marketer.open(f"{a}/console/campaigns/winter-2026")
    uploaded = marketer.upload(
        f"{a}/console/campaigns/winter-2026/batches", {"csrf_token": csrf_token(page)},
        "kunden.csv", _recipient_list())
    assert uploaded.status == 303, "the upload through web A was not accepted"
    batch_path = urllib.parse.urlsplit(uploaded.location).path

    # The mapping form, as web B shows it: B never saw the file, it reads it from the database.
    status, _, preview = marketer.open(b + batch_path)
    assert status == 200 and "Vorname0" in preview
    mapping = dict(re.findall(
        r'<select id="map-\d+" name="(map-\d+)">.*?<option value="([a-z_]+)" selected',
        preview, re.S))
    assert mapping == {"map-0": "external_id", "map-1": "first_name", "map-2": "last_name",
                       "map-3": "email"}
    status, _, _ = marketer.open(b + batch_path, {
        "csrf_token": csrf_token(preview), **mapping, "channel": "email"})
    assert status == 303

    # Web B shows the worker's progress as it happens, then the result.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, _, page = marketer.open(b + batch_path, headers={"HX-Request": "true"})
        assert status == 200 and "</html>" not in page
        if "links.csv" in page:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the worker did not finish the batch in two minutes")
    assert "20.000" in page, page  # the counts, as a German marketer reads them

    status, _, text = marketer.open(b + batch_path + "/links.csv")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == ROWS
    assert len({r["purl_url"] for r in rows}) == ROWS
    assert all(r["purl_url"].startswith("http://localhost/p/") for r in rows)
    # A link from the list opens on web A, which minted nothing itself.
    token_path = urllib.parse.urlsplit(rows[-1]["purl_url"]).path
    status, _, landing = Browser().open(a + token_path)
    assert status == 200 and "Vorname19999" in landing
