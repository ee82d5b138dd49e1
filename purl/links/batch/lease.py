"""A batch run as a job is leased, not locked: ``Batch.updated_at`` is its lease.

A worker claims a batch with one conditional UPDATE before it runs it, renews the lease from
a heartbeat thread while it runs, and any worker queues again a batch whose lease ran out (its
worker was killed, or its message lost). Plain SQL on the batch table: the queue itself
(``purl.jobs``) only carries messages.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import Engine, and_, case, func, or_, update
from sqlalchemy.orm import Session

from purl.models import Batch, utcnow

log = logging.getLogger(__name__)

# Statuses a job's batch passes through while a worker owes it work.
PENDING = ("queued", "running")

_batch = Batch.__table__


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
    one conditional UPDATE (so two workers never both do it); commits. The caller sends them
    to the queue."""
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
