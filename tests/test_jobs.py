"""Batches as jobs: stored on one app instance, run by a worker of another, leased, taken over
after a worker dies (a real ``kill -9``), never run twice at once, nothing lost or doubled."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import socket
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from purl import files, jobs
from purl.extensions import db
from purl.links.batch import job as batch_job
from purl.links.batch import lease, uploads
from purl.models import Batch, Campaign, Recipient, utcnow
from tests.conftest import FAST, TEST_KEYS, worker_env

ROOT = Path(__file__).resolve().parent.parent
HEADER = "Kundennummer;Vorname;Nachname;E-Mail\n"
MAPPING = {"Kundennummer": "external_id", "Vorname": "first_name", "Nachname": "last_name",
           "E-Mail": "email"}



def people(rows: int) -> bytes:
    return (HEADER + "".join(f"K{i};Vorname{i};Nachname{i};person{i}@example.de\n"
                             for i in range(rows))).encode()


@pytest.fixture
def queue_path(tmp_path: Path) -> Path:
    return tmp_path / "shared" / "jobs.sqlite3"


@pytest.fixture
def web(make_app, tmp_path, queue_path):  # noqa: ANN001, ANN201
    """The app instance that takes the upload: its own folders, the shared queue file."""
    return make_app(UPLOAD_FOLDER=str(tmp_path / "web" / "uploads"),
                    JOBS_SQLITE_PATH=str(queue_path), **FAST)


@pytest.fixture
def campaign(web) -> int:  # noqa: ANN001
    with web.app_context():
        c = Campaign(slug="herbst", name="Herbst", quiz_slug="zoohandlung", locale="de",
                     tone="du", variants=[])
        db.session.add(c)
        db.session.commit()
        return c.id


def upload(app, campaign_id: int, content: bytes, qr: bool = False,  # noqa: ANN001
           enqueue: bool = True) -> int:
    """What the console does: store the list, queue it with its mapping, enqueue it."""
    with app.app_context():
        found = uploads.store_upload(db.session, db.session.get(Campaign, campaign_id),
                                       io.BytesIO(content), "kunden.csv")
        assert uploads.queue_batch(db.session, found, MAPPING, "email", qr)
        db.session.commit()
        if enqueue:
            jobs.enqueue_batch(found.id)
        return found.id


def batch_row(app, batch_id: int) -> Batch:  # noqa: ANN001
    with app.app_context():
        found = db.session.get(Batch, batch_id)
        db.session.expunge(found)
        db.session.remove()
        return found


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def output_rows(app, file_id: int) -> list[dict[str, str]]:  # noqa: ANN001
    with app.app_context(), files.open_file(db.session, file_id) as fh:
        text = fh.read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def assert_complete(app, batch_id: int, total: int) -> Batch:  # noqa: ANN001
    """Every row has exactly one person and one link: in the database and in the output."""
    done = batch_row(app, batch_id)
    assert done.status == "done", done.error
    assert (done.minted, done.reused, done.rejected) == (total, 0, 0)
    assert done.processed_rows == total
    with app.app_context():
        count, identities, codes = db.session.execute(select(
            func.count(), func.count(func.distinct(Recipient.identity)),
            func.count(func.distinct(Recipient.code)))).one()
    assert count == identities == codes == total
    rows = output_rows(app, done.output_file_id)
    assert len(rows) == total
    assert len({r["purl_url"] for r in rows}) == len({r["purl_code"] for r in rows}) == total
    assert [r["Kundennummer"] for r in rows] == [f"K{i}" for i in range(total)]
    return done


# --- claim and lease -----------------------------------------------------------------------


def _set(app, batch_id: int, **values: object) -> None:  # noqa: ANN001
    with app.app_context():
        db.session.execute(update(Batch).where(Batch.id == batch_id).values(**values))
        db.session.commit()


def test_a_claim_is_exclusive(make_app, web, campaign):
    batch_id = upload(web, campaign, people(3), enqueue=False)
    others = [make_app(**FAST) for _ in range(6)]
    claims: list[int | None] = []
    ready = threading.Barrier(len(others))

    def claim(app) -> None:  # noqa: ANN001
        with app.app_context():
            ready.wait()
            claims.append(lease.claim(db.session, batch_id, 60))
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(app,)) for app in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims, key=str) == [0] + [None] * (len(others) - 1)
    with web.app_context():
        assert lease.claim(db.session, batch_id, 60) is None  # running, lease fresh
        # Its worker fell silent: the next one takes it over, as a new attempt.
        _set(web, batch_id, updated_at=utcnow() - dt.timedelta(seconds=61))
        assert lease.claim(db.session, batch_id, 60) == 1
        assert lease.claim(db.session, batch_id, 60) is None
        for status in ("done", "failed", "uploaded"):
            _set(web, batch_id, status=status, updated_at=utcnow() - dt.timedelta(hours=1))
            assert lease.claim(db.session, batch_id, 60) is None


def test_a_stale_lease_is_requeued_once_and_fresh_or_foreign_ones_never(
        make_app, web, campaign, queue_path):
    stale = upload(web, campaign, people(3), enqueue=False)
    fresh = upload(web, campaign, people(3), enqueue=False)
    long_ago = utcnow() - dt.timedelta(minutes=5)
    _set(web, stale, status="running", updated_at=long_ago)
    with web.app_context():  # a `purl generate` killed half-way: not a job, left alone
        cli = Batch(campaign_id=campaign, filename="cli.csv", status="running",
                    updated_at=long_ago)
        db.session.add(cli)
        db.session.commit()
        cli_id = cli.id
    reapers = [make_app(JOBS_SQLITE_PATH=str(queue_path)) for _ in range(4)]
    found: list[list[int]] = []
    ready = threading.Barrier(len(reapers))

    def reap(app) -> None:  # noqa: ANN001
        with app.app_context():
            ready.wait()
            found.append(jobs.requeue_stale(db.session, 60))
            db.session.remove()

    threads = [threading.Thread(target=reap, args=(app,)) for app in reapers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(found) == [[]] * (len(reapers) - 1) + [[stale]]
    requeued = batch_row(web, stale)
    assert (requeued.status, requeued.attempts) == ("queued", 1)
    assert utcnow() - requeued.updated_at.replace(tzinfo=dt.UTC) < dt.timedelta(seconds=30)
    assert batch_row(web, fresh).attempts == 0
    assert batch_row(web, cli_id).status == "running"
    with web.app_context():
        assert web.extensions[jobs.EXTENSION].storage.queue_size() == 1


def test_the_heartbeat_renews_the_lease_until_the_batch_is_taken_over(web, campaign):
    batch_id = upload(web, campaign, people(3), enqueue=False)
    with web.app_context():
        attempt = lease.claim(db.session, batch_id, 60)
        _set(web, batch_id, updated_at=utcnow() - dt.timedelta(seconds=50))
        with lease.Heartbeat(db.engine, batch_id, attempt, 0.05) as beat:
            wait_for(lambda: beat.beats >= 2, 5, "two heartbeats")
            assert utcnow() - batch_row(web, batch_id).updated_at.replace(tzinfo=dt.UTC) \
                < dt.timedelta(seconds=5)
            # Another worker took it over (a new attempt): this one stops renewing.
            _set(web, batch_id, attempts=attempt + 1)
            wait_for(lambda: not beat._thread.is_alive(), 5, "the heartbeat to stop")


def test_a_run_that_lost_its_lease_stops_and_leaves_the_batch_alone(make_app, campaign, web):
    """A worker that stalled past its lease (and was taken over) stops at its next block,
    without failing or finishing the batch the other run has now."""
    batch_id = upload(web, campaign, people(60_000), enqueue=False)
    # Beats far quicker than a block takes, so losing the lease is seen within a block or
    # two, however fast the machine mints (at 0.2 s the whole list could be done first).
    stalled = make_app(JOBS_BATCH_COMMIT_ROWS=1_000, JOBS_BATCH_PROCESSES=0,
                       **{**FAST, "JOBS_HEARTBEAT_SECONDS": 0.01})
    outcome: list[str] = []

    def run() -> None:
        with stalled.app_context():
            outcome.append(batch_job.run_batch(db.session, stalled.config, batch_id))
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    wait_for(lambda: batch_row(web, batch_id).processed_rows > 0, 20, "a committed block")
    _set(web, batch_id, attempts=1)  # as a claim by another worker leaves it
    thread.join(timeout=30)
    assert outcome == ["skipped"]
    left = batch_row(web, batch_id)
    assert (left.status, left.error, left.output_file_id) == ("running", None, None)
    assert left.processed_rows < 60_000


# --- running -------------------------------------------------------------------------------


def test_a_list_stored_on_one_instance_is_minted_by_a_worker_of_another(
        web, campaign, database_url, queue_path, start_worker, tmp_path):
    """The worker shares only the database (and the queue file) with the web instance: the
    upload and the results travel as stored files."""
    total = 50
    batch_id = upload(web, campaign, people(total), qr=True)
    # A lease longer than the worker takes to start: it runs the message the web queued.
    worker = start_worker(worker_env(database_url, queue_path, PURL_JOBS_LEASE_SECONDS=60))
    wait_for(lambda: batch_row(web, batch_id).status in ("done", "failed"), 20,
             "the worker to mint the list")
    done = assert_complete(web, batch_id, total)
    assert done.attempts == 0
    with web.app_context():
        errors = b"".join(files.iter_chunks(db.engine, done.errors_file_id))
        zipped = b"".join(files.iter_chunks(db.engine, done.qr_file_id))
    assert errors.decode("utf-8").splitlines() == ["line;reason;Kundennummer;Vorname;Nachname;"
                                                   "E-Mail"]
    assert len(zipfile.ZipFile(io.BytesIO(zipped)).namelist()) == total
    assert not (tmp_path / "web" / "uploads").exists()  # nothing went through a folder
    assert "job worker started" in worker.log() and str(queue_path) in worker.log()


def test_an_old_upload_in_its_folder_still_runs_and_failures_say_why_plainly(web, campaign,
                                                                              tmp_path):
    def queued(content: bytes | None) -> int:
        with web.app_context():
            found = Batch(campaign_id=campaign, filename="alt.csv", status="uploaded")
            db.session.add(found)
            db.session.flush()
            if content is not None:  # as console.batches kept uploads before files.py
                folder = Path(web.config["UPLOAD_FOLDER"]) / str(found.id)
                folder.mkdir(parents=True)
                (folder / "input.csv").write_bytes(content)
            assert uploads.queue_batch(db.session, found, MAPPING)
            db.session.commit()
            return found.id

    legacy, missing, nameless = (queued(people(4)), queued(None),
                                 queued(b"Farbe;Haustier\nrot;Hund\n"))
    with web.app_context():
        assert [batch_job.run_batch(db.session, web.config, b)
                for b in (legacy, missing, nameless, legacy)] == \
            ["done", "failed", "failed", "skipped"]
    assert_complete(web, legacy, 4)
    gone, unusable = batch_row(web, missing), batch_row(web, nameless)
    assert (gone.status, gone.error) == (
        "failed", "the uploaded list is no longer stored: please upload it again")
    assert unusable.status == "failed" and unusable.error.startswith(
        "--map Kundennummer=external_id: the header has no column 'Kundennummer'")
    assert gone.finished_at is not None and unusable.output_file_id is None


def test_a_batch_whose_worker_went_silent_is_requeued_and_completes_once(
        make_app, web, campaign, queue_path, tmp_path):
    """A run stopped after some committed blocks (as a killed worker leaves it), queued again
    by another instance's periodic check and run through the queue there: every row once."""
    total = 9
    batch_id = upload(web, campaign, people(total), enqueue=False)
    with web.app_context():
        assert lease.claim(db.session, batch_id, 60) == 0

    def stop_after_two_blocks(done: int, _total: int) -> None:
        if done >= 5:
            raise KeyboardInterrupt  # the run dies here; its first blocks are committed

    from purl.links import batch as engine

    with web.app_context(), pytest.raises(KeyboardInterrupt):
        engine.generate(db.session, db.session.get(Campaign, campaign), io.BytesIO(people(9)),
                        tmp_path / "killed.csv", keys=TEST_KEYS, base_url="http://localhost",
                        options=engine.Options(chunk_size=3, commit_rows=3, batch_id=batch_id,
                                               workers=0, mapping=MAPPING),
                        progress=stop_after_two_blocks)
    # What a kill leaves: the status says running, the lease is old.
    _set(web, batch_id, status="running", error=None,
         updated_at=utcnow() - dt.timedelta(minutes=2))
    with web.app_context():
        assert 0 < db.session.scalar(select(func.count()).select_from(Recipient)) < total
    worker = make_app(JOBS_SQLITE_PATH=str(queue_path), UPLOAD_FOLDER="/nonexistent", **FAST)
    with worker.app_context():
        storage = worker.extensions[jobs.EXTENSION].storage
        storage.flush_queue()
        jobs.requeue_task.call_local()  # the periodic check, as the scheduler runs it
        assert storage.queue_size() == 1
        jobs.huey.execute(jobs.huey.dequeue())  # the worker runs what it finds
        assert storage.queue_size() == 0
    done = assert_complete(web, batch_id, total)
    assert done.attempts == 1


def test_a_worker_killed_mid_batch_leaves_it_to_the_next_worker(
        web, campaign, database_url, queue_path, start_worker):
    """``kill -9`` a real worker half-way through 100,000 rows; the next worker takes the
    batch over once its lease ran out and finishes it: every row once, every link distinct."""
    total = 100_000
    batch_id = upload(web, campaign, people(total))
    # SQLite has one writer: a lease must outlast a block's write, which the heartbeat waits
    # for (seconds here, on a busy machine).
    env = worker_env(database_url, queue_path, PURL_JOBS_COMMIT_ROWS=10_000,
                     PURL_JOBS_LEASE_SECONDS=5, PURL_JOBS_HEARTBEAT_SECONDS=0.5)
    first = start_worker(env)
    wait_for(lambda: batch_row(web, batch_id).processed_rows >= 20_000, 20,
             "the first worker to commit some blocks")
    first.kill()
    assert first.process.returncode == -signal.SIGKILL
    killed = batch_row(web, batch_id)
    assert killed.status == "running" and 0 < killed.processed_rows < total, first.log()
    assert killed.output_file_id is None
    started = time.monotonic()
    second = start_worker(env)
    wait_for(lambda: batch_row(web, batch_id).status in ("done", "failed"), 60,
             "the second worker to finish the batch")
    done = assert_complete(web, batch_id, total)
    assert done.attempts >= 1
    assert "queued again" in second.log()
    assert "Traceback" not in second.log()
    print(f"taken over and finished {time.monotonic() - started:.1f} s after the kill")


def test_sigterm_stops_a_busy_worker_at_once_and_leaves_its_batch_to_the_lease(
        web, campaign, database_url, queue_path, start_worker):
    """What honcho (Ctrl-C in ``make run``), systemd or a deploy sends: the worker and its
    minting processes stop now; the batch is neither failed nor finished, only left."""
    batch_id = upload(web, campaign, people(60_000))
    worker = start_worker(worker_env(database_url, queue_path, PURL_JOBS_COMMIT_ROWS=10_000,
                                     PURL_JOBS_LEASE_SECONDS=60, PURL_JOBS_WORKERS=1))
    wait_for(lambda: batch_row(web, batch_id).processed_rows > 0, 20, "a committed block")
    os.kill(worker.process.pid, signal.SIGTERM)  # the worker only, as `kill PID` does
    worker.process.wait(timeout=10)
    stopped = batch_row(web, batch_id)
    assert stopped.status == "running" and stopped.error is None, worker.log()
    assert stopped.processed_rows < 60_000
    with pytest.raises(ProcessLookupError):  # no minting process outlived it
        os.killpg(worker.process.pid, 0)


# --- Redis ---------------------------------------------------------------------------------

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_up() -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(REDIS_URL)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_up(), reason=f"needs Redis at {REDIS_URL}")
def test_with_redis_url_the_queue_is_in_redis(make_app, database_url, tmp_path,
                                              start_worker):
    name = f"purl-test-{uuid.uuid4().hex[:8]}"
    web = make_app(REDIS_URL=REDIS_URL, JOBS_QUEUE_NAME=name,
                   JOBS_SQLITE_PATH=str(tmp_path / "unused.sqlite3"), **FAST)
    with web.app_context():
        c = Campaign(slug="herbst", name="Herbst", quiz_slug="zoohandlung", locale="de",
                     tone="du", variants=[])
        db.session.add(c)
        db.session.commit()
        campaign_id = c.id
        storage = web.extensions[jobs.EXTENSION].storage
    try:
        batch_id = upload(web, campaign_id, people(20))
        assert storage.queue_size() == 1
        assert not (tmp_path / "unused.sqlite3").exists()
        worker = start_worker(worker_env(database_url, tmp_path / "unused.sqlite3",
                                         REDIS_URL=REDIS_URL, PURL_JOBS_QUEUE_NAME=name))
        wait_for(lambda: batch_row(web, batch_id).status in ("done", "failed"), 20,
                 "the worker to take the batch from Redis")
        assert_complete(web, batch_id, 20)
        assert storage.queue_size() == 0
        assert f"Redis {REDIS_URL}" in worker.log()
    finally:
        storage.flush_all()
        storage.conn.close()


def test_an_unreachable_queue_fails_no_request_and_the_lease_catches_up(make_app, campaign,
                                                                         web):
    batch_id = upload(web, campaign, people(3), enqueue=False)
    down = make_app(REDIS_URL="redis://127.0.0.1:1/0", JOBS_QUEUE_NAME="purl-down")
    with down.app_context():
        assert jobs.enqueue_batch(batch_id) is False
    assert batch_row(web, batch_id).status == "queued"  # a worker's periodic check has it
