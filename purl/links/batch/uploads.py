"""Recipient lists uploaded in the console: kept as stored files, previewed, queued as jobs.

The upload and its results are files in the database (``purl.files``), so a worker on any
machine reads them; lists uploaded before that still sit in ``UPLOAD_FOLDER/<batch id>/`` and
stay readable. The state lives in the Batch row, so any web process can show progress.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from purl import files
from purl.links.batch.source import Preview, preview
from purl.models import Batch, Campaign, utcnow

log = logging.getLogger(__name__)

# File names of a batch's lists: in the legacy upload folder, and as stored files.
INPUT, OUTPUT, ERRORS, QR = "input.csv", "output.csv", "output.errors.csv", "qr.zip"
# Which stored file of a batch each download is, by its legacy name.
RESULT_FILES = {OUTPUT: "output_file_id", ERRORS: "errors_file_id", QR: "qr_file_id"}


def folder_of(root: str | Path, batch: Batch) -> Path:
    """Where a list uploaded before lists were stored in the database was kept."""
    return Path(root) / str(batch.id)


def store_upload(session: Session, campaign: Campaign, stream: IO[bytes],
                 filename: str) -> Batch:
    """Keep an uploaded list in the database as a new batch waiting for its mapping (flushes;
    the caller commits)."""
    name = (filename or "upload.csv")[:255]
    stored = files.save(session, stream, name, "text/csv")
    batch = Batch(campaign_id=campaign.id, filename=name, status="uploaded",
                  input_file_id=stored.id, input_sha256=stored.sha256)
    session.add(batch)
    session.flush()
    return batch


def queue_batch(session: Session, batch: Batch, mapping: Mapping[str, str],
                channel: str = "email", qr: bool = False) -> bool:
    """Mark an uploaded batch queued with what to run; False when someone queued it first
    (one conditional UPDATE: a double click queues it once). The caller commits, then calls
    ``jobs.enqueue_batch(batch.id)``."""
    queued = session.execute(
        update(Batch).where(Batch.id == batch.id, Batch.status == "uploaded")
        .values(status="queued", error=None, updated_at=utcnow(),
                options={"mapping": dict(mapping), "channel": channel, "qr": bool(qr)})
        .execution_options(synchronize_session=False)
    ).rowcount
    return queued == 1


def preview_upload(session: Session, batch: Batch, legacy_root: str | Path,
                   rows: int = 5) -> Preview:
    """The uploaded list as ``generate`` will read it (OSError when it is gone)."""
    if batch.input_file_id is not None:
        with files.open_file(session, batch.input_file_id) as stream:
            return preview(stream, rows=rows)
    return preview(folder_of(legacy_root, batch) / INPUT, rows=rows)


def result_file(batch: Batch, name: str, legacy_root: str | Path) -> int | Path | None:
    """A finished batch's download: a stored file's id, an older batch's file, or None."""
    stored = getattr(batch, RESULT_FILES[name])
    if stored is not None:
        return stored
    legacy = folder_of(legacy_root, batch) / name
    return legacy if legacy.is_file() else None


def campaign_batch(session: Session, campaign: Campaign, batch_id: int) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.id == batch_id,
                                              Batch.campaign_id == campaign.id))


def recent_batches(session: Session, campaign: Campaign, limit: int = 10) -> list[Batch]:
    return list(session.scalars(select(Batch).where(Batch.campaign_id == campaign.id)
                                .order_by(Batch.id.desc()).limit(limit)))
