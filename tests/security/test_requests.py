"""Finding 1: request bodies are limited per route, before parsing and while they stream.

Only a signed-in marketer's post to an upload route may be as large as a recipient list
(``MAX_CONTENT_LENGTH``); their other console forms about 1 MB; everything else (sign-in, quiz
steps, anything anonymous) 64 KB. The audit's attacks are replayed against a real gunicorn with
two workers: a 40 MB form to the sign-in page and a chunked 250 MB upload.
"""

from __future__ import annotations

import io
import select
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from purl.demo.load import DEMO_PASSWORD, DEMO_USER
from tests.conftest import HX, Browser, Gunicorn, csrf_token, excel_export, login

MB = 1024 * 1024
UPLOAD_MB = 16  # the served app's upload limit: small enough to cross quickly
CAMPAIGN = "/console/campaigns/winter-2026"
TOO_LARGE = "Diese Anfrage ist zu groß"
FILE_TOO_LARGE = "Diese Datei ist zu groß"


# --- in the test client -------------------------------------------------------------------


def _form(size: int) -> bytes:
    """``a=1&a=1…``: the audit's form, ``size`` bytes of it."""
    return (b"a=1&" * (size // 4 + 1))[:size]


def test_a_form_larger_than_64_kb_is_refused_at_sign_in_before_it_is_read(client, users):
    response = client.post("/console/login", data=_form(100 * 1024),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert TOO_LARGE in page and "Datei" not in page
    # The same on a quiz step, for a shopper.
    assert client.post("/q/hund/quiz/start", data=_form(100 * 1024),
                       content_type="application/x-www-form-urlencoded").status_code == 413
    # Sign-in itself still works.
    assert login(client, "admin@shop.example", "admin password 123").status_code == 303


def _signed_in(client, demo):  # noqa: ANN001, ANN202
    assert login(client, DEMO_USER, DEMO_PASSWORD).status_code == 303
    return csrf_token(client.get(f"{CAMPAIGN}/edit").get_data(as_text=True))


def test_a_console_form_of_half_a_megabyte_is_accepted_but_not_at_sign_in(client, demo):
    token = _signed_in(client, demo)
    big = {"csrf_token": token, "name": "Winter", "message": "x" * (512 * 1024)}
    response = client.post(f"{CAMPAIGN}/edit", data=big)
    # Read and validated (the message is too long for the form), not refused unread.
    assert response.status_code not in (413, 400), response.status_code
    assert "5000" in response.get_data(as_text=True) or response.status_code in (200, 422)
    # More than the console's 1 MB is refused, with the general message.
    big["message"] = "x" * (MB + 1)
    response = client.post(f"{CAMPAIGN}/edit", data=big)
    assert response.status_code == 413 and TOO_LARGE in response.get_data(as_text=True)
    # Signed out, the same half megabyte is too much anywhere, sign-in included.
    anonymous = client.application.test_client()
    assert anonymous.post("/console/login", data={
        "email": "a@b.example", "password": "x" * (512 * 1024)}).status_code == 413


def test_more_form_fields_than_max_form_parts_are_refused_url_encoded_too(client, demo):
    token = _signed_in(client, demo)
    fields = [("csrf_token", token)] + [(f"f{i}", "1") for i in range(1000)]
    body = urllib.parse.urlencode(fields).encode()
    assert len(body) < MB
    response = client.post(f"{CAMPAIGN}/edit", data=body,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def _upload(client, token: str, content: bytes):  # noqa: ANN001, ANN202
    return client.post(f"{CAMPAIGN}/batches", data={
        "csrf_token": token, "file": (io.BytesIO(content), "kunden.csv")},
        content_type="multipart/form-data")


def _list_of(size: int) -> bytes:
    rows = excel_export()
    return rows + b"Otto;Keller;Herr;otto@example.org;K-9;A9\r\n" * (size // 42)


def test_an_upload_is_accepted_up_to_its_own_limit_and_refused_past_it(make_app, demo):
    app = make_app(MAX_CONTENT_LENGTH=3 * MB)
    client = app.test_client()
    token = _signed_in(client, demo)
    # 2.5 MB: more than any other form may send, less than the upload limit.
    response = _upload(client, token, _list_of(int(2.5 * MB)))
    assert response.status_code == 303, response.status_code
    response = _upload(client, token, _list_of(3 * MB + 1))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert FILE_TOO_LARGE in page and "3 MB" in page
    # An htmx request gets the same message, as a fragment app.js shows.
    response = client.post(f"{CAMPAIGN}/batches", headers=HX, data={
        "csrf_token": token, "file": (io.BytesIO(_list_of(3 * MB + 1)), "kunden.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    fragment = response.get_data(as_text=True)
    assert "data-htmx-error" in fragment and FILE_TOO_LARGE in fragment and "3 MB" in fragment
    assert "<html" not in fragment


def test_without_a_session_the_upload_route_takes_64_kb_only(make_app, demo):
    client = make_app(MAX_CONTENT_LENGTH=3 * MB).test_client()
    token = csrf_token(client.get("/console/login").get_data(as_text=True))
    response = _upload(client, token, _list_of(MB))
    assert response.status_code == 413
    assert TOO_LARGE in response.get_data(as_text=True)


def test_an_htmx_quiz_step_that_is_too_large_gets_the_message_as_a_fragment(client, demo):
    response = client.post(demo.path("Anna", "/quiz/start"), headers=HX, data=_form(100 * 1024),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413
    fragment = response.get_data(as_text=True)
    assert "data-htmx-error" in fragment and TOO_LARGE in fragment and "<html" not in fragment


class Endless(io.RawIOBase):
    """A body without end, as a chunked request is to the app; counts what was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        buffer[:] = b"a" * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def test_a_chunked_body_is_cut_at_the_limit_while_it_streams(client, users):
    # gunicorn sets wsgi.input_terminated for chunked bodies; there is no Content-Length.
    body = Endless()
    response = client.post("/console/login", content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True,
                                              "CONTENT_LENGTH": ""})
    assert response.status_code == 413
    assert body.read_bytes <= 64 * 1024 + 64 * 1024  # the limit, and at most one read more


# --- in gunicorn with two workers ---------------------------------------------------------


@pytest.fixture
def server(start_gunicorn) -> Gunicorn:  # noqa: ANN001
    """Two workers, as ``make run`` serves, with a small upload limit to send past."""
    return start_gunicorn(workers=2, PURL_MAX_UPLOAD_MB=str(UPLOAD_MB))


@dataclass
class Answer:
    status: int
    text: str
    sent: int  # body bytes the client had sent when the answer came
    seconds: float  # from the first byte sent to the whole answer received


def send(port: int, path: str, headers: dict[str, str], body: Iterator[bytes]) -> Answer:
    """POST ``body`` a piece at a time, as a client that stops once the server answers.

    Sending and reading are interleaved, so an answer that comes early is seen (a client
    that only reads after sending would run into a reset).
    """
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)  # little in flight
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    received, sent, pending, sending = b"", 0, b"", True
    start = time.monotonic()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sock.setblocking(False)
    try:
        while True:
            readable, writable, _ = select.select([sock], [sock] if sending else [], [], 30)
            if not readable and not writable:
                raise AssertionError(f"no answer after {sent} bytes")
            if readable:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    data = b""
                if not data:
                    break
                received += data
                sending = False  # the server has answered: send no more
                continue
            if not pending:
                pending = next(body, b"")
                if not pending:
                    sending = False
                    continue
            try:
                count = sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                sending = False
                continue
            sent += count
            pending = pending[count:]
    finally:
        seconds = time.monotonic() - start
        sock.close()
    head_text, _, text = received.partition(b"\r\n\r\n")
    assert head_text, f"no answer at all after {sent} bytes"
    return Answer(int(head_text.split()[1]), text.decode("utf-8", "replace"), sent, seconds)


def _pieces(total: int, piece: bytes) -> Iterator[bytes]:
    while total > 0:
        yield piece[:total]
        total -= len(piece)


def test_40_mb_to_sign_in_is_answered_413_at_once_and_no_worker_grows(server: Gunicorn):
    # Each worker has rendered the sign-in page and a 413 once: what grows after that is the
    # body, nothing else.
    for _ in range(6):
        urllib.request.urlopen(server.url + "/console/login", timeout=10).read()
        assert send(server.port, "/console/login", {
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(100 * 1024)}, _pieces(100 * 1024, _form(64 * 1024))
        ).status == 413
    size = 40 * 1000 * 1000
    times = []
    for _ in range(3):
        before = server.rss()
        answer = send(server.port, "/console/login", {
            "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(size)},
            _pieces(size, _form(64 * 1024)))
        after = server.rss()
        assert answer.status == 413 and TOO_LARGE in answer.text
        assert answer.sent < 8 * MB, answer.sent  # answered long before the body was sent
        grown = {pid: after[pid] - before.get(pid, after[pid]) for pid in after}
        assert max(grown.values()) < 10 * MB, grown
        times.append(answer.seconds)
    # The audit saw a 400 after 11 s. Within 100 ms, as the issue asks: the middle of three
    # tries, so one stall of a busy test machine does not decide; none takes a second.
    assert sorted(times)[1] < 0.1 and max(times) < 1, times
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as health:
        assert health.status == 200


def _chunked_upload(token: str, total: int) -> Iterator[bytes]:
    """A multipart body of ``total`` bytes or so, as HTTP/1.1 chunks."""
    boundary = "purl-boundary"

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    yield chunk(f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                f'{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="kunden.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode())
    row = b"Otto;Keller;Herr;otto@example.org;K-9;A9\r\n" * 1500  # about 64 KB
    for _ in range(total // len(row)):
        yield chunk(row)
    yield chunk(f"\r\n--{boundary}--\r\n".encode())
    yield b"0\r\n\r\n"


def test_a_chunked_250_mb_upload_is_cut_at_the_upload_limit(server: Gunicorn):
    marketer = Browser()
    assert marketer.sign_in(server.url, DEMO_USER, DEMO_PASSWORD).status == 303
    token = csrf_token(marketer.open(server.url + CAMPAIGN).text)
    headers = {"Content-Type": "multipart/form-data; boundary=purl-boundary",
               "Transfer-Encoding": "chunked", "Cookie": marketer.cookie()}
    before = server.rss()
    answer = send(server.port, f"{CAMPAIGN}/batches", headers,
                  _chunked_upload(token, 250 * 1000 * 1000))
    after = server.rss()
    assert answer.status == 413, answer.text[:500]
    assert FILE_TOO_LARGE in answer.text and f"{UPLOAD_MB} MB" in answer.text
    # Cut at the limit: what the server read is at most what was sent, which is the limit
    # and what the sockets' buffers hold, not the 250 MB.
    assert UPLOAD_MB * MB <= answer.sent < (UPLOAD_MB + 8) * MB, answer.sent
    # The file went to a temporary file, not into the worker's memory.
    grown = {pid: after[pid] - before.get(pid, after[pid]) for pid in after}
    assert max(grown.values()) < 10 * MB, grown

    # Without a session the same route takes 64 KB: nobody signed out can make a worker
    # spool a recipient list's worth of data.
    token = csrf_token(Browser().open(server.url + "/console/login").text)
    answer = send(server.port, f"{CAMPAIGN}/batches", {
        "Content-Type": "multipart/form-data; boundary=purl-boundary",
        "Transfer-Encoding": "chunked"}, _chunked_upload(token, 250 * 1000 * 1000))
    assert answer.status == 413 and TOO_LARGE in answer.text
    assert answer.sent < 8 * MB, answer.sent
