"""Several machines: two web processes and one job worker sharing only PostgreSQL and Redis.

A marketer uploads a list through web process A; the worker mints it; web process B, which
never saw the upload, shows its true progress and hands out the finished list. Each process
is started as production starts it (gunicorn, ``flask jobs work``); the list never touches
a disk, so nothing but the database and Redis connects them.
"""

from __future__ import annotations

import csv
import http.cookiejar
import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from tests.conftest import TEST_KEYS, csrf_token

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROWS = 20_000


def _redis_up() -> bool:
    parts = urllib.parse.urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def machines(database_url: str, demo, tmp_path: Path) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """Web A, web B and a worker, each in its own folder, on one database and one Redis."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several machines share PostgreSQL (the SQLite queue lives on one)")
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL, "SECRET_KEYS": ",".join(TEST_KEYS),
        "PURL_JOBS_QUEUE_NAME": f"scaleout-{uuid.uuid4().hex[:8]}",
        "PURL_BASE_URL": "http://localhost", "WEB_CONCURRENCY": "1",
        "PYTHONPATH": str(ROOT),
    }
    processes: list[subprocess.Popen] = []
    ports = {}
    try:
        for name in ("a", "b"):
            ports[name] = _free_port()
            folder = tmp_path / f"web-{name}"
            folder.mkdir()
            processes.append(subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--chdir",
                 str(ROOT), "wsgi:app"], cwd=folder, env={**env, "PORT": str(ports[name])},
                stdout=subprocess.DEVNULL, stderr=open(folder / "log", "w")))  # noqa: SIM115
        folder = tmp_path / "worker"
        folder.mkdir()
        processes.append(subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "jobs", "work"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=open(folder / "log", "w")))  # noqa: SIM115
        for port in ports.values():
            _wait_for(f"http://127.0.0.1:{port}/healthz")
        yield {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up")


class Browser:
    """A marketer's browser: cookies, CSRF tokens from the pages, no redirects followed."""

    def __init__(self) -> None:
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                return None

        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def open(self, url: str, data: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str, str]:
        request = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.headers.get("Location", ""), \
                    response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), \
                error.read().decode("utf-8", "replace")

    def post(self, url: str, fields: dict[str, str]) -> tuple[int, str, str]:
        return self.open(url, urllib.parse.urlencode(fields).encode())

    def upload(self, url: str, fields: dict[str, str], name: str,
               content: bytes) -> tuple[int, str, str]:
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for key, value in fields.items():
            body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                       f"{value}\r\n".encode())
        body.write(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                   f'filename="{name}"\r\nContent-Type: text/csv\r\n\r\n'.encode())
        body.write(content + f"\r\n--{boundary}--\r\n".encode())
        return self.open(url, body.getvalue(),
                         {"Content-Type": f"multipart/form-data; boundary={boundary}"})


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
    status, _, _ = marketer.post(f"{a}/console/login", {
        "csrf_token": csrf_token(page), "email": DEMO_USER, "password": DEMO_PASSWORD})
    assert status == 303
    _, _, page = marketer.open(f"{a}/console/campaigns/winter-2026")
    status, batch_path, _ = marketer.upload(
        f"{a}/console/campaigns/winter-2026/batches", {"csrf_token": csrf_token(page)},
        "kunden.csv", _recipient_list())
    assert status == 303, "the upload through web A was not accepted"
    batch_path = urllib.parse.urlsplit(batch_path).path

    # The mapping form, as web B shows it: B never saw the file, it reads it from the database.
    status, _, preview = marketer.open(b + batch_path)
    assert status == 200 and "Vorname0" in preview
    mapping = dict(re.findall(
        r'<select id="map-\d+" name="(map-\d+)">.*?<option value="([a-z_]+)" selected',
        preview, re.S))
    assert mapping == {"map-0": "external_id", "map-1": "first_name", "map-2": "last_name",
                       "map-3": "email"}
    status, _, _ = marketer.post(b + batch_path, {
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
