"""Test fixtures in the flaskr style: ``app``, ``client``, ``runner``.

Every test runs against SQLite, or against PostgreSQL when ``TEST_DATABASE_URL`` is set (CI
runs the suite once each way). The schema is built once per run through the real Alembic
migrations, and every test starts from empty tables but for the shipped quizzes (published as
version 1, as the migration stores them).
"""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import StrictUndefined
from sqlalchemy import create_engine, select, text
from werkzeug.datastructures import MultiDict

from purl import create_app
from purl.accounts import create_user
from purl.catalog import catalogs
from purl.extensions import db
from purl.models import QuizResponse
from purl.quiz import versions

ROOT = Path(__file__).resolve().parent.parent
TEST_KEYS = ["test-key-newest", "test-key-older"]


def _normalise(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return _normalise(url)
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url: str) -> None:
    """Build the schema once, through the migrations, on an empty database."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(_config(database_url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        _seed()
        db.session.remove()
        db.engine.dispose()


def _config(database_url: str, **extra: object) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEYS": TEST_KEYS,
        "PURL_BASE_URL": "http://localhost",
        "RATELIMIT_STORAGE_URI": "memory://",
        # An import shows on the next request (the default trusts a version for a second).
        "CATALOG_VERSION_SECONDS": 0,
        **extra,
    }


def _empty_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    if db.engine.dialect.name == "postgresql":
        quoted = ", ".join(f'"{t}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()
    _seed()


def _seed() -> None:
    """What every test starts from: a migrated database's default catalog (0022 makes it),
    the shipped coffee roaster's own catalog, and the shipped quizzes (0013 stores them)."""
    catalogs.ensure(db.session, catalogs.DEFAULT, "Standard")
    catalogs.ensure(db.session, "roestwerk", "Röstwerk")
    versions.import_files(db.session, [ROOT / "quizzes"], publish=True)
    db.session.commit()


@pytest.fixture
def make_app(_schema: None, database_url: str, tmp_path: Path) -> Iterator:
    """Build apps with extra config; tables are emptied after the test."""
    apps: list[Flask] = []

    def factory(**extra: object) -> Flask:
        # The job queue of a test's apps is the test's own (never instance/jobs.sqlite3).
        extra.setdefault("JOBS_SQLITE_PATH", str(tmp_path / "jobs.sqlite3"))
        extra.setdefault("RATELIMIT_STORAGE_URI", f"purl-sqlite://{tmp_path / 'limits.sqlite3'}")
        app = create_app(_config(database_url, **extra))
        app.jinja_env.undefined = StrictUndefined
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    cleaner = create_app(_config(database_url))
    with cleaner.app_context():
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def empty_database(database_url: str, tmp_path):  # noqa: ANN001, ANN201
    """A database of its own, beside the suite's: a SQLite file, or a PostgreSQL schema."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"
        return
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS upgrade_check CASCADE"))
        conn.execute(text("CREATE SCHEMA upgrade_check"))
    separator = "&" if "?" in database_url else "?"
    yield f"{database_url}{separator}options=-csearch_path%3Dupgrade_check"
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA upgrade_check CASCADE"))
    engine.dispose()


@pytest.fixture
def app(make_app) -> Flask:  # noqa: ANN001
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):  # noqa: ANN201
    return app.test_cli_runner()


@dataclass
class Demo:
    """The demo shop as loaded for a test: its campaign slug and each recipient's token."""

    campaign_id: int
    tokens: dict[str, str]  # first name -> token
    recipient_ids: dict[str, int]

    def path(self, first_name: str, suffix: str = "") -> str:
        return f"/p/{self.tokens[first_name]}{suffix}"


@pytest.fixture
def demo(app: Flask) -> Demo:
    from purl.demo.load import load_demo
    from purl.links.tokens import sign

    with app.app_context():
        summary = load_demo(db.session)
        db.session.commit()
        return Demo(
            campaign_id=summary.campaign.id,
            tokens={r.first_name: sign(r.link_key, TEST_KEYS) for r in summary.recipients},
            recipient_ids={r.first_name: r.id for r in summary.recipients},
        )


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The CSRF token a page's form carries, as a browser would submit it."""
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


# ---------------------------------------------------------------- helpers of several areas
# (test modules never import each other: what more than one needs lives here)

HX = {"HX-Request": "true"}
ADMIN, ADMIN_PASSWORD = "admin@shop.example", "admin password 123"
MARKETER, MARKETER_PASSWORD = "marketer@shop.example", "marketer password 123"


@pytest.fixture
def users(app):  # noqa: ANN001, ANN201
    with app.app_context():
        create_user(db.session, ADMIN, ADMIN_PASSWORD, "admin")
        create_user(db.session, MARKETER, MARKETER_PASSWORD, "marketer")
        db.session.commit()


def login(client, email: str, password: str, **kwargs):  # noqa: ANN001, ANN003, ANN201
    page = client.get("/console/login").get_data(as_text=True)
    return client.post("/console/login", data={
        "csrf_token": csrf_token(page), "email": email, "password": password}, **kwargs)


def answer(client, path: str, *values: str, headers: dict | None = None):  # noqa: ANN001, ANN201
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "answer": list(values)}
    return client.post(path, data=data, headers=headers or {})


@pytest.fixture
def console(make_app, demo, tmp_path: Path) -> FlaskClient:  # noqa: ANN001
    """The demo admin signed in, with batches that finish before the redirect (run in the
    request, as a worker would run them); ``console.application`` is its app."""
    from purl.demo.load import DEMO_PASSWORD, DEMO_USER

    app = make_app(UPLOAD_FOLDER=str(tmp_path / "uploads"), CONSOLE_BATCH_WAIT=True)
    client = app.test_client()
    login(client, DEMO_USER, DEMO_PASSWORD)
    client.application = app
    return client


def finish_coffee(client, **overrides):  # noqa: ANN001, ANN003, ANN201
    """Answer the demo roaster's quiz as a visitor to its end: filter coffee, no grinder, no
    milk, fruity (``overrides`` change a question's values)."""
    steps = [("zubereitung", ["handfilter"]), ("muehle", ["no"]), ("milch", ["no"]),
             ("geschmack", ["fruchtig"]), ("budget", ["15"]), ("wunsch", [""])]
    response = None
    for question_id, values in steps:
        response = answer(client, "/q/roestwerk/quiz/" + question_id,
                          *overrides.get(question_id, values))
        assert response.status_code == 303, (question_id, response.status_code)
    return response


def stored_answers(app) -> dict | None:  # noqa: ANN001
    with app.app_context():
        response = db.session.scalar(select(QuizResponse))
        return dict(response.answers) if response else None


# A German Excel "CSV (Trennzeichen-getrennt)" export: semicolons, Windows-1252, a header
# Excel users write. "Kunden-Nr." is not a name we know, so the marketer maps it by hand.
EXCEL_ROWS = [
    "Vorname;Nachname;Anrede;E-Mail;Kundennummer;Kunden-Nr.",
    "Jürgen;Müller;Herr;juergen@example.org;K-1;A1",
    "Anna;Groß;Frau;anna@example.org;K-2;A2",
    "Zoë;Weiß;;;K-3;A3",
    ";;;;;",
    "Otto;Keller;Herr;kaputt-at-example;;A4",
]


def excel_export(rows: list[str] = EXCEL_ROWS) -> bytes:
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return f"purl database: PostgreSQL ({url.rsplit('@', 1)[-1]})"
    return "purl database: SQLite (a fresh file per run)"


# Leases short enough for a test to wait on them.
FAST = {"JOBS_LEASE_SECONDS": 1.5, "JOBS_HEARTBEAT_SECONDS": 0.2, "JOBS_REQUEUE_SECONDS": 1,
        "JOBS_POLL_SECONDS": 0.05}


# --- a worker process ----------------------------------------------------------------------


def worker_env(database_url: str, queue_path: Path, **settings: object) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEYS": ",".join(TEST_KEYS),
           "PURL_BASE_URL": "http://localhost", "PURL_JOBS_SQLITE_PATH": str(queue_path),
           "PURL_JOBS_LEASE_SECONDS": str(FAST["JOBS_LEASE_SECONDS"]),
           "PURL_JOBS_HEARTBEAT_SECONDS": str(FAST["JOBS_HEARTBEAT_SECONDS"]),
           "PURL_JOBS_REQUEUE_SECONDS": str(FAST["JOBS_REQUEUE_SECONDS"]),
           "PURL_JOBS_POLL_SECONDS": str(FAST["JOBS_POLL_SECONDS"])}
    env.pop("REDIS_URL", None)
    env.update({k: str(v) for k, v in settings.items()})
    return env


class Worker:
    """``flask --app wsgi jobs work`` in a session of its own (it and its minting processes)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "work"], cwd=ROOT,
            env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self, signum: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever is left: minting processes
        except ProcessLookupError:
            pass
        self.process.wait()
        self._log.close()


@pytest.fixture
def start_worker(tmp_path):  # noqa: ANN001, ANN201
    started: list[Worker] = []

    def start(env: dict[str, str]) -> Worker:
        worker = Worker(env, tmp_path / f"worker-{len(started) + 1}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


# --- gunicorn as `make run` serves it, and a client for it -----------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, folder: Path, **settings: str) -> dict[str, str]:
    """A served install's environment: the test database, the test keys, no Redis unless
    ``settings`` name it, and the embedded queue and rate-limit counters in ``folder``."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url,
           "SECRET_KEYS": ",".join(TEST_KEYS), "PURL_BASE_URL": "http://localhost",
           "PURL_JOBS_SQLITE_PATH": str(folder / "jobs.sqlite3"),
           "PURL_LIMITS_SQLITE_PATH": str(folder / "gunicorn-limits.sqlite3"),
           "PURL_CATALOG_VERSION_SECONDS": "0",
           "PYTHONPATH": str(ROOT)}
    env.update(settings)
    return env


class Gunicorn:
    """``gunicorn -c gunicorn.conf.py wsgi:app`` in a folder of its own, in a session of its
    own; its access log names the worker (pid) that served each request."""

    def __init__(self, folder: Path, env: dict[str, str], workers: int = 2) -> None:
        folder.mkdir(parents=True)
        self.port, self.workers_wanted = free_port(), workers
        self.url = f"http://127.0.0.1:{self.port}"
        self.log, self.error_log = folder / "access.log", folder / "error.log"
        self._out, self._err = open(self.log, "w"), open(self.error_log, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
             "--chdir", str(ROOT), "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
            cwd=folder, stdout=self._out, stderr=self._err, start_new_session=True,
            env={**env, "PORT": str(self.port), "WEB_CONCURRENCY": str(workers)})

    def wait_until_up(self, seconds: float = 30) -> None:
        """Until /healthz answers and every worker has started."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200 and len(self.workers()) == self.workers_wanted:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not come up: {self.error_log.read_text()[-2000:]}")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def rss(self) -> dict[int, int]:
        """Each worker's resident memory in bytes."""
        sizes = {}
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            sizes[pid] = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024
        return sizes

    def workers_that_served(self, method: str, path: str) -> set[str]:
        lines = self.log.read_text().splitlines()
        return {line.split()[0] for line in lines if line.split()[1:3] == [method, path]}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()
        self._err.close()


@pytest.fixture
def start_gunicorn(database_url: str, demo, tmp_path: Path) -> Iterator:  # noqa: ANN001
    """Start gunicorn on the test database with the demo loaded: ``start(workers, **env)``."""
    started: list[Gunicorn] = []

    def start(workers: int = 2, **settings: str) -> Gunicorn:
        web = Gunicorn(tmp_path / f"web-{len(started) + 1}",
                       server_env(database_url, tmp_path, **settings), workers)
        started.append(web)
        web.wait_until_up()
        return web

    yield start
    for web in started:
        web.stop()


class Reply(NamedTuple):
    status: int
    headers: Message
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        return None


class Browser:
    """A client of a served install: cookies kept, no redirects followed, and, given an
    ``address``, the client address a trusted proxy reports (``X-Forwarded-For``)."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def open(self, url: str, data: bytes | dict | None = None,
             headers: dict[str, str] | None = None) -> Reply:
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data).encode()
        headers = dict(headers or {})
        if self.address:
            headers["X-Forwarded-For"] = self.address
        request = urllib.request.Request(url, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=30) as response:
                return Reply(response.status, response.headers,
                             response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.headers, error.read().decode("utf-8", "replace"))

    def upload(self, url: str, fields: dict[str, str], name: str, content: bytes) -> Reply:
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

    def sign_in(self, base: str, email: str, password: str) -> Reply:
        page = self.open(f"{base}/console/login").text
        return self.open(f"{base}/console/login", {
            "csrf_token": csrf_token(page), "email": email, "password": password})

    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


# A webhook receiver on 127.0.0.1: a real HTTP server in a thread, answering as told.
@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str
    status: int  # what the receiver answered


@dataclass
class Receiver:
    port: int
    # Called for each request with the number of requests before it and the request's
    # path: the status to answer.
    answer: Callable[[int, str], int] = lambda _n, _path: 204
    location: str = ""  # sent with a 3xx answer
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                with receiver._lock:
                    status = receiver.answer(len(receiver.received), self.path)
                    receiver.received.append(Received(self.path, dict(self.headers.items()),
                                                      body, status))
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self) -> list[Received]:
        """What it took (answered 2xx)."""
        return [r for r in self.received if 200 <= r.status < 300]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port, not yet listening (``start()``: the receiver is up)."""
    made = Receiver(free_port())
    yield made
    made.stop()


class _FormReader(HTMLParser):
    """The fields of the form posting to ``action``, as a browser would send them."""

    def __init__(self, action: str) -> None:
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.fields = action, False, []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "y" if a.get("type") == "checkbox"
                                                    else "")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), []

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the line break that follows <textarea>.
            text = "".join(self._text)
            self.fields.append((self._textarea, text[2:] if text.startswith("\r\n")
                                else text.removeprefix("\n")))
            self._textarea = None


def form_fields(html: str, action: str) -> MultiDict:
    """What submitting the form with ``action`` on the page would send, unchanged."""
    reader = _FormReader(action)
    reader.feed(html)
    return MultiDict(reader.fields)
