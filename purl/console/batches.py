"""Recipient lists uploaded in the console: stored, previewed, minted in the background.

The upload is kept under ``UPLOAD_FOLDER/<batch id>/`` with the results beside it. The state
lives in the Batch row (``generate`` updates it per chunk), so any worker can show progress.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..links import batch as engine
from ..models import Batch, Campaign, utcnow

log = logging.getLogger(__name__)

# What a column can become, in the order the preview's select lists them.
TARGETS = (*engine.FIELDS, "attribute", "ignore")
INPUT, OUTPUT, ERRORS, QR = "input.csv", "output.csv", "output.errors.csv", "qr.zip"
# Without one of these no row can name a person (as generate insists).
IDENTIFYING = {"external_id", "email", "first_name", "last_name", "company"}


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


def check_mapping(mapping: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """The problems with a marketer's mapping (column -> target): (kind, column, other)."""
    problems: list[tuple[str, str, str]] = []
    taken: dict[str, str] = {}
    for column, target in mapping.items():
        if target not in TARGETS:
            problems.append(("unknown", column, target))
        elif target not in ("attribute", "ignore"):
            if target in taken:
                problems.append(("twice", taken[target], column))
            taken[target] = column
    if not IDENTIFYING & taken.keys():
        problems.append(("identity", "", ""))
    return problems


def queue(session: Session, batch: Batch) -> bool:
    """Claim an uploaded batch for minting; False when another request claimed it first."""
    # One conditional UPDATE, so a double click or two workers never start two threads.
    claimed = session.execute(
        update(Batch).where(Batch.id == batch.id, Batch.status == "uploaded")
        .values(status="queued", error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return claimed == 1


def run(app: Flask, batch_id: int, mapping: Mapping[str, str], channel: str, qr: bool) -> None:
    """Mint a queued batch; runs in its own thread with its own app context and session."""
    with app.app_context():
        session = db.session()
        try:
            batch = session.get(Batch, batch_id)
            campaign = session.get(Campaign, batch.campaign_id)
            folder = folder_of(app.config["UPLOAD_FOLDER"], batch)
            engine.generate(
                session, campaign, folder / INPUT, folder / OUTPUT,
                keys=app.config["SECRET_KEYS"],
                base_url=campaign.base_url or app.config["PURL_BASE_URL"],
                options=engine.Options(channel=channel, mapping=dict(mapping),
                                       qr_dir=folder / "qr" if qr else None, qr_zip=qr,
                                       batch_id=batch_id),
            )
        except Exception as exc:  # noqa: BLE001 - whatever it was, the page must say so
            log.exception("batch %s failed", batch_id)
            session.rollback()
            failed = session.get(Batch, batch_id)
            if failed is not None and failed.status != "failed":
                failed.status, failed.error = "failed", str(exc)[:2000]
                failed.finished_at = utcnow()
                session.commit()
        finally:
            db.session.remove()


def start(app: Flask, batch_id: int, mapping: Mapping[str, str], channel: str,
          qr: bool) -> threading.Thread:
    """Mint in a daemon thread, so the marketer's request returns at once."""
    thread = threading.Thread(target=run, args=(app, batch_id, dict(mapping), channel, qr),
                              name=f"batch-{batch_id}", daemon=True)
    thread.start()
    return thread
