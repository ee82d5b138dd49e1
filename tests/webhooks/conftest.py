"""A webhook receiver on 127.0.0.1: a real HTTP server in a thread, answering as told."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import free_port


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
