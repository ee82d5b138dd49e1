"""Showroom misses: how long the matching takes before the cache helps, at 50,000 products.

Builds a fresh SQLite database (or uses ``--database-url``) with the demo shop plus a catalog
of downlights tagged ``ip20/ip44/ip65`` and ``2700k/3000k/4000k`` with a ``watt`` attribute
written as feeds write it, then times :func:`recommend_showroom` (never cached) for: the demo
pet-shop answers (SQL only), the lighting answers by tags, the same with a numeric attribute
bound (attributes read and tested in Python) and with an exclusion by attribute. Prints
p50/p95 per case.

    .venv/bin/python bench/matching.py [--products 50000] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIGHTING = """
slug: licht
questions:
  - id: feucht
    type: yesno
    text: Feuchtraum?
    options:
      - {value: yes, reason: Feuchtraum, filter: {tags: [ip44, ip65]}}
      - {value: no, reason: Trocken}
  - id: licht
    text: Licht?
    options:
      - {value: warm, label: Warm, filter: {tags: [2700k, 3000k]}}
      - {value: neutral, label: Neutral, filter: {tags: 4000k}}
  - id: material
    required: false
    text: Material?
    options:
      - {value: egal, label: Egal}
      - {value: kein-kunststoff, label: Kein Kunststoff,
         exclude: {attributes: {material: Kunststoff}}}
  - id: watt
    type: range
    required: false
    min: 1
    max: 30
    maps_to: {attribute: watt, bound: max}
    text: Watt?
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from purl import create_app
    from purl.catalog.recommend import recommend_showroom
    from purl.catalog.store import upsert_products
    from purl.demo.load import load_demo
    from purl.extensions import db
    from purl.quiz.flow import preferences
    from purl.quiz.format import load_quiz_file, parse_quiz

    folder = tempfile.mkdtemp(prefix="purl-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEYS": ["bench"],
                      "PURL_BASE_URL": "http://localhost"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        load_demo(db.session)
        watts = (5, "7,5", "10 W", 12, "18 W", 24)
        rows = [{
            "sku": f"bench-dl-{i}", "title": f"Downlight {i}", "category": "downlights",
            "product_type": "einbau", "price": Decimal("19.90") + i % 50, "currency": "EUR",
            "url": f"https://licht.example/{i}", "available": True,
            "tags": [("ip20", "ip44", "ip65")[i % 3], ("2700k", "3000k", "4000k")[i // 3 % 3]],
            "attributes": {"watt": watts[i % 6], "material": ("Kunststoff", "Aluminium")[i % 2]},
        } for i in range(args.products)]
        started = time.perf_counter()
        upsert_products(db.session, rows)
        db.session.commit()
        print(f"catalog: {args.products:,} downlights + demo in "
              f"{time.perf_counter() - started:.1f} s")
        pets = load_quiz_file(ROOT / "quizzes" / "zoohandlung.yaml")
        lights = parse_quiz(LIGHTING, "licht.yaml")
        cases = {
            "pet shop (SQL only)": (pets, {"tier": "hund", "bedarf": ["futter", "snacks"],
                                           "budget": "bis-50", "wichtig": "natur"}),
            "lighting: two tag answers": (lights, {"feucht": "yes", "licht": "warm"}),
            "+ watt <= 8 (attribute)": (lights, {"feucht": "yes", "licht": "warm", "watt": 8}),
            "+ no plastic (exclude)": (lights, {"feucht": "yes", "licht": "warm",
                                                "material": "kein-kunststoff"}),
        }
        for name, (quiz, answers) in cases.items():
            prefs = preferences(quiz, answers)
            took = []
            for _ in range(args.runs):
                started = time.perf_counter()
                room = recommend_showroom(db.session, prefs)
                took.append((time.perf_counter() - started) * 1000)
            took.sort()
            p95 = took[min(len(took) - 1, round(0.95 * (len(took) - 1)))]
            print(f"{name:<28} {room.personal_total:>7,} products  "
                  f"p50 {statistics.median(took):7.1f} ms  p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
