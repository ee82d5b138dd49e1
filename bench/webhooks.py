"""What webhooks cost a shopper's request, and how fast a worker sends them.

Builds a fresh SQLite database with the demo shop and mints recipients, then walks them in
process (Flask test client) through a first visit of their link and the quiz's first
answer, taking turns in rounds between an install with no webhook endpoint and one with an
endpoint for the campaign that wants every event type (each visit and quiz start then
writes its message to the outbox in the request's transaction; nothing is sent during the
request). Prints each request's p50 both ways and their ratio; then the first visit as a
shopper gets it, over HTTP from gunicorn (one sync worker) on 127.0.0.1, the same two ways.
Then sends every message written to a receiver on 127.0.0.1 with the worker's own function
and prints deliveries a second, and how many arrived exactly once.

    .venv/bin/python bench/webhooks.py [--shoppers 600] [--rounds 6]

Target (issue 17): the shopper's page time unchanged (within 1.1x). Figures depend on the
machine.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-key-not-secret"
TARGET = 1.1
REQUESTS = ("first visit", "first answer")


class _Receiver(BaseHTTPRequestHandler):
    ids: Counter[str] = Counter()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        _Receiver.ids[self.headers["webhook-id"]] += 1
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=6,
                        help="turns between the two ways; each takes shoppers/rounds/2")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from purl import create_app, jobs
    from purl.demo.load import load_demo
    from purl.extensions import db
    from purl.links.recipients import NewRecipient, mint
    from purl.links.tokens import sign
    from purl.models import User, WebhookDelivery, WebhookEndpoint
    from purl.webhooks import endpoints

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    tmp = tempfile.TemporaryDirectory()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp.name}/webhooks.sqlite3",
                      "SECRET_KEYS": [KEY], "RATELIMIT_STORAGE_URI": "memory://",
                      "JOBS_SQLITE_PATH": f"{tmp.name}/jobs.sqlite3",
                      "WEBHOOK_ALLOW_PRIVATE": True})
    with app.app_context():
        upgrade()
        campaign = load_demo(db.session).campaign
        # Half of them for the in-process walk, half for the one over HTTP.
        people = mint(db.session, campaign, [NewRecipient(first_name=f"K{i}",
                                                          email=f"k{i}@example.de")
                                             for i in range(2 * args.shoppers)])
        every_path = ["/p/" + sign(r.link_key, [KEY]) for r in people]
        paths, http_paths = every_path[:args.shoppers], every_path[args.shoppers:]
        admin = db.session.scalar(select(User).where(User.role == "admin"))
        endpoint = endpoints.create_endpoint(db.session, admin, url, campaign=campaign,
                                             allow_private=True)
        endpoint_id = endpoint.id
        db.session.commit()

    def listening(on: bool) -> None:
        with app.app_context():
            db.session.get(WebhookEndpoint, endpoint_id).enabled = on
            db.session.commit()

    times = {mode: {name: [] for name in REQUESTS} for mode in ("none", "listening")}
    walk = iter(paths)
    per_turn = max(1, args.shoppers // args.rounds // 2)

    def timed(client, method: str, path: str, **kwargs):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        response = getattr(client, method)(path, **kwargs)
        response.get_data()
        return time.perf_counter() - started, response

    for _ in range(args.rounds):
        for mode in ("none", "listening"):
            listening(mode == "listening")
            for _ in range(per_turn):
                path = next(walk)
                client = app.test_client()
                took, _ = timed(client, "get", path)
                times[mode]["first visit"].append(took)
                page = client.get(f"{path}/quiz/tier").get_data(as_text=True)
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
                took, answered = timed(client, "post", f"{path}/quiz/tier",
                                       data={"csrf_token": token, "answer": "hund"})
                assert answered.status_code == 303, answered.status_code
                times[mode]["first answer"].append(took)
    listening(True)

    walked = len(times["none"]["first visit"])
    print(f"in process (Flask test client), SQLite, {walked} shoppers each way in "
          f"{args.rounds} turns")
    print(f"{'request':<15}{'no endpoint ms':>15}{'listening ms':>14}{'ratio':>8}   (p50s)")
    for name in REQUESTS:
        without = statistics.median(times["none"][name])
        with_ = statistics.median(times["listening"][name])
        ratio = with_ / without
        print(f"{name:<15}{without * 1000:>15.2f}{with_ * 1000:>14.2f}{ratio:>7.2f}x   "
              f"{'met' if ratio <= TARGET else 'missed'} (<= {TARGET}x)")

    over_http = first_visits_over_http(tmp.name, http_paths, args.rounds, per_turn, listening)
    without, with_ = (statistics.median(over_http[mode]) for mode in ("none", "listening"))
    ratio = with_ / without
    print(f"{'first visit':<15}{without * 1000:>15.2f}{with_ * 1000:>14.2f}{ratio:>7.2f}x   "
          f"{'met' if ratio <= TARGET else 'missed'} (<= {TARGET}x), over HTTP from "
          f"gunicorn, as the shopper gets it")

    with app.app_context():
        waiting = db.session.scalar(select(func.count()).select_from(WebhookDelivery))
        started = time.perf_counter()
        while db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(
                WebhookDelivery.status == "pending")):
            jobs.deliver_webhooks(db.session, app.config)
        took = time.perf_counter() - started
    once = sum(1 for n in _Receiver.ids.values() if n == 1)
    print(f"sent {waiting} deliveries to 127.0.0.1 in {took:.2f} s: "
          f"{waiting / took:,.0f} a second with one worker thread; "
          f"{once} webhook ids arrived exactly once, {len(_Receiver.ids) - once} more often")
    server.shutdown()
    tmp.cleanup()


def first_visits_over_http(folder: str, paths: list[str], rounds: int, per_turn: int,
                           listening) -> dict[str, list[float]]:  # noqa: ANN001
    """Each shopper's first visit timed from the request sent to the last byte read, over a
    new connection (a phone's), taking turns between the two ways as the walk in process."""
    from bench.pages import free_port, wait_until_up

    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{folder}/webhooks.sqlite3",
           "SECRET_KEYS": KEY, "PURL_BASE_URL": f"http://127.0.0.1:{port}",
           "RATELIMIT_STORAGE_URI": "memory://", "PURL_WEBHOOK_ALLOW_PRIVATE": "1",
           "PURL_JOBS_SQLITE_PATH": f"{folder}/jobs.sqlite3"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", "1", "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT), "wsgi:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times: dict[str, list[float]] = {"none": [], "listening": []}
    walk = iter(paths)
    try:
        wait_until_up(f"http://127.0.0.1:{port}")
        for _ in range(rounds):
            for mode in ("none", "listening"):
                listening(mode == "listening")
                for _ in range(per_turn):
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    started = time.perf_counter()
                    connection.request("GET", next(walk))
                    answer = connection.getresponse()
                    answer.read()
                    times[mode].append(time.perf_counter() - started)
                    connection.close()
                    assert answer.status == 200, answer.status
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


if __name__ == "__main__":
    main()
