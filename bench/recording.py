"""What recording an event costs a shopper's request: with the funnel and quiz tallies
against without them, side by side in one run.

Builds a fresh SQLite database with the demo shop and mints recipients, then walks them in
process (Flask test client) through a first visit of their link, the quiz's first question
and its first answer, and a repeat visit, taking turns in rounds between two ways of
recording: as served (the event and its tallies in the same transaction), and with the
tallies left out (the event as a plain row, as before the tallies came). Prints each
request's p50 both ways, their ratio, and the mean time spent in the tallies themselves
(the rest of the difference is their rows written at commit). Every recipient is new to
the request it makes, so first arrivals (the tallies' dearest path) are what is measured.

    .venv/bin/python bench/recording.py [--shoppers 600] [--rounds 6]

Target (issue 16): each request with its tallies within 1.1x of without. In process, so
nothing else shares the measure; figures depend on the machine.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-key-not-secret"
TARGET = 1.1
REQUESTS = ("first visit", "quiz question", "first answer", "repeat visit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shoppers", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=6,
                        help="turns between the two ways; each takes shoppers/rounds/2")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from purl import create_app
    from purl.analytics import tallies
    from purl.demo.load import load_demo
    from purl.extensions import db
    from purl.links.recipients import NewRecipient, mint
    from purl.links.tokens import sign

    tmp = tempfile.TemporaryDirectory()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp.name}/recording.sqlite3",
                      "SECRET_KEYS": [KEY], "RATELIMIT_STORAGE_URI": "memory://",
                      "JOBS_SQLITE_PATH": f"{tmp.name}/jobs.sqlite3"})
    with app.app_context():
        upgrade()
        campaign = load_demo(db.session).campaign
        people = mint(db.session, campaign, [NewRecipient(first_name=f"K{i}",
                                                          email=f"k{i}@example.de")
                                             for i in range(args.shoppers)])
        paths = ["/p/" + sign(r.link_key, [KEY]) for r in people]
        db.session.commit()

    counted = {"funnel": tallies.count_funnel, "quiz": tallies.count_quiz}
    in_tallies = [0.0]

    def timed(count):  # noqa: ANN001, ANN202
        def run(conn, row):  # noqa: ANN001, ANN202
            started = time.perf_counter()
            count(conn, row)
            in_tallies[0] += time.perf_counter() - started
        return run

    def use(tallied: bool) -> None:
        tallies.count_funnel = timed(counted["funnel"]) if tallied else (lambda c, r: None)
        tallies.count_quiz = timed(counted["quiz"]) if tallied else (lambda c, r: None)

    own = {name: 0.0 for name in REQUESTS}  # time inside the tallies, per request kind

    def request(client, method: str, path: str, name: str, **kwargs):  # noqa: ANN001, ANN202
        in_tallies[0] = 0.0
        started = time.perf_counter()
        response = getattr(client, method)(path, **kwargs)
        response.get_data()
        own[name] += in_tallies[0]
        return time.perf_counter() - started, response

    times = {mode: {name: [] for name in REQUESTS} for mode in ("tallied", "untallied")}
    walk = iter(paths)
    per_turn = max(1, args.shoppers // args.rounds // 2)
    for _ in range(args.rounds):
        for mode in ("tallied", "untallied"):
            use(mode == "tallied")
            for _ in range(per_turn):
                path = next(walk)
                client = app.test_client()
                took, _ = request(client, "get", path, "first visit")
                times[mode]["first visit"].append(took)
                took, page = request(client, "get", f"{path}/quiz/tier", "quiz question")
                times[mode]["quiz question"].append(took)
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"',
                                  page.get_data(as_text=True)).group(1)
                took, answered = request(client, "post", f"{path}/quiz/tier", "first answer",
                                         data={"csrf_token": token, "answer": "hund"})
                assert answered.status_code == 303, answered.status_code
                times[mode]["first answer"].append(took)
                took, _ = request(client, "get", path, "repeat visit")
                times[mode]["repeat visit"].append(took)
    use(True)
    for name, count in counted.items():
        setattr(tallies, f"count_{name}", count)

    walked = len(times["tallied"]["first visit"])
    print(f"in process (Flask test client), SQLite, {walked} shoppers each way in "
          f"{args.rounds} turns")
    print(f"{'request':<15}{'tallied ms':>11}{'untallied ms':>14}{'ratio':>8}"
          f"{'in the tallies ms':>19}   (p50s; the tallies' own time a mean)")
    for name in REQUESTS:
        with_ = statistics.median(times["tallied"][name])
        without = statistics.median(times["untallied"][name])
        ratio = with_ / without
        print(f"{name:<15}{with_ * 1000:>11.2f}{without * 1000:>14.2f}{ratio:>7.2f}x"
              f"{own[name] / walked * 1000:>19.3f}   "
              f"{'met' if ratio <= TARGET else 'missed'} (<= {TARGET}x)")
    tmp.cleanup()


if __name__ == "__main__":
    main()
