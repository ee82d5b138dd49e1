"""Benchmark: the quiz builder's actions with a catalog of 50,000 products.

Not a test: it prints each action's p50 and p95 (issue 14 asks every builder action to
answer in under 100 ms at p95). Builds a fresh SQLite database (or uses --database-url) with
the demo shop and a large catalog whose products carry a numeric and a text attribute, signs
in as the demo admin and times, in process (Flask test client), what a marketer's clicks
ask for: the question page with every answer counted, the live count as a filter changes
(a tag, an attribute range), saving the question, adding an answer, the preview in Sie, and
the quiz page with its publish summary. The first look at the catalog after an import reads
every product once (its categories, tags and attributes with counts); that is timed apart.

    .venv/bin/python bench/builder.py [--products 50000] [--repeat 40] [--database-url …]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KEY = "bench-key-not-secret"
TARGET_MS = 100.0
MATERIALS = ("Kunststoff", "Metall", "Holz", "Gummi", "Baumwolle")


def build(url: str, products: int) -> None:
    from flask_migrate import upgrade

    from purl import create_app
    from purl.catalog.store import upsert_products
    from purl.demo.catalog import demo_products
    from purl.demo.load import load_demo
    from purl.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEYS": [KEY]})
    with app.app_context():
        upgrade()
        load_demo(db.session)
        db.session.commit()
        base = demo_products()
        rows = [{**src, "sku": f"{src['sku']}-{i}", "title": f"{src['title']} ({i})",
                 "price": src["price"] + Decimal(i % 7), "url": f"{src['url']}-{i}",
                 "image_url": "/static/" + src["image"], "available": i % 23 != 5,
                 "attributes": {"watt": 3 + i % 60, "material": MATERIALS[i % 5]}}
                for i, src in ((i, base[i % len(base)]) for i in range(products - len(base)))]
        upsert_products(db.session, rows)
        db.session.commit()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert found, "no CSRF token"
    return found.group(1)


def _fields(html: str, action: str) -> list[tuple[str, str]]:
    from tests.conftest import form_fields

    return list(form_fields(html, action).items(multi=True))


def _data(pairs: list[tuple[str, str]]):  # noqa: ANN202 - a MultiDict
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


def timed(times: list[float], call) -> object:  # noqa: ANN001
    started = time.perf_counter()
    answer = call()
    answer.get_data()
    times.append(time.perf_counter() - started)
    assert answer.status_code in (200, 303), answer.status_code
    return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--products", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    args = parser.parse_args()

    from purl import create_app
    from purl.catalog import picker
    from purl.demo.load import DEMO_PASSWORD, DEMO_USER
    from purl.extensions import db

    folder = tempfile.TemporaryDirectory(prefix="purl-bench-builder-")
    url = args.database_url or f"sqlite:///{folder.name}/builder.sqlite3"
    started = time.perf_counter()
    build(url, args.products)
    print(f"catalog of {args.products:,} products built in {time.perf_counter() - started:.1f} s")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEYS": [KEY],
                      "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        started = time.perf_counter()
        facts = picker.catalog_facts(db.session)
        cold = time.perf_counter() - started
    numeric = [a.name for a in facts.numeric_attributes()]
    print(f"first look at the catalog after an import: {cold * 1000:.0f} ms "
          f"({facts.products:,} available products, {len(facts.tags)} tags, numeric "
          f"attributes: {', '.join(numeric)})")

    client = app.test_client()
    login = client.get("/console/login").get_data(as_text=True)
    client.post("/console/login", data={"csrf_token": _csrf(login), "email": DEMO_USER,
                                        "password": DEMO_PASSWORD})
    question = "/console/quizzes/zoohandlung/questions/tier"
    html = client.get(question).get_data(as_text=True)
    fields = _fields(html, question)
    hx = {"HX-Request": "true"}
    times: dict[str, list[float]] = {name: [] for name in (
        "question page", "live count", "save question", "add an answer", "preview (Sie)",
        "quiz page")}
    for i in range(args.repeat):
        timed(times["question page"], lambda: client.get(question))
        # A different filter each time: nothing to reuse from the call before.
        changed = [(k, v) for k, v in fields if k not in (
            "options-0-filter_tags", "options-0-filter_attribute",
            "options-0-filter_attribute_max")] + [
            ("options-0-filter_tags", ["bestseller", "preiswert", "nachhaltig"][i % 3]),
            ("options-0-filter_attribute", "watt"),
            ("options-0-filter_attribute_max", str(10 + i))]
        timed(times["live count"],
              lambda changed=changed: client.get(f"{question}/counts", query_string=_data(changed),
                                                 headers=hx))
        timed(times["save question"], lambda changed=changed: client.post(question,
                                                                          data=_data(changed)))
        page = client.get(question).get_data(as_text=True)
        current = _fields(page, question)
        timed(times["add an answer"], lambda current=current: client.post(
            question, data=_data([*current, ("action", "add-option")])))
        page = client.get(question).get_data(as_text=True)
        current = _fields(page, question)
        added = [v for k, v in current if k.endswith("-value")][-1]
        client.post(question, data=_data([*current, ("action", f"remove-option:{added}")]))
        timed(times["preview (Sie)"],
              lambda: client.get(f"{question}/preview?locale=de&tone=sie"))
        timed(times["quiz page"], lambda: client.get("/console/quizzes/zoohandlung"))

    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"{args.products:,} products on {database}, {args.repeat} times each, in process")
    print(f"{'action':<18}{'p50 ms':>9}{'p95 ms':>9}")
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"{name:<18}{statistics.median(values) * 1000:>9.1f}{p95 * 1000:>9.1f}   "
              f"{'met' if p95 * 1000 <= TARGET_MS else 'missed'} (p95 <= {TARGET_MS:.0f} ms)")
    folder.cleanup()


if __name__ == "__main__":
    main()
