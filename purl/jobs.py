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
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.consumer import Consumer, Scheduler
from huey.storage import RedisStorage, SqliteStorage
from sqlalchemy import Engine, and_, case, func, or_, update
from sqlalchemy.orm import Session

from .extensions import db
from .models import Batch, utcnow

__all__ = ["AppStorage", "Heartbeat", "claim", "consumer", "enqueue_batch", "huey",
           "init_app", "requeue_stale"]

log = logging.getLogger(__name__)

EXTENSION = "purl.jobs"
# Statuses a job's batch passes through while a worker owes it work.
PENDING = ("queued", "running")

_batch = Batch.__table__


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


# --- the lease -----------------------------------------------------------------------------


def claim(session: Session, batch_id: int, lease_seconds: float) -> int | None:
    """Take a batch to run: queued → running, or running with a stale lease → running (a new
    attempt). One conditional UPDATE, committed; returns the attempt number to renew the
    lease with, or None when the batch is not this worker's to run (done, failed, or running
    elsewhere with a fresh lease)."""
    now = utcnow()
    seen = func.coalesce(_batch.c.updated_at, _batch.c.created_at)
    stale = now - dt.timedelta(seconds=lease_seconds)
    row = session.execute(
        update(_batch)
        .where(_batch.c.id == batch_id,
               or_(_batch.c.status == "queued",
                   and_(_batch.c.status == "running", seen < stale)))
        .values(status="running", updated_at=now, error=None, finished_at=None,
                attempts=case((_batch.c.status == "running", _batch.c.attempts + 1),
                              else_=_batch.c.attempts))
        .returning(_batch.c.attempts)
    ).first()
    session.commit()
    return None if row is None else row[0]


def requeue_stale(session: Session, lease_seconds: float) -> list[int]:
    """Queue again every job batch whose lease ran out, bumping its attempts and its lease in
    one conditional UPDATE (so two workers never both do it); commits, then enqueues."""
    now = utcnow()
    seen = func.coalesce(_batch.c.updated_at, _batch.c.created_at)
    ids = list(session.execute(
        update(_batch)
        .where(_batch.c.status.in_(PENDING), _batch.c.options.is_not(None),
               seen < now - dt.timedelta(seconds=lease_seconds))
        .values(status="queued", attempts=_batch.c.attempts + 1, updated_at=now)
        .returning(_batch.c.id)
    ).scalars())
    session.commit()
    for batch_id in ids:
        log.warning("batch %s: its worker went silent for %ss; queued again", batch_id,
                    lease_seconds)
        enqueue_batch(batch_id)
    return ids


class Heartbeat:
    """Renews a running batch's lease every ``every`` seconds from a thread of its own, on a
    connection of its own, while the batch runs (a ``with`` block). Stops when the batch is
    no longer this attempt's (finished, failed, or taken over after the lease ran out): then
    ``lost`` is set, and the run should stop."""

    def __init__(self, engine: Engine, batch_id: int, attempt: int, every: float) -> None:
        self.engine, self.batch_id, self.attempt, self.every = engine, batch_id, attempt, every
        self.beats = 0
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{batch_id}",
                                        daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.engine.begin() as conn:
                    renewed = conn.execute(
                        update(_batch)
                        .where(_batch.c.id == self.batch_id, _batch.c.status == "running",
                               _batch.c.attempts == self.attempt)
                        .values(updated_at=utcnow())
                    ).rowcount
            except Exception as exc:  # noqa: BLE001 - busy (SQLite): the next beat tries again
                log.warning("batch %s: could not renew its lease: %s", self.batch_id,
                            getattr(exc, "orig", None) or exc)
                continue
            if not renewed:
                self.lost = True
                if not self._stop.is_set():
                    log.info("batch %s: lease not renewed, attempt %s is over (finished, "
                             "or taken over)", self.batch_id, self.attempt + 1)
                return
            self.beats += 1


# --- tasks ---------------------------------------------------------------------------------


@huey.task(name="purl.batch")
def batch_task(batch_id: int) -> None:
    app = _app()
    with app.app_context():
        from .batch_job import run_batch

        try:
            run_batch(db.session, app.config, batch_id)
        finally:
            db.session.remove()


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


def _every_check(_timestamp: dt.datetime) -> bool:
    return True  # how often: the scheduler's period, JOBS_REQUEUE_SECONDS (see consumer)


@huey.periodic_task(_every_check, name="purl.requeue_stale", expires=60)
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


def _child_stops_on_sigterm() -> None:
    # The consumer's SIGTERM handler only raises a flag; a batch's minting processes (forked
    # from a worker thread) inherit it, and would then outlive a SIGTERM and keep the
    # stopping worker waiting for them forever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_forks_watched = False


def consumer(app: Flask, workers: int | None = None) -> Consumer:
    """A Huey consumer for ``app``: ``workers`` threads (a batch uses every core already
    through its own processes), periodic tasks every ``JOBS_REQUEUE_SECONDS``."""
    global _bound, _forks_watched
    if not _forks_watched and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_child_stops_on_sigterm)
        _forks_watched = True
    queue = app.extensions[EXTENSION]
    _bound = queue  # the worker's threads run outside an app context
    config = app.config
    period = max(1, round(_seconds(config, "JOBS_REQUEUE_SECONDS")))

    class _Scheduler(Scheduler):
        periodic_task_seconds = period

    class _Consumer(Consumer):
        scheduler_class = _Scheduler

    poll = max(_seconds(config, "JOBS_POLL_SECONDS"), 0.01)
    return _Consumer(huey, workers=workers or int(config["JOBS_WORKERS"]), worker_type="thread",
                     periodic=True, initial_delay=min(0.1, poll), max_delay=poll,
                     scheduler_interval=1)
