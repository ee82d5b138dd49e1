"""Recipient lists uploaded in the console: stored, previewed, minted in the background.

The upload is kept under ``UPLOAD_FOLDER/<batch id>/`` with the results beside it. The state
lives in the Batch row (``generate`` updates it per chunk), so any worker can show progress.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import IO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from purl.models import Batch, Campaign

log = logging.getLogger(__name__)

INPUT, OUTPUT, ERRORS, QR = "input.csv", "output.csv", "output.errors.csv", "qr.zip"


def folder_of(root: str | Path, batch: Batch) -> Path:
    return Path(root) / str(batch.id)


def store_upload(session: Session, campaign: Campaign, stream: IO[bytes], filename: str,
                 root: str | Path) -> Batch:
    """Keep an uploaded list as a new batch waiting for its mapping (the caller commits)."""
    batch = Batch(campaign_id=campaign.id, filename=(filename or "upload.csv")[:255],
                  status="uploaded")
    session.add(batch)
    session.flush()
    folder = folder_of(root, batch)
    # A folder left by a database that was reset would mix old results into this batch.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with open(folder / INPUT, "wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    return batch


def campaign_batch(session: Session, campaign: Campaign, batch_id: int) -> Batch | None:
    return session.scalar(select(Batch).where(Batch.id == batch_id,
                                              Batch.campaign_id == campaign.id))


def recent_batches(session: Session, campaign: Campaign, limit: int = 10) -> list[Batch]:
    return list(session.scalars(select(Batch).where(Batch.campaign_id == campaign.id)
                                .order_by(Batch.id.desc()).limit(limit)))


def queue(session: Session, batch: Batch) -> bool:
    """Claim an uploaded batch for minting; False when another request claimed it first."""
    # One conditional UPDATE, so a double click or two workers never start two threads.
    claimed = session.execute(
        update(Batch).where(Batch.id == batch.id, Batch.status == "uploaded")
        .values(status="queued", error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1
