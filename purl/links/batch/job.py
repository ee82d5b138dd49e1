"""A recipient list minted as a job: on any worker, from the stored upload to stored results.

The batch row says what to run (``Batch.options``: mapping, channel, QR) and where the list is
(``input_file_id``, a stored file any machine reads; older uploads still sit in
``UPLOAD_FOLDER/<batch id>/input.csv``). ``run_batch`` claims the batch, mints it with
``purl.links.batch.generate`` in a temporary folder, and stores the list with links, the
rejected rows and the QR archive as files committed together with the batch's ``done``. A
worker killed half-way leaves committed blocks and a lease that runs out; the next worker
runs the whole list again, and ``generate`` gives the people of those blocks the links they
got then.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from purl import files
from purl.links.batch import lease
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
            sheet=wanted.get("sheet") or None,
            commit_rows=int(app_config["JOBS_BATCH_COMMIT_ROWS"]),
            workers=app_config.get("JOBS_BATCH_PROCESSES"),
            on_done=store_results,
        ),
        progress=still_ours,
    )
