"""The job queue: long work (batches) runs in worker processes, never in a web request.

Huey carries the messages; the truth about a job is its database row, so any worker on any
machine can take it over. The queue lives in SQLite beside the app (``JOBS_SQLITE_PATH``,
``instance/jobs.sqlite3`` by default: one machine), or in Redis when ``REDIS_URL`` is set
(any number of machines).

The tasks are registered on the one module-level ``huey``; its storage is bound per app by
``init_app`` (Huey's own extension point, a storage class: ``AppStorage`` hands every call
to the queue of the current app, or outside an app context to the app the worker runs).
The web process only enqueues; ``flask --app wsgi jobs work`` runs the consumer.

A batch is leased, not locked: ``Batch.updated_at`` is its lease, renewed every
``JOBS_HEARTBEAT_SECONDS`` by a thread of the worker running it (and at every commit of its
rows). A periodic task (every ``JOBS_REQUEUE_SECONDS``, and once when a worker starts) queues
again every batch that is queued or running with a lease older than ``JOBS_LEASE_SECONDS``:
its worker was killed, or its message was lost. Before it runs, a task claims its batch with
one conditional UPDATE, so a batch runs in one place at a time and a duplicate message is
dropped quietly.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.consumer import Consumer, Scheduler
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy.orm import Session

from purl import apikeys, privacy
from purl.catalog import importing
from purl.extensions import db
from purl.links.batch import lease, uploads
from purl.links.batch.job import run_batch, run_check
from purl.webhooks import delivery, outbox

__all__ = ["AppStorage", "consumer", "deliver_webhooks", "enqueue_batch",
           "enqueue_catalog_import", "enqueue_check", "run_catalog_import_here",
           "enqueue_webhooks", "huey", "init_app", "purge_events", "purge_files",
           "purge_webhooks", "requeue_stale", "run_batch_here", "run_check_here"]

log = logging.getLogger(__name__)

EXTENSION = "purl.jobs"


@dataclass
class Queue:
    """One app's queue: where it lives, built on first use (the web process may never)."""

    app: Flask
    config: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.config = self.app.config

    @property
    def name(self) -> str:
        return self.config.get("JOBS_QUEUE_NAME") or "purl"

    @property
    def sqlite_path(self) -> str:
        return (self.config.get("JOBS_SQLITE_PATH")
                or os.path.join(self.app.instance_path, "jobs.sqlite3"))

    @cached_property
    def storage(self) -> Any:
        url = self.config.get("REDIS_URL")
        if url:
            return RedisStorage(self.name, url=url, client_name=f"purl-{self.name}")
        Path(self.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteStorage(self.name, filename=self.sqlite_path)

    def describe(self) -> str:
        url = self.config.get("REDIS_URL")
        if url:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
            return f"Redis {urlunsplit((parts.scheme, host + port, parts.path, '', ''))} " \
                   f"(queue {self.name!r})"
        return f"SQLite {self.sqlite_path} (queue {self.name!r})"


_bound: Queue | None = None  # the queue outside an app context: the worker's, or the last app's


def _queue() -> Queue:
    if has_app_context():
        found = current_app.extensions.get(EXTENSION)
        if found is not None:
            return found
    if _bound is None:
        raise RuntimeError("purl.jobs: no app is bound to the queue; call jobs.init_app(app)")
    return _bound


class AppStorage:
    """Huey's storage class: every call goes to the queue of the app it is made for."""

    def __init__(self, name: str = "purl", **_kwargs: Any) -> None:
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_queue().storage, attribute)


huey = Huey("purl", results=False, storage_class=AppStorage)


def init_app(app: Flask) -> None:
    """Bind ``app``'s queue (SQLite, or Redis with ``REDIS_URL``); nothing is opened yet."""
    global _bound
    queue = Queue(app)
    app.extensions[EXTENSION] = queue
    _bound = queue


def _app() -> Flask:
    """The app a task runs for: the current one, else the one the worker was started with."""
    return current_app._get_current_object() if has_app_context() else _queue().app


def _seconds(config: Any, key: str) -> float:
    return float(config[key])


# --- tasks ---------------------------------------------------------------------------------


@huey.task(name="purl.batch")
def batch_task(batch_id: int) -> None:
    app = _app()
    with app.app_context():
        try:
            run_batch(db.session, app.config, batch_id)
        finally:
            db.session.remove()


def run_batch_here(batch_id: int) -> str:
    """Run a queued batch in this process, as a worker would (the console's tests wait for it
    this way). Returns ``done``, ``failed`` or ``skipped``."""
    return run_batch(db.session, current_app.config, batch_id)


def enqueue_batch(batch_id: int) -> bool:
    """Queue a batch for a worker. Commit the batch (status ``queued``) first: the worker
    reads it from the database. False when the queue cannot be reached (Redis down): the
    batch is queued again by a worker once its lease ran out, so nothing is lost."""
    try:
        batch_task(batch_id)
    except Exception as exc:  # noqa: BLE001 - the lease catches up; the request must not fail
        log.warning("batch %s: could not reach the job queue (%s); a worker will queue it "
                    "again once its lease ran out", batch_id, exc)
        return False
    return True


@huey.task(name="purl.check")
def check_task(batch_id: int, check_id: str) -> None:
    app = _app()
    with app.app_context():
        try:
            run_check(db.session, app.config, batch_id, check_id)
        finally:
            db.session.remove()


def run_check_here(batch_id: int, check_id: str) -> str:
    """Run a list's check (a dry run) in this process, as a worker would (tests)."""
    return run_check(db.session, current_app.config, batch_id, check_id)


def enqueue_check(batch_id: int, check_id: str) -> bool:
    """Queue a list's check for a worker (commit it first). False when the queue cannot be
    reached: the check page then says it stopped, and checking again queues it anew."""
    try:
        check_task(batch_id, check_id)
    except Exception as exc:  # noqa: BLE001 - the request must not fail
        log.warning("batch %s: could not queue check %s (%s)", batch_id, check_id, exc)
        return False
    return True


@huey.task(name="purl.catalog_import")
def catalog_import_task(import_id: int) -> None:
    app = _app()
    with app.app_context():
        try:
            importing.run(db.session, import_id, _seconds(app.config, "JOBS_LEASE_SECONDS"))
        finally:
            db.session.remove()


def run_catalog_import_here(import_id: int) -> str:
    """Run a queued catalog import in this process, as a worker would (tests)."""
    return importing.run(db.session, import_id,
                         _seconds(current_app.config, "JOBS_LEASE_SECONDS"))


def enqueue_catalog_import(import_id: int) -> bool:
    """Queue a catalog import for a worker (commit it first). False when the queue cannot be
    reached: a worker queues it again once its lease ran out."""
    try:
        catalog_import_task(import_id)
    except Exception as exc:  # noqa: BLE001 - the lease catches up; the request must not fail
        log.warning("catalog import %s: could not reach the job queue (%s)", import_id, exc)
        return False
    return True


def requeue_stale(session: Session, lease_seconds: float) -> list[int]:
    """Queue again every batch and catalog import whose lease ran out (see
    ``lease.requeue_stale``); returns the batches'."""
    batch_ids = lease.requeue_stale(session, lease_seconds)
    for batch_id in batch_ids:
        enqueue_batch(batch_id)
    for import_id in importing.requeue_stale(session, lease_seconds):
        enqueue_catalog_import(import_id)
    return batch_ids


class _Every:
    """A periodic task's gate: due at a worker's start, then every ``config[key]`` seconds
    (the scheduler asks every second, see ``consumer``). Per worker process."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.last: float | None = None

    def __call__(self, _timestamp: dt.datetime) -> bool:
        now = time.monotonic()
        if self.last is not None and now - self.last < _seconds(_queue().config, self.key):
            return False
        self.last = now
        return True


_requeue_due = _Every("JOBS_REQUEUE_SECONDS")


@huey.periodic_task(_requeue_due, name="purl.requeue_stale", expires=60)
def requeue_task() -> None:
    app = _app()
    with app.app_context():
        try:
            requeue_stale(db.session, _seconds(app.config, "JOBS_LEASE_SECONDS"))
        except Exception as exc:  # noqa: BLE001 - busy (SQLite): the next period tries again
            log.warning("could not check the batches' leases: %s",
                        getattr(exc, "orig", None) or exc)
        finally:
            db.session.remove()


def purge_files(session: Session, config: Any) -> uploads.PurgeReport:
    """The retention: delete the files of batches finished more than ``RETENTION_DAYS`` ago
    (the periodic task below and ``flask purge`` both run this), committing as it goes."""
    return uploads.purge_expired(session, int(config["RETENTION_DAYS"]), config["UPLOAD_FOLDER"],
                                 checkpoint=session.commit)


def purge_events(session: Session, config: Any) -> int:
    """The events' retention (``EVENT_RETENTION_DAYS``, or a campaign's own), committed."""
    removed = privacy.purge_events(session, int(config["EVENT_RETENTION_DAYS"]))
    session.commit()
    return removed


def purge_webhooks(session: Session, config: Any) -> int:
    """Sent or failed webhook messages older than ``WEBHOOK_RETENTION_DAYS``, committed."""
    removed = outbox.purge(session, int(config["WEBHOOK_RETENTION_DAYS"]))
    session.commit()
    return removed


def purge_idempotency(session: Session) -> int:
    """The API's stored answers to Idempotency-Keys older than a day, committed."""
    removed = apikeys.purge_idempotency(session)
    session.commit()
    return removed


# A purge is idempotent: several workers only repeat a cheap query.
_purge_due = _Every("JOBS_PURGE_SECONDS")


@huey.periodic_task(_purge_due, name="purl.purge", expires=600)
def purge_task() -> None:
    app = _app()
    with app.app_context():
        try:
            purge_files(db.session, app.config)
            purge_events(db.session, app.config)
            purge_webhooks(db.session, app.config)
            purge_idempotency(db.session)
        except Exception as exc:  # noqa: BLE001 - busy (SQLite): the next period tries again
            db.session.rollback()
            log.warning("could not delete expired batch files or events: %s",
                        getattr(exc, "orig", None) or exc)
        finally:
            db.session.remove()


# --- webhooks ------------------------------------------------------------------------------


@huey.task(name="purl.webhooks")
def webhooks_task() -> None:
    app = _app()
    with app.app_context():
        try:
            deliver_webhooks(db.session, app.config)
        finally:
            db.session.remove()


def deliver_webhooks(session: Session, config: Any) -> int:
    """Send the webhook deliveries that are due, committing each attempt (the task, and
    tests, run this)."""
    return delivery.deliver_due(session, config, checkpoint=session.commit)


_webhook_poll = _Every("WEBHOOK_POLL_SECONDS")


def _webhooks_due(timestamp: dt.datetime) -> bool:
    """Every ``WEBHOOK_POLL_SECONDS``: queue a sending task only when something is due, so
    an idle install writes nothing to its queue. A shopper's request never queues one."""
    if not _webhook_poll(timestamp):
        return False
    app = _queue().app
    with app.app_context():
        try:
            return delivery.any_due(db.session)
        except Exception as exc:  # noqa: BLE001 - busy or down: the next second asks again
            log.warning("could not look for due webhooks: %s", getattr(exc, "orig", None) or exc)
            return False
        finally:
            db.session.remove()


@huey.periodic_task(_webhooks_due, name="purl.webhooks.due", expires=30)
def webhooks_due_task() -> None:
    webhooks_task.call_local()


def enqueue_webhooks() -> bool:
    """Queue a sending task now (the console's test event and replay, not to wait for the
    next poll). False when the queue cannot be reached: the poll finds it anyway."""
    try:
        webhooks_task()
    except Exception as exc:  # noqa: BLE001 - the request must not fail
        log.warning("could not queue webhook delivery (%s); the next poll sends it", exc)
        return False
    return True


def _child_stops_on_sigterm() -> None:
    # The consumer's SIGTERM handler only raises a flag; a batch's minting processes (forked
    # from a worker thread) inherit it, and would then outlive a SIGTERM and keep the
    # stopping worker waiting for them forever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_forks_watched = False


def consumer(app: Flask, workers: int | None = None) -> Consumer:
    """A Huey consumer for ``app``: ``workers`` threads (a batch uses every core already
    through its own processes), periodic tasks asked every second (each keeps its own
    interval)."""
    global _bound, _forks_watched
    if not _forks_watched and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_child_stops_on_sigterm)
        _forks_watched = True
    queue = app.extensions[EXTENSION]
    _bound = queue  # the worker's threads run outside an app context
    config = app.config
    # The scheduler asks every periodic task every second; each has its own gate (_Every).
    period = 1

    class _Scheduler(Scheduler):
        periodic_task_seconds = period

    class _Consumer(Consumer):
        scheduler_class = _Scheduler

    poll = max(_seconds(config, "JOBS_POLL_SECONDS"), 0.01)
    return _Consumer(huey, workers=workers or int(config["JOBS_WORKERS"]), worker_type="thread",
                     periodic=True, initial_delay=min(0.1, poll), max_delay=poll,
                     scheduler_interval=1)
