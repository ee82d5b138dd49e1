"""Page throughput: the PURL landing page and the showroom against a bare template page.

Builds a fresh SQLite database with the demo shop plus a 50,000-product catalog, serves the
app with gunicorn (2 sync workers) on 127.0.0.1, and loads three pages from that one server in
one run with wrk: a bare template page of similar size (bench/server.py), a recipient's PURL
landing page (which records a visit) and a recipient's showroom. Prints requests/s, p50/p99
and each page's throughput as a share of the bare page's.

    .venv/bin/python bench/pages.py [--products 50000] [--seconds 5] [--connections 4]

Needs ``wrk`` (Debian: apt-get install wrk). Targets: landing and showroom >= 60 % of the
bare page, p99 < 25 ms. Figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
KEY = "bench-key-not-secret"


def build_database(url: str, products: int) -> dict[str, str]:
    """Schema, demo shop, a large catalog; one recipient who finished the quiz. Returns paths."""
    from flask_migrate import upgrade

    from purl import create_app
    from purl.catalog.store import upsert_products
    from purl.demo.catalog import demo_products
    from purl.demo.load import load_demo
    from purl.extensions import db
    from purl.links.tokens import sign
    from purl.models import QuizResponse, ShopperProfile, utcnow
    from purl.quiz.format import get_quiz

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEYS": [KEY]})
    with app.app_context():
        upgrade()
        summary = load_demo(db.session)
        db.session.commit()
        base = demo_products()
        rows = []
        for i in range(products - len(base)):
            src = base[i % len(base)]
            rows.append({
                **src, "sku": f"{src['sku']}-{i}", "title": f"{src['title']} ({i})",
                "price": src["price"] + Decimal(i % 7), "url": f"{src['url']}-{i}",
                "image_url": "/static/" + src["image"], "available": i % 23 != 5,
            })
        started = time.perf_counter()
        upsert_products(db.session, rows)
        db.session.commit()
        took = time.perf_counter() - started
        print(f"catalog: {len(rows) + len(base):,} products "
              f"({len(rows) / took:,.0f} rows/s through upsert_products)")

        anna, juergen = summary.recipients[0], summary.recipients[1]
        quiz = get_quiz(app.config["QUIZ_FOLDER"], summary.campaign.quiz_slug)
        profile = ShopperProfile(recipient_id=anna.id)
        db.session.add(profile)
        db.session.flush()
        db.session.add(QuizResponse(
            profile_id=profile.id, quiz_slug=quiz.slug, quiz_version=quiz.version,
            answers={"tier": "hund", "bedarf": ["futter", "snacks", "spielzeug"],
                     "budget": "bis-50", "wichtig": "natur"},
            completed_at=utcnow(),
        ))
        db.session.commit()
        return {
            "bare": "/_bench/bare",
            "landing": "/p/" + sign(juergen.public_id, [KEY]),
            "showroom": "/p/" + sign(anna.public_id, [KEY]) + "/showroom",
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not come up")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def worker_cpu_seconds(master: int) -> float:
    """User+system CPU the gunicorn workers have used so far (Linux /proc)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered with errors:\n{out}")

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * _UNITS[unit]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50": latency("50"), "p99": latency("99")}


def measure(url: str, seconds: int, connections: int, master: int) -> dict[str, float]:
    before = worker_cpu_seconds(master)
    result = wrk(url, seconds, connections)
    result["cpu_ms"] = (worker_cpu_seconds(master) - before) * 1000 / result["requests"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3,
                        help="pages take turns this many times; each page's best round counts")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("needs wrk (apt-get install wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="purl-bench-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    paths = build_database(url, args.products)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEYS": KEY,
           "PURL_BASE_URL": f"http://127.0.0.1:{port}", "RATELIMIT_STORAGE_URI": "memory://"}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", "2", "-k", "sync",
         "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT), "bench.server:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        sizes = {}
        for name, path in paths.items():
            with urllib.request.urlopen(base + path) as r:  # also warms each worker's caches
                sizes[name] = len(r.read())
            wrk(base + path, 1, args.connections)
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in paths}
        for _ in range(args.rounds):  # taking turns spreads other load on the machine evenly
            for name, path in paths.items():
                rounds[name].append(measure(base + path, args.seconds, args.connections,
                                            server.pid))
        results = {name: max(r, key=lambda x: x["rps"]) for name, r in rounds.items()}
        cpu = {name: min(x["cpu_ms"] for x in r) for name, r in rounds.items()}
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)

    bare = results["bare"]["rps"]
    print(f"gunicorn 2 sync workers, wrk -t1 -c{args.connections} -d{args.seconds}s, best of "
          f"{args.rounds} rounds per page; {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'page':<10}{'bytes':>7}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'vs bare':>9}"
          f"{'cpu ms/req':>12}{'vs bare':>9}")
    ok = True
    for name, r in results.items():
        ratio, cpu_ratio = r["rps"] / bare, cpu["bare"] / cpu[name]
        print(f"{name:<10}{sizes[name]:>7}{r['rps']:>8.0f}{r['p50']:>8.2f}{r['p99']:>8.2f}"
              f"{ratio:>9.0%}{cpu[name]:>12.2f}{cpu_ratio:>9.0%}")
        if name != "bare":
            ok &= ratio >= 0.60 and r["p99"] < 25
    print("req/s vs bare: throughput share; cpu vs bare: bare's worker CPU per request over "
          "this page's (what the share would be on an idle machine)")
    print("targets (>= 60 % of bare, p99 < 25 ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
