"""Console pages at campaign sizes: funnel, campaign list, campaign page, links, events CSV.

Builds one campaign per size (recipients with about 3.5 events each: every one visits,
half start the quiz, a quarter complete it, the others answer 1–2 questions, 15 % click a
product) with bulk inserts, the events in time order as a live table holds them, fills the
funnel and link tallies the way migrations 0012 and 0018 backfill them, signs in as an
admin and loads each console page in-process (Flask test client). Prints p50/p95 per page
and size, and the growth from the smallest to the largest (p95 over p95).

    .venv/bin/python bench/console.py [--sizes 10000,100000,1000000] [--rounds 7]
        [--database-url postgresql+psycopg://…]  (default: a fresh SQLite file)

Targets (issue 16): funnel, campaign list and campaign page p95 < 300 ms at 1,000,000
recipients and no more than 2x their time at 10,000; links deep page < 100 ms; events CSV
>= 200,000 rows/s. Figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-key-not-secret"
ADMIN, PASSWORD = "bench@shop.example", "bench-password-1234"
CHUNK = 20_000
# Answers along the quiz's cat and dog paths (zoohandlung.yaml).
PATHS = ([("tier", "katze"), ("bedarf", ["futter"]), ("budget", "bis-50"),
          ("wichtig", "natur")],
         [("tier", "hund"), ("alter", "welpe"), ("bedarf", ["snacks", "spielzeug"]),
          ("budget", "bis-100"), ("wichtig", "premium")])


def backfill(conn) -> None:  # noqa: ANN001
    """The funnel tallies and the link tally, counted by their migrations' own SQL."""
    for name in ("0012_funnel_tallies", "0018_link_tally"):
        spec = importlib.util.spec_from_file_location(
            f"migration_{name}", ROOT / f"migrations/versions/{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.backfill(conn)


def build(app, sizes: list[int]) -> dict[int, str]:  # noqa: ANN001
    """One campaign per size; returns size → campaign slug."""
    import datetime as dt

    from sqlalchemy import Column, MetaData, Table, func, insert, select, text

    from purl.accounts import create_user
    from purl.analytics.events import answer_text
    from purl.extensions import db
    from purl.models import Campaign, Event, Product, QuizResponse, Recipient, ShopperProfile
    from purl.quiz.format import get_quiz

    quiz = get_quiz(app.config["QUIZ_FOLDER"], "zoohandlung")
    rnd = random.Random(16)
    slugs = {}
    create_user(db.session, ADMIN, PASSWORD, "admin")
    product = Product(sku="bench-1", title="Bench", category="c", product_type="futter",
                      price=1, url="https://shop.example/bench")
    db.session.add(product)
    db.session.commit()
    # Where each campaign's events are written first, to be copied in time order.
    staging = Table("bench_event", MetaData(), *(
        Column(c.name, c.type) for c in Event.__table__.columns if c.name != "id"))
    staging.create(db.session.connection())
    next_recipient = (db.session.scalar(select(func.max(Recipient.id))) or 0) + 1
    next_profile = (db.session.scalar(select(func.max(ShopperProfile.id))) or 0) + 1
    start = dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
    for size in sizes:
        started = time.perf_counter()
        camp = Campaign(slug=f"bench-{size}", name=f"Bench {size:,}", quiz_slug=quiz.slug,
                        variants=[{"key": k, "headline": k, "message": ""} for k in "ab"],
                        starts_on=start.date())
        db.session.add(camp)
        db.session.flush()
        slugs[size] = camp.slug
        conn = db.session.connection()
        n_events = 0
        for offset in range(0, size, CHUNK):
            people, profiles, responses, evs = [], [], [], []
            for i in range(offset, min(size, offset + CHUNK)):
                rid = next_recipient
                next_recipient += 1
                channel = "print" if i % 4 == 0 else "email"
                variant = "ab"[i % 2]
                seed = i % 1000 == 999
                people.append({"id": rid, "campaign_id": camp.id, "identity": f"{size}-{i}",
                               "code": f"B{size}X{i}", "channel": channel, "variant": variant,
                               "is_seed": seed, "email": f"kunde{i}@example.de",
                               "first_name": f"K{i}", "attributes": {},
                               "created_at": start})
                when = start + dt.timedelta(days=rnd.randrange(60), seconds=rnd.randrange(80000))
                base = {"campaign_id": camp.id, "recipient_id": rid, "channel": channel,
                        "variant": variant, "is_seed": seed}
                evs.append({**base, "kind": "visit", "created_at": when})
                roll = rnd.random()
                if roll < 0.5:
                    pid = next_profile
                    next_profile += 1
                    path = PATHS[i % 2]
                    done = roll < 0.25
                    given = path if done else path[:rnd.choice((1, 2))]
                    profiles.append({"id": pid, "recipient_id": rid, "created_at": when,
                                     "updated_at": when})
                    responses.append({"profile_id": pid, "quiz_slug": quiz.slug,
                                      "quiz_version": quiz.version, "answers": dict(given),
                                      "started_at": when, "updated_at": when,
                                      "completed_at": when if done else None})
                    quiz_base = {**base, "profile_id": pid, "quiz_slug": quiz.slug,
                                 "quiz_version": quiz.version}
                    evs.append({**quiz_base, "kind": "quiz_start", "created_at": when})
                    for question, value in given:
                        evs.append({**quiz_base, "kind": "answer", "question_id": question,
                                    "answer": answer_text(value), "created_at": when})
                    if done:
                        evs.append({**quiz_base, "kind": "quiz_complete", "created_at": when})
                    if roll < 0.15:
                        evs.append({**base, "profile_id": pid, "kind": "product_click",
                                    "product_id": product.id, "created_at": when})
            conn.execute(insert(Recipient), people)
            if profiles:
                conn.execute(insert(ShopperProfile), profiles)
                conn.execute(insert(QuizResponse), responses)
            # Every row the same keys, so executemany sends one statement shape.
            keys = ("campaign_id", "recipient_id", "profile_id", "channel", "variant",
                    "is_seed", "kind", "created_at", "quiz_slug", "quiz_version",
                    "question_id", "product_id", "answer")
            conn.execute(insert(staging), [{k: e.get(k) for k in keys} for e in evs])
            n_events += len(evs)
        # Events arrive as they happen, so a live table holds them in time order: copied in
        # that order, as written recipient by recipient they would scatter every time-ordered
        # read (the export's) over the whole table.
        columns = ", ".join(keys)
        conn.execute(text(f"INSERT INTO event ({columns}) SELECT {columns} FROM bench_event "
                          "ORDER BY created_at"))
        conn.execute(staging.delete())
        db.session.commit()
        print(f"built {size:,} recipients, {n_events:,} events "
              f"({n_events / size:.2f} each) in {time.perf_counter() - started:.1f} s",
              flush=True)
    staging.drop(db.session.connection())
    started = time.perf_counter()
    backfill(db.session.connection())
    db.session.commit()
    print(f"tallies backfilled (migrations 0012's and 0018's SQL) in "
          f"{time.perf_counter() - started:.1f} s",
          flush=True)
    if db.engine.dialect.name == "postgresql":
        # Statistics as autovacuum would gather them (outside a transaction, which would
        # roll them back).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
    return slugs


def timed(client, path: str, rounds: int) -> list[float]:  # noqa: ANN001
    client.get(path)  # warm: templates compiled, caches filled
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        response.get_data()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return times


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000",
                        help="recipients per campaign, comma-separated (e.g. 10000,100000,1000000)")
    parser.add_argument("--rounds", type=int, default=7, help="requests per page and size")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]

    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from purl import create_app

    url = args.database_url
    tmp = tempfile.TemporaryDirectory()
    if url is None:
        url = f"sqlite:///{tmp.name}/console.sqlite3"
    else:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEYS": [KEY],
                      "RATELIMIT_STORAGE_URI": "memory://", "JOBS_SQLITE_PATH":
                      f"{tmp.name}/jobs.sqlite3"})
    with app.app_context():
        upgrade()
        from purl.extensions import db

        slugs = build(app, sizes)
        # The deep page: the last but one page of 50, reached by its keyset link.
        from sqlalchemy import select

        from purl.models import Campaign, Recipient
        deep_after = {size: db.session.scalar(
            select(Recipient.id).join(Campaign, Campaign.id == Recipient.campaign_id)
            .where(Campaign.slug == slug).order_by(Recipient.id.desc()).offset(100).limit(1))
            for size, slug in slugs.items()}
        db.session.remove()

    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/console/login", data={"csrf_token": token, "email": ADMIN,
                                               "password": PASSWORD}).status_code in (302, 303)
    results: dict[str, dict[int, tuple[float, float]]] = {}
    for size in sizes:
        slug = slugs[size]
        pages = {
            "funnel": f"/console/campaigns/{slug}/funnel",
            "campaign list": "/console/",
            "campaign page": f"/console/campaigns/{slug}",
            "links, first page": f"/console/campaigns/{slug}/links",
            "links, deep page": f"/console/campaigns/{slug}/links?after={deep_after[size]}",
        }
        for name, path in pages.items():
            times = timed(client, path, args.rounds)
            results.setdefault(name, {})[size] = (statistics.median(times), p95(times))
            print(f"{size:>9,}  {name:<18} p50 {statistics.median(times) * 1000:8.1f} ms  "
                  f"p95 {p95(times) * 1000:8.1f} ms", flush=True)
        started = time.perf_counter()
        response = client.get(f"/console/campaigns/{slug}/events.csv")
        rows = sum(chunk.count(b"\n") for chunk in response.response) - 1
        took = time.perf_counter() - started
        results.setdefault("events CSV (rows/s)", {})[size] = (rows / took, rows / took)
        print(f"{size:>9,}  {'events CSV':<18} {rows:,} rows in {took:.2f} s: "
              f"{rows / took:,.0f} rows/s", flush=True)

    print()
    dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"| page ({dialect}, p50 / p95 ms) | "
          + " | ".join(f"{s:,}" for s in sizes) + " | growth (p95) |")
    print("| --- | " + " | ".join("---" for _ in sizes) + " | --- |")
    for name, by_size in results.items():
        if name.startswith("events"):
            cells = [f"{by_size[s][0]:,.0f}" for s in sizes]
            growth = by_size[sizes[-1]][0] / by_size[sizes[0]][0]
        else:
            cells = [f"{by_size[s][0] * 1000:.0f} / {by_size[s][1] * 1000:.0f}" for s in sizes]
            growth = by_size[sizes[-1]][1] / by_size[sizes[0]][1]
        print(f"| {name} | " + " | ".join(cells) + f" | {growth:.2f}x |")
    print(json.dumps({"database": dialect, "sizes": sizes}))


if __name__ == "__main__":
    main()
