"""The showroom without its cache, at 50,000 and 200,000 products, against the bare page.

For each database (SQLite, PostgreSQL) and catalog size, builds a fresh database with the
demo shop plus a catalog of its own ("bench": six categories of five product types each,
three of forty tags per product, one in 23 unavailable), a quiz on it and a campaign with two
recipients who finished the quiz (and one yet to start, for the landing page):

- narrow: one category, one product type, a budget (about 1.5 % of the catalog allowed);
- broad: no category, five product types, no budget (about 16 % of the catalog allowed).

Both prefer two tags, so every allowed product is scored. Then it serves the app with
gunicorn (2 sync workers) on 127.0.0.1 and loads, with wrk, first with the cache switched off
(``PURL_SHOWROOM_CACHE=0``: every showroom counted, faceted and ranked afresh by the
database) the bare page (bench/server.py), the narrow and the broad showroom; then with the
cache on the bare page, a landing page and the broad showroom. Prints requests/s, p50/p99
and the share of the bare page's requests/s, and the targets (issue 15):

- uncached narrow: p99 < 50 ms and >= 0.5x the bare page's req/s (at 50,000 products);
- uncached broad: p99 < 150 ms at 50,000 products, < 400 ms at 200,000;
- cached landing and showroom: >= 0.8x the bare page's req/s.

    .venv/bin/python bench/showroom.py [--products 50000,200000] [--databases sqlite,postgresql]
        [--pg-url postgresql+psycopg://postgres:postgres@127.0.0.1:5432/purl_bench]

Needs ``wrk`` and, for PostgreSQL, a server the URL reaches (its database is made if missing,
and emptied). Figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pages import KEY, fetch, free_port, wait_until_up, wrk  # noqa: E402

CATEGORIES = [f"bereich-{c}" for c in range(6)]
TYPES = {c: [f"{c}-art-{t}" for t in range(5)] for c in CATEGORIES}
TAGS = [f"merkmal-{t}" for t in range(40)]
PREFERRED = TAGS[:2]
NARROW = {"bereich": CATEGORIES[1], "art": [TYPES[CATEGORIES[1]][2]], "budget": "bis-50",
          "wichtig": PREFERRED}
BROAD = {"bereich": "alle", "art": [TYPES[c][n] for n, c in enumerate(CATEGORIES[:5])],
         "budget": "egal", "wichtig": PREFERRED}
TARGETS = {  # products: (narrow p99, broad p99) in ms
    50_000: (50.0, 150.0), 200_000: (None, 400.0)}
NARROW_SHARE, CACHED_SHARE = 0.5, 0.8


def _quiz() -> str:
    lines = ["slug: bench-showroom", "catalog: bench", "title: Bench", "questions:",
             "  - id: bereich", "    match: must", "    text: Welcher Bereich?",
             "    options:"]
    lines += [f"      - {{value: {c}, label: {c}, filter: {{category: {c}}}}}"
              for c in CATEGORIES]
    lines += ["      - {value: alle, label: Alle}",
              "  - id: art", "    type: multi", "    match: must", "    text: Welche Art?",
              "    options:"]
    lines += [f"      - {{value: {t}, label: {t}, filter: {{product_type: {t}}}}}"
              for c in CATEGORIES for t in TYPES[c]]
    lines += ["  - id: budget", "    text: Budget?", "    options:",
              "      - {value: bis-50, label: Bis 50 Euro, filter: {price_max: 50}}",
              "      - {value: egal, label: Egal}",
              "  - id: wichtig", "    type: multi", "    match: nice", "    text: Wichtig?",
              "    options:"]
    lines += [f"      - {{value: {t}, label: {t}, prefer: {{tags: {{{t}: 2}}}}}}"
              for t in TAGS[:6]]
    return "\n".join(lines) + "\n"


def _products(count: int) -> list[dict]:
    rnd = random.Random(15)
    rows = []
    for i in range(count):
        category = CATEGORIES[i % len(CATEGORIES)]
        rows.append({
            "sku": f"B-{i:06d}", "title": f"Artikel {i}", "category": category,
            "product_type": TYPES[category][(i // len(CATEGORIES)) % 5],
            "price": Decimal(rnd.randint(300, 12_000)) / 100, "currency": "EUR",
            "url": f"https://shop.example/artikel/{i}", "image_url": "/static/img/logo.svg",
            "tags": rnd.sample(TAGS, 3), "available": i % 23 != 5,
        })
    return rows


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                           {"name": target.database}):
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def build_database(url: str, products: int) -> dict[str, str]:
    """Schema, demo shop, the bench catalog, its quiz and campaign, two finished quizzes."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from purl import create_app
    from purl.campaigns.records import create_campaign
    from purl.catalog import catalogs
    from purl.catalog.store import upsert_products
    from purl.demo.load import load_demo
    from purl.extensions import db
    from purl.links.recipients import NewRecipient, mint
    from purl.links.tokens import sign
    from purl.models import QuizResponse, ShopperProfile, utcnow
    from purl.quiz import versions

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEYS": [KEY]})
    with app.app_context():
        upgrade()
        summary = load_demo(db.session)
        catalog = catalogs.ensure(db.session, "bench", "Bench")
        rows = _products(products)
        started = time.perf_counter()
        upsert_products(db.session, rows, catalog)
        db.session.commit()
        took = time.perf_counter() - started
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would, soon after
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"  catalog: {products:,} products ({products / took:,.0f} rows/s)")
        versions.import_quiz(db.session, _quiz(), "bench-showroom.yaml", publish=True)
        campaign = create_campaign(db.session, "bench-showroom", {
            "name": "Bench", "quiz_slug": "bench-showroom", "locale": "de", "tone": "du",
            "headline": "Deine Auswahl", "message": "Ein paar Fragen, dann deine Auswahl.",
        }, owner=summary.campaign.owner)
        narrow, broad, new = mint(db.session, campaign, [
            NewRecipient(first_name="Nora", last_name="Eng", email="nora@example.org"),
            NewRecipient(first_name="Bruno", last_name="Breit", email="bruno@example.org"),
            NewRecipient(first_name="Lena", last_name="Neu", email="lena@example.org")])
        quiz = versions.campaign_quiz(db.session, campaign)
        for recipient, answers in ((narrow, NARROW), (broad, BROAD)):
            profile = ShopperProfile(recipient_id=recipient.id)
            db.session.add(profile)
            db.session.flush()
            db.session.add(QuizResponse(profile_id=profile.id, quiz_slug=quiz.slug,
                                        quiz_version=quiz.version, answers=answers,
                                        completed_at=utcnow()))
        db.session.commit()
        paths = {
            "bare": "/_bench/bare",
            "narrow": "/p/" + sign(narrow.link_key, [KEY]) + "/showroom",
            "broad": "/p/" + sign(broad.link_key, [KEY]) + "/showroom",
            "landing": "/p/" + sign(new.link_key, [KEY]),  # a recipient yet to start
        }
    return paths


def serve(url: str, cache: bool) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEYS": KEY,
           "PURL_BASE_URL": f"http://127.0.0.1:{port}", "RATELIMIT_STORAGE_URI": "memory://",
           "PURL_SHOWROOM_CACHE": "1" if cache else "0",
           "PURL_SHOWROOM_MISS_LIMIT": "1000000 per minute"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", "2", "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT), "bench.server:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{port}")
    return server, port


def run_pages(url: str, cache: bool, pages: dict[str, str], args: argparse.Namespace
              ) -> dict[str, dict[str, float]]:
    server, port = serve(url, cache)
    base = f"http://127.0.0.1:{port}"
    try:
        for name, path in pages.items():
            status, body, _ = fetch(port, {"path": path})
            if status != 200:
                raise SystemExit(f"{name}: {path} answered {status}")
            if name in ("narrow", "broad", "showroom") and b"product-link" not in body:
                raise SystemExit(f"{name}: the showroom shows no product")
            wrk(base + path, 1, args.connections)  # warms the workers (and any cache)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in pages}
        for _ in range(args.rounds):  # taking turns spreads other load evenly
            for name, path in pages.items():
                rounds[name].append(wrk(base + path, args.seconds, args.connections))
    finally:
        server.terminate()
        server.wait(timeout=10)
    # Each page's best round by throughput, and its best p99 (both: least disturbed).
    return {name: {**max(r, key=lambda x: x["rps"]), "p99": min(x["p99"] for x in r)}
            for name, r in rounds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", default="50000,200000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get(
        "BENCH_DATABASE_URL",
        "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/purl_bench"))
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk (apt-get install wrk)")
    print(f"gunicorn 2 sync workers, wrk -t1 -c{args.connections} -d{args.seconds}s, best of "
          f"{args.rounds} rounds per page; {os.cpu_count()} CPUs")
    missed = 0
    lines = []
    for database in args.databases.split(","):
        for products in (int(n) for n in args.products.split(",")):
            workdir = Path(tempfile.mkdtemp(prefix="purl-bench-"))
            print(f"{database}, {products:,} products:")
            try:
                if database == "sqlite":
                    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
                else:
                    url = args.pg_url
                    _reset_postgres(url)
                paths = build_database(url, products)
                uncached = run_pages(url, False, {k: paths[k] for k in
                                                  ("bare", "narrow", "broad")}, args)
                cached = run_pages(url, True, {"bare": paths["bare"],
                                               "landing": paths["landing"],
                                               "showroom": paths["broad"]}, args)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            narrow_p99, broad_p99 = TARGETS.get(products, (None, None))
            for label, results, targets in (
                    ("uncached", uncached, {"narrow": (narrow_p99, NARROW_SHARE),
                                            "broad": (broad_p99, None)}),
                    ("cached", cached, {"landing": (None, CACHED_SHARE),
                                        "showroom": (None, CACHED_SHARE)})):
                bare = results["bare"]["rps"]
                for name, r in results.items():
                    share = r["rps"] / bare
                    verdict = []
                    p99_limit, share_limit = targets.get(name, (None, None))
                    if p99_limit is not None:
                        ok = r["p99"] < p99_limit
                        missed += not ok
                        verdict.append(f"p99 < {p99_limit:.0f} ms {'met' if ok else 'MISSED'}")
                    if share_limit is not None:
                        ok = share >= share_limit
                        missed += not ok
                        verdict.append(f">= {share_limit}x {'met' if ok else 'MISSED'}")
                    line = (f"{database:<11}{products:>8,} {label:<9}{name:<10}"
                            f"{r['rps']:>8.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{share:>8.2f}x  "
                            + "; ".join(verdict))
                    lines.append(line)
                    print("  " + line)
    print()
    print(f"{'database':<11}{'products':>8} {'cache':<9}{'page':<10}{'req/s':>8}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}  target")
    for line in lines:
        print(line)
    print(f"targets missed: {missed}")


if __name__ == "__main__":
    main()
