"""Benchmark: mint N recipients end to end (CSV in -> database -> CSV out), and QR codes.

Not a test: it prints figures and ratios measured side by side in one run.

    .venv/bin/python bench/batch.py --rows 1000000            # SQLite, a fresh temp file
    .venv/bin/python bench/batch.py --rows 1000000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB   # PostgreSQL

``--xlsx`` also writes the same rows as an .xlsx (numbers as numbers) and mints them into a
fresh campaign, printing that rate and its ratio to the CSV run (the reader converts the
first sheet once into a UTF-8 CSV, then reads it like any other list). ``--console`` mints
the CSV and the .xlsx again through the console as a marketer does (upload, preview, mint
with the mapping the preview proposes, the batch job run to its end), each into a fresh
campaign, and prints both rates and their ratio.

The raw baseline reads the same CSV, draws and HMAC-signs the same kind of codes and writes the
same output columns (link, code, salutation) with no database: the floor the engine is
measured against. Peak memory is the largest sum, sampled while the engine runs, of the
proportional set sizes of the main process and its workers (what they really use together:
pages they share count once), next to each one's peak resident set (getrusage).
"""

from __future__ import annotations

import argparse
import csv
import logging
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from purl.links import codes, qr, tokens  # noqa: E402
from purl.links.salutation import salutation_line  # noqa: E402

KEYS = ["bench-key-newest", "bench-key-older"]
FIRST = ["Anna", "Jürgen", "Ayşe", "Kim", "Zoë", "Lukas", "Marie", "Mehmet", "Sophie", "Ben"]
LAST = ["Schäfer", "Müller", "Şahin", "Weiß", "Ölmann", "Becker", "Wagner", "Hoffmann"]
SALUTATION = ["Frau", "Herr", "", "Divers"]


def write_input(path: Path, rows: int) -> None:
    rnd = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(["Kundennummer", "Vorname", "Nachname", "Anrede", "E-Mail", "Segment"])
        for i in range(rows):
            out.writerow([f"K{i:07d}", rnd.choice(FIRST), rnd.choice(LAST),
                          rnd.choice(SALUTATION), f"kunde{i}@example.de", f"S{i % 7}"])


def raw_baseline(source: Path, target: Path) -> float:
    """Read, sign, write: the same output, no database."""
    started = time.perf_counter()
    sign = tokens.signer_for_batch(KEYS)
    with source.open(encoding="utf-8", newline="") as fin, \
            target.open("w", encoding="utf-8", newline="") as fout:
        reader = csv.reader(fin, delimiter=";")
        writer = csv.writer(fout, delimiter=";")
        writer.writerow([*next(reader), "purl_url", "purl_code", "salutation_line"])
        chunk = []
        for row in reader:
            chunk.append(row)
            if len(chunk) == 20_000:
                _raw_chunk(chunk, writer, sign)
                chunk = []
        _raw_chunk(chunk, writer, sign)
    return time.perf_counter() - started


def _raw_chunk(chunk: list[list[str]], writer: csv.writer, sign) -> None:  # noqa: ANN001
    out = []
    for row, code in zip(chunk, codes.new_codes(len(chunk)), strict=True):
        out.append([*row, "http://localhost/p/" + sign(code), codes.display(code),
                    salutation_line(row[1], row[2], "f", None)])
    writer.writerows(out)


class MemorySampler:
    """The batch's real memory: the proportional set size (shared pages split between the
    processes that share them) of this process and its workers, summed, sampled every 0.1 s.
    Linux only (``/proc/PID/smaps_rollup``); elsewhere it reports nothing."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @staticmethod
    def _pss_kb(pid: str) -> int:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        me = str(os.getpid())
        while not self._stop.wait(0.1):
            pids = {me}
            for task in Path(f"/proc/{me}/task").glob("*"):
                try:
                    pids.update((task / "children").read_text().split())
                except OSError:
                    pass
            self.peak_kb = max(self.peak_kb, sum(self._pss_kb(pid) for pid in pids))


def engine(source: Path, target: Path, database_url: str, first: MemorySampler,
           again_memory: MemorySampler) -> tuple[float, str, float, str]:
    """Mint the list into a fresh campaign, then run the same list again; each run's peak
    memory goes to its own sampler."""
    from flask_migrate import upgrade
    from sqlalchemy import delete

    from purl import create_app
    from purl.extensions import db
    from purl.links import batch
    from purl.models import Batch, Campaign, Recipient

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEYS": KEYS,
                      "PURL_BASE_URL": "http://localhost"})
    with app.app_context():
        upgrade()
        slug = f"bench-{os.getpid()}"
        campaign = Campaign(slug=slug, name="Bench", quiz_slug="zoohandlung", variants=[])
        db.session.add(campaign)
        db.session.commit()
        started = time.perf_counter()
        # Its last line says where the main process's time went.
        logging.getLogger("purl.links.batch").setLevel(logging.INFO)
        with first:
            result = batch.generate(db.session, campaign, source, target, keys=KEYS,
                                    base_url="http://localhost")
        elapsed = time.perf_counter() - started
        # The same list again: every row is known, every link reused.
        started = time.perf_counter()
        with again_memory:
            again = batch.generate(db.session, campaign, source, target.with_name("again.csv"),
                                   keys=KEYS, base_url="http://localhost")
        rerun = time.perf_counter() - started
        # Leave a shared database as we found it.
        db.session.execute(delete(Recipient).where(Recipient.campaign_id == campaign.id))
        db.session.execute(delete(Batch).where(Batch.campaign_id == campaign.id))
        db.session.delete(campaign)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Without this, the next run would insert beside a million dead rows.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM recipient")
    return elapsed, result.summary(), rerun, again.summary()


def xlsx_engine(source: Path, target: Path, database_url: str) -> tuple[float, str]:
    """Mint the same rows from a workbook into a fresh campaign: (seconds, summary)."""
    from flask_migrate import upgrade
    from sqlalchemy import delete

    from purl import create_app
    from purl.extensions import db
    from purl.links import batch
    from purl.models import Batch, Campaign, Recipient

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEYS": KEYS,
                      "PURL_BASE_URL": "http://localhost"})
    with app.app_context():
        upgrade()
        campaign = Campaign(slug=f"bench-xlsx-{os.getpid()}", name="Bench", variants=[],
                            quiz_slug="zoohandlung")
        db.session.add(campaign)
        db.session.commit()
        started = time.perf_counter()
        result = batch.generate(db.session, campaign, source, target, keys=KEYS,
                                base_url="http://localhost")
        elapsed = time.perf_counter() - started
        db.session.execute(delete(Recipient).where(Recipient.campaign_id == campaign.id))
        db.session.execute(delete(Batch).where(Batch.campaign_id == campaign.id))
        db.session.delete(campaign)
        db.session.commit()
    return elapsed, result.summary()


def console_engine(sources: list[Path], database_url: str, uploads: Path
                   ) -> list[tuple[float, str]]:
    """Each list through the console: upload it, read the preview's proposed mapping, mint,
    run the job here (as a worker would) and time it all: (seconds, summary) per list."""
    import re

    from flask_migrate import upgrade
    from sqlalchemy import delete, select

    from purl import create_app
    from purl.accounts import create_user
    from purl.extensions import db
    from purl.links import batch
    from purl.links.batch import uploads as uploads_engine
    from purl.models import Batch, Campaign, Recipient

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEYS": KEYS,
                      "PURL_BASE_URL": "http://localhost", "WTF_CSRF_ENABLED": False,
                      "CONSOLE_BATCH_WAIT": True, "UPLOAD_FOLDER": str(uploads),
                      "RATELIMIT_ENABLED": False})
    email, password = f"bench-{os.getpid()}@example.de", "bench password 123"
    with app.app_context():
        upgrade()
        user = create_user(db.session, email, password, role="admin")
        db.session.commit()
        user_id = user.id
    client = app.test_client()
    client.post("/console/login", data={"email": email, "password": password})
    figures = []
    for n, source in enumerate(sources):
        slug = f"bench-console-{os.getpid()}-{n}"
        with app.app_context():
            db.session.add(Campaign(slug=slug, name="Bench", variants=[], owner_id=user_id,
                                    quiz_slug="zoohandlung"))
            db.session.commit()
        started = time.perf_counter()
        with source.open("rb") as fh:
            uploaded = client.post(f"/console/campaigns/{slug}/batches",
                                   data={"file": (fh, source.name)},
                                   content_type="multipart/form-data")
        assert uploaded.status_code == 303, uploaded.status_code
        page = client.get(uploaded.location).get_data(as_text=True)
        proposed = {}
        for select_ in re.finditer(r'<select id="(map-\d+)".*?</select>', page, re.S):
            chosen = re.search(r'<option value="([^"]*)" selected', select_.group(0))
            proposed[select_.group(1)] = chosen.group(1) if chosen else "attribute"
        minted = client.post(uploaded.location, data={**proposed, "channel": "email"})
        assert minted.status_code == 303, minted.get_data(as_text=True)[:2000]
        elapsed = time.perf_counter() - started
        with app.app_context():
            done = db.session.scalar(select(Batch).join(Campaign).where(Campaign.slug == slug))
            assert done.status == "done", (done.status, done.error)
            summary = batch.Result(minted=done.minted, reused=done.reused,
                                   rejected=done.rejected).summary()
            campaign = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
            uploads_engine.delete_files(db.session, done, uploads)
            db.session.execute(delete(Recipient).where(Recipient.campaign_id == campaign.id))
            db.session.execute(delete(Batch).where(Batch.campaign_id == campaign.id))
            db.session.delete(campaign)
            db.session.commit()
        figures.append((elapsed, summary))
    return figures


def write_xlsx_input(source: Path, target: Path) -> None:
    """The same rows as a workbook: numbers where the CSV holds digits only, as Excel keeps
    them."""
    from tests.sheets import write_xlsx

    with source.open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh, delimiter=";")
        write_xlsx(target, ([int(c) if c.isdigit() else c for c in row] for row in rows))


def _default_draw(urls: list[str]) -> int:
    for url in urls:
        qr.image(url)  # the library picks version and mask for every code
    return len(urls)


def qr_figures(count: int, folder: Path) -> tuple[float, float]:
    """(codes/s with the library's defaults, codes/s with version and mask fixed), all cores."""
    sign = tokens.signer_for_batch(KEYS)
    urls = ["http://localhost/p/" + sign(code) for code in codes.new_codes(count)]
    cores = os.cpu_count() or 1
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(cores) as pool:
        size = max(1, count // (cores * 4))
        sum(pool.map(_default_draw, [urls[i:i + size] for i in range(0, count, size)]))
    default = count / (time.perf_counter() - started)
    started = time.perf_counter()
    writer = qr.QrWriter(folder, "svg")
    writer.draw([(writer.name(str(i), ""), url) for i, url in enumerate(urls, 1)])
    writer.close()
    fixed = count / (time.perf_counter() - started)
    return default, fixed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp folder")
    parser.add_argument("--qr", type=int, default=2_000, help="QR codes to draw (0: skip)")
    parser.add_argument("--xlsx", action="store_true",
                        help="also mint the same rows from an .xlsx and compare the rates")
    parser.add_argument("--console", action="store_true",
                        help="also mint the CSV and the .xlsx through the console's upload")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="purl-bench-") as tmp:
        folder = Path(tmp)
        database_url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
        source = folder / "recipients.csv"
        write_input(source, args.rows)
        print(f"{args.rows:,} rows, {source.stat().st_size / 1e6:.0f} MB input, "
              f"{os.cpu_count()} cores, database {database_url.split(':', 1)[0]}")
        # In a child process, so that what it leaves on the heap does not count for the engine.
        with multiprocessing.get_context("fork").Pool(1) as pool:
            raw = pool.apply(raw_baseline, (source, folder / "raw.csv"))
        print(f"raw baseline (read, sign, write; no database): {raw:6.2f} s  "
              f"{args.rows / raw:9,.0f} rows/s")
        memory, memory_again = MemorySampler(), MemorySampler()
        elapsed, summary, rerun, again = engine(source, folder / "out.csv", database_url,
                                                memory, memory_again)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"purl generate end to end ({summary}): {elapsed:6.2f} s  "
              f"{args.rows / elapsed:9,.0f} rows/s")
        print(f"ratio to raw baseline: {raw / elapsed:.2f} (1.00 = as fast as no database)")
        print(f"peak memory: {memory.peak_kb / 1024:.0f} MB for the main process and its "
              f"workers together (proportional set size); peak resident sets over both runs: "
              f"main {peak:.0f} MB, largest worker {worker:.0f} MB")
        print(f"the same list again ({again}): {rerun:6.2f} s  {args.rows / rerun:9,.0f} rows/s"
              f", peak memory {memory_again.peak_kb / 1024:.0f} MB")
        book = folder / "recipients.xlsx"
        if args.xlsx or args.console:
            write_xlsx_input(source, book)
        if args.xlsx:
            seconds, summary = xlsx_engine(book, folder / "out-xlsx.csv", database_url)
            print(f"the same rows as .xlsx ({book.stat().st_size / 1e6:.0f} MB, {summary}): "
                  f"{seconds:6.2f} s  {args.rows / seconds:9,.0f} rows/s; "
                  f"ratio to CSV: {elapsed / seconds:.2f} (1.00 = as fast as CSV)")
        if args.console:
            (csv_s, csv_summary), (book_s, book_summary) = console_engine(
                [source, book], database_url, folder / "uploads")
            print(f"through the console, CSV ({csv_summary}): {csv_s:6.2f} s  "
                  f"{args.rows / csv_s:9,.0f} rows/s; .xlsx ({book_summary}): {book_s:6.2f} s  "
                  f"{args.rows / book_s:9,.0f} rows/s; ratio to CSV: {csv_s / book_s:.2f}")
        if args.qr:
            default, fixed = qr_figures(args.qr, folder / "qr")
            print(f"QR codes, {args.qr:,} on {os.cpu_count()} cores: library defaults "
                  f"{default:,.0f}/s, fixed version and mask {fixed:,.0f}/s "
                  f"({fixed / default:.1f}x)")


if __name__ == "__main__":
    main()
