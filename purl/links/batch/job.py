"""A recipient list minted as a job: on any worker, from the stored upload to stored results.

The batch row says what to run (``Batch.options``: mapping, channel, QR) and where the list is
(``input_file_id``, a stored file any machine reads; older uploads still sit in
``UPLOAD_FOLDER/<batch id>/input.csv``). ``run_batch`` claims the batch, mints it with
``purl.links.batch.generate`` in a temporary folder, and stores the list with links, the
rejected rows and the QR archive as files committed together with the batch's ``done``. A
worker killed half-way leaves committed blocks and a lease that runs out; the next worker
runs the whole list again, and ``generate`` gives the people of those blocks the links they
got then.

``run_check`` runs an uploaded list as a dry run with the mapping asked for (a check before
minting): it mints nothing and counts nothing, and keeps what minting would do (counts, the
first rejected rows, the warnings) in the upload's check (``uploads.change_check``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from purl import files
from purl.links.batch import downloads, lease, uploads
from purl.links.batch import run as engine
from purl.links.batch.columns import BatchError
from purl.links.batch.uploads import ERRORS, INPUT, OUTPUT, QR, folder_of
from purl.models import Batch, Campaign

log = logging.getLogger(__name__)



def run_batch(session: Session, app_config: Mapping[str, Any], batch_id: int) -> str:
    """Run a queued batch, or take over one whose worker went silent. Returns ``done``,
    ``failed`` or ``skipped`` (not this worker's to run: finished, or running elsewhere)."""
    attempt = lease.claim(session, batch_id, float(app_config["JOBS_LEASE_SECONDS"]))
    if attempt is None:
        log.info("batch %s: nothing to do here (finished, or running elsewhere)", batch_id)
        return "skipped"
    log.info("batch %s: running (attempt %s)", batch_id, attempt + 1)
    heartbeat = lease.Heartbeat(session.get_bind(), batch_id, attempt,
                               float(app_config["JOBS_HEARTBEAT_SECONDS"]))
    with heartbeat, tempfile.TemporaryDirectory(prefix=f"purl-batch-{batch_id}-") as tmp:
        try:
            _run(session, app_config, batch_id, attempt, heartbeat, Path(tmp))
        except engine.TakenOver:
            session.rollback()
            log.warning("batch %s: attempt %s stopped, the batch runs elsewhere now",
                        batch_id, attempt + 1)
            return "skipped"
        except Exception as exc:  # noqa: BLE001 - whatever it was, the page must say so
            log.exception("batch %s failed", batch_id)
            engine.mark_failed(session, batch_id, exc)
            return "failed"
    return "done"


def qr_format(wanted: Mapping[str, Any]) -> str:
    """The QR files' format a batch asked for: SVG unless PNG (batches queued before PNG
    was offered asked for nothing)."""
    return "png" if wanted.get("qr_format") == "png" else "svg"


def _input(session: Session, app_config: Mapping[str, Any], batch: Batch, tmp: Path) -> Path:
    if batch.input_file_id is not None:
        return files.copy_to(session, batch.input_file_id, tmp / INPUT)
    legacy = folder_of(app_config["UPLOAD_FOLDER"], batch) / INPUT
    if not legacy.is_file():
        raise BatchError("the uploaded list is no longer stored: please upload it again")
    return legacy


def _run(session: Session, app_config: Mapping[str, Any], batch_id: int, attempt: int,
         heartbeat: lease.Heartbeat, tmp: Path) -> None:
    batch = session.get(Batch, batch_id)
    campaign = session.get(Campaign, batch.campaign_id)
    wanted = batch.options or {}
    qr = bool(wanted.get("qr"))
    source = _input(session, app_config, batch, tmp)
    session.commit()  # the copy read in a transaction of its own; generate starts afresh
    out = tmp / OUTPUT

    def still_ours(_done: int, _total: int) -> None:
        # A run that lost its lease (it stalled, and another worker took the batch over)
        # stops at its next block instead of racing the run that has it now.
        if heartbeat.lost:
            raise engine.TakenOver(f"batch {batch_id}")

    def store_results(session: Session, done: Batch, result: engine.Result) -> None:
        if heartbeat.lost or done.attempts != attempt:
            raise engine.TakenOver(f"batch {batch_id}")
        # Committed by generate with the batch's "done": finished means downloadable.
        done.output_file_id = files.save_path(session, out, OUTPUT, "text/csv").id
        done.errors_file_id = files.save_path(session, result.errors_path, ERRORS,
                                              "text/csv").id
        if result.qr_path is not None:
            done.qr_file_id = files.save_path(session, result.qr_path, QR,
                                              "application/zip").id

    engine.generate(
        session, campaign, source, out,
        keys=app_config["SECRET_KEYS"],
        base_url=app_config["PURL_BASE_URL"],
        options=engine.Options(
            channel=wanted.get("channel") or "email", mapping=dict(wanted.get("mapping") or {}),
            qr_dir=tmp / "qr" if qr else None, qr_zip=qr, batch_id=batch_id,
            sheet=wanted.get("sheet") or None, qr_format=qr_format(wanted),
            commit_rows=int(app_config["JOBS_BATCH_COMMIT_ROWS"]),
            workers=app_config.get("JOBS_BATCH_PROCESSES"),
            on_done=store_results,
        ),
        progress=still_ours,
    )


# What a check keeps of each rejected row: its first cells, shortened (the page shows them so).
_CELLS_KEPT, _CELL_LENGTH = 4, 80


def run_check(session: Session, app_config: Mapping[str, Any], batch_id: int,
              check_id: str) -> str:
    """Run check ``check_id`` of an uploaded list as a dry run; returns ``done``, ``failed``
    or ``skipped`` (the list was minted or checked again meanwhile: that check wins)."""
    bind = session.get_bind()

    def report(**changes: Any) -> bool:
        # On a connection of its own: the dry run's session keeps its own transaction.
        with bind.begin() as conn:
            return uploads.change_check(conn, batch_id, check_id, changes)

    batch = session.get(Batch, batch_id)
    if batch is None or not report(status="running"):
        log.info("batch %s: check %s not to run (checked again, or minted)", batch_id, check_id)
        return "skipped"
    session.refresh(batch)
    wanted = uploads.check_of(batch) or {}
    campaign = session.get(Campaign, batch.campaign_id)
    last = time.monotonic()

    def progress(done: int, total: int) -> None:
        nonlocal last
        if time.monotonic() - last < 1:
            return
        last = time.monotonic()
        if not report(done=done, total=total):
            raise engine.TakenOver(f"check {check_id} of batch {batch_id}")

    with tempfile.TemporaryDirectory(prefix=f"purl-check-{batch_id}-") as tmp:
        try:
            source = _input(session, app_config, batch, Path(tmp))
            session.commit()
            result = engine.generate(
                session, campaign, source, Path(tmp) / OUTPUT,
                keys=app_config["SECRET_KEYS"], base_url=app_config["PURL_BASE_URL"],
                options=engine.Options(
                    channel=wanted.get("channel") or "email",
                    mapping=dict(wanted.get("mapping") or {}), dry_run=True,
                    sheet=wanted.get("sheet") or None,
                    workers=app_config.get("JOBS_BATCH_PROCESSES")),
                progress=progress)
            with open(result.errors_path, "rb") as stream:
                rejected = downloads.rejections(stream, result.rejected)
        except engine.TakenOver:
            session.rollback()
            return "skipped"
        except Exception as exc:  # noqa: BLE001 - whatever it was, the page must say so
            session.rollback()
            if isinstance(exc, BatchError):  # kept as msgid and values: said in German
                error = {"error": exc.message,
                         "params": {k: v if isinstance(v, int | float | str) else str(v)
                                    for k, v in exc.params.items()}}
            else:
                log.exception("batch %s: check %s failed", batch_id, check_id)
                error = {"error": f"{type(exc).__name__}: {exc}"[:2000], "params": {}}
            report(status="failed", **error)
            return "failed"
    session.rollback()  # the dry run only read
    rows = [[line, reason, [c[:_CELL_LENGTH] for c in cells[:_CELLS_KEPT]]]
            for line, reason, cells in rejected.rows]
    done = report(status="done", done=result.total_rows, total=result.total_rows,
                  rows=result.total_rows, minted=result.minted, reused=result.reused,
                  updated=result.updated, rejected=result.rejected, rejections=rows,
                  warnings=engine.warnings_of(result) or {"count": 0, "rows": []})
    log.info("batch %s: check %s: %s", batch_id, check_id, result.summary())
    return "done" if done else "skipped"
