"""Recipient lists uploaded in the console: kept as stored files, previewed, queued as jobs.

The upload and its results are files in the database (``purl.files``), so a worker on any
machine reads them; lists uploaded before that still sit in ``UPLOAD_FOLDER/<batch id>/`` and
stay readable. The state lives in the Batch row, so any web process can show progress.

Those files hold personal data (names, emails, live links), so they are kept only for a
retention period (``PURL_RETENTION_DAYS``) after their batch finished: :func:`purge_expired`
deletes them and notes it in the batch (the links themselves stay).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from purl import files
from purl.links.batch.lease import PENDING
from purl.links.batch.source import Preview, preview
from purl.models import Batch, Campaign, StoredFile, as_utc, utcnow

log = logging.getLogger(__name__)

# File names of a batch's lists: in the legacy upload folder, and as stored files.
INPUT, OUTPUT, ERRORS, QR = "input.csv", "output.csv", "output.errors.csv", "qr.zip"
# Which stored file of a batch each download is, by its legacy name.
RESULT_FILES = {OUTPUT: "output_file_id", ERRORS: "errors_file_id", QR: "qr_file_id"}


def folder_of(root: str | Path, batch: Batch) -> Path:
    """Where a list uploaded before lists were stored in the database was kept."""
    return Path(root) / str(batch.id)


# Workbooks are read directly (the reader converts their first sheet); anything else is text.
_MIMETYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
              ".xls": "application/vnd.ms-excel",
              ".ods": "application/vnd.oasis.opendocument.spreadsheet"}


def store_upload(session: Session, campaign: Campaign, stream: IO[bytes],
                 filename: str) -> Batch:
    """Keep an uploaded list (CSV or a workbook) in the database as a new batch waiting for
    its mapping (flushes; the caller commits)."""
    name = (filename or "upload.csv")[:255]
    stored = files.save(session, stream, name,
                        _MIMETYPES.get(Path(name).suffix.lower(), "text/csv"))
    batch = Batch(campaign_id=campaign.id, filename=name, status="uploaded",
                  input_file_id=stored.id, input_sha256=stored.sha256)
    session.add(batch)
    session.flush()
    return batch


def queue_batch(session: Session, batch: Batch, mapping: Mapping[str, str],
                channel: str = "email", qr: bool = False, qr_format: str = "svg",
                sheet: str | None = None) -> bool:
    """Mark an uploaded batch queued with what to run; False when someone queued it first
    (one conditional UPDATE: a double click queues it once). The caller commits, then calls
    ``jobs.enqueue_batch(batch.id)``."""
    queued = session.execute(
        update(Batch).where(Batch.id == batch.id, Batch.status == "uploaded")
        .values(status="queued", error=None, updated_at=utcnow(),
                options={"mapping": dict(mapping), "channel": channel, "qr": bool(qr),
                         "qr_format": qr_format, **({"sheet": sheet} if sheet else {})})
        .execution_options(synchronize_session=False)
    ).rowcount
    return queued == 1


def preview_upload(session: Session, batch: Batch, legacy_root: str | Path,
                   rows: int = 5, sheet: str | None = None) -> Preview:
    """The uploaded list as ``generate`` will read it (OSError when it is gone); ``sheet``
    names a workbook's sheet other than the first."""
    if batch.input_file_id is not None:
        with files.open_file(session, batch.input_file_id) as stream:
            return preview(stream, rows=rows, sheet=sheet)
    return preview(folder_of(legacy_root, batch) / INPUT, rows=rows, sheet=sheet)


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


# --- checking a list before minting it (a dry run) -----------------------------------------

# A check lives in its upload's options (``options["check"]``) while the list is not minted:
# no Batch of its own, so it never shows as a minted list nor counts in a figure; minting
# replaces the options, and with them the check. ``id`` tells a check from the one after it.
CHECK_RUNNING = ("queued", "running")
# A check reports at least every few seconds; silent this long, its worker was stopped.
CHECK_STALLED_AFTER = dt.timedelta(minutes=2)
_batch = Batch.__table__


def check_of(batch: Batch) -> dict | None:
    """The latest check of an uploaded list (status, mapping, counts, rows), or None."""
    found = (batch.options or {}).get("check") if batch.status == "uploaded" else None
    return found if isinstance(found, dict) else None


def check_stalled(check: Mapping[str, Any], now: dt.datetime | None = None) -> bool:
    if check.get("status") not in CHECK_RUNNING or not isinstance(check.get("at"), str):
        return False
    seen = as_utc(dt.datetime.fromisoformat(check["at"]))
    return (now or utcnow()) - seen > CHECK_STALLED_AFTER


def queue_check(session: Session, batch: Batch, mapping: Mapping[str, str], channel: str,
                qr: bool, qr_format: str, sheet: str | None = None) -> str | None:
    """Ask for a check of an uploaded list with this mapping, in place of any earlier check;
    returns the check's id (for ``jobs.enqueue_check``), or None when the list is being
    minted already. Flushes; the caller commits."""
    token = secrets.token_hex(8)
    check = {"id": token, "status": "queued", "mapping": dict(mapping), "channel": channel,
             "qr": bool(qr), "qr_format": qr_format, "done": 0, "total": 0,
             **({"sheet": sheet} if sheet else {})}
    session.flush()
    if not change_check(session.connection(), batch.id, None, check):
        return None
    session.expire(batch, ["options"])
    return token


def change_check(conn: Connection, batch_id: int, token: str | None,
                 changes: Mapping[str, Any]) -> bool:
    """Change the check ``token`` of a list not minted (``None``: start a new one with
    ``changes``); False when the list is minted meanwhile, or checked again (the newer check
    wins). The row is locked while its options are read and written (PostgreSQL; SQLite
    lets one writer at a time anyway)."""
    row = conn.execute(select(_batch.c.options)
                       .where(_batch.c.id == batch_id, _batch.c.status == "uploaded")
                       .with_for_update()).first()
    if row is None:
        return False
    options = dict(row[0] or {})
    current = options.get("check") if isinstance(options.get("check"), dict) else {}
    if token is not None and current.get("id") != token:
        return False
    options["check"] = {**(current if token is not None else {}), **changes,
                        "at": utcnow().isoformat(timespec="seconds")}
    return conn.execute(update(_batch)
                        .where(_batch.c.id == batch_id, _batch.c.status == "uploaded")
                        .values(options=options)).rowcount == 1


# --- printed links --------------------------------------------------------------------------

# Hosts only the machine that minted the link can open.
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")  # noqa: S104 - names, not a bind


def is_print(channel: str | None, qr: bool) -> bool:
    """Whether a batch's links end up on paper: the print channel, or QR codes asked for."""
    return channel == "print" or bool(qr)


def batch_is_print(batch: Batch) -> bool:
    return is_print(batch.channel, bool((batch.options or {}).get("qr")))


def unprintable_link_base(link_base: str) -> bool:
    """Whether links under ``link_base`` would be dead on a printed letter: plain http (a
    browser or scanner app warns, a shop's address is https), or a host only this machine
    knows (``localhost``, ``127.0.0.1``: the install's development default)."""
    parts = urlsplit(link_base.strip())
    host = (parts.hostname or "").lower()
    return parts.scheme != "https" or host in _LOCAL_HOSTS or host.endswith(".localhost")


# --- deleting an upload --------------------------------------------------------------------

# A batch no worker owes anything: never minted, or stopped by a failure.
DELETABLE = ("pending", "uploaded", "failed")


def deletable(batch: Batch) -> bool:
    return batch.status in DELETABLE


def has_files(batch: Batch) -> bool:
    return any(getattr(batch, c) is not None for c in _FILE_COLUMNS)


def delete_batch(session: Session, batch: Batch, legacy_root: str | Path) -> bool:
    """Delete a batch that was never minted (or failed) with its stored files; False when it
    is not deletable (any more: someone queued it meanwhile). Links a failed run made stay
    valid: recipients only remember the batch's number. Flushes; the caller commits."""
    file_ids = [getattr(batch, c) for c in _FILE_COLUMNS if getattr(batch, c) is not None]
    batch_id = batch.id
    # Conditional: a double click, or a colleague's "Create links" a moment earlier, wins.
    gone = session.execute(
        delete(Batch).where(Batch.id == batch_id, Batch.status.in_(DELETABLE))
        .execution_options(synchronize_session=False)
    ).rowcount
    if not gone:
        return False
    session.expunge(batch)
    for file_id in file_ids:
        files.delete(session, file_id)
    shutil.rmtree(folder_of(legacy_root, batch), ignore_errors=True)
    log.info("batch %s deleted with %s stored files", batch_id, len(file_ids))
    return True


def delete_files(session: Session, batch: Batch, legacy_root: str | Path,
                 now: dt.datetime | None = None) -> int:
    """Delete a minted batch's files (the list, its results, the QR codes) and keep the
    batch and its links; the batch page then says when. Returns how many files went.
    Flushes; the caller commits."""
    if batch.status in PENDING:
        return 0
    file_ids = [getattr(batch, c) for c in _FILE_COLUMNS if getattr(batch, c) is not None]
    for column in _FILE_COLUMNS:
        setattr(batch, column, None)
    stamp = (now or utcnow()).isoformat(timespec="seconds")
    batch.options = {**(batch.options or {}), "files_deleted": stamp}
    session.flush()
    for file_id in file_ids:
        files.delete(session, file_id)
    shutil.rmtree(folder_of(legacy_root, batch), ignore_errors=True)
    log.info("batch %s: %s stored files deleted, its links kept", batch.id, len(file_ids))
    return len(file_ids)


def files_deleted(batch: Batch) -> dt.datetime | None:
    """When a marketer deleted the batch's files (:func:`delete_files`), or None."""
    stamp = (batch.options or {}).get("files_deleted")
    return as_utc(dt.datetime.fromisoformat(stamp)) if isinstance(stamp, str) else None


def recent_batches(session: Session, campaign: Campaign, limit: int = 10) -> list[Batch]:
    return list(session.scalars(select(Batch).where(Batch.campaign_id == campaign.id)
                                .order_by(Batch.id.desc()).limit(limit)))


# --- retention -----------------------------------------------------------------------------

_FILE_COLUMNS = ("input_file_id", "output_file_id", "errors_file_id", "qr_file_id")


@dataclass(frozen=True)
class Purged:
    """A batch's files were deleted: when, and after how many days (the setting then)."""

    at: dt.datetime
    days: int


@dataclass
class PurgeReport:
    batches: list[int] = field(default_factory=list)
    files: int = 0
    bytes: int = 0

    def summary(self) -> str:
        return (f"deleted the files of {len(self.batches)} batches "
                f"({self.files} stored files, {self.bytes / 1e6:.1f} MB)")


def purged(batch: Batch) -> Purged | None:
    """When the batch's files were deleted by the retention, or None while they are kept."""
    mark = (batch.options or {}).get("purged")
    if not isinstance(mark, dict):
        return None
    at = as_utc(dt.datetime.fromisoformat(mark["at"]))
    return Purged(at=at, days=int(mark["days"]))


def purge_expired(session: Session, days: int, legacy_root: str | Path, *,
                  now: dt.datetime | None = None, chunk: int = 50,
                  checkpoint: Callable[[], None] | None = None) -> PurgeReport:
    """Delete the files of every batch that finished more than ``days`` ago (or was created
    that long ago and never finished): the uploaded list, the list with links, the rejected
    rows, the QR codes, as stored files and in the legacy upload folder. Never a batch that
    is queued or running; its recipients and their links stay. ``days`` of 0 keeps
    everything.

    Flushes only; ``checkpoint`` (the caller's commit) runs after every ``chunk`` batches, so
    a large backlog is not one transaction.
    """
    report = PurgeReport()
    if days <= 0:
        return report
    now = now or utcnow()
    expired = and_(Batch.status.not_in(PENDING),
                   func.coalesce(Batch.finished_at, Batch.created_at) < now - dt.timedelta(days))
    stored = or_(*(getattr(Batch, c).is_not(None) for c in _FILE_COLUMNS))
    legacy = _legacy_folders(legacy_root)
    last = 0
    while True:
        ids = list(session.scalars(select(Batch.id).where(expired, stored, Batch.id > last)
                                   .order_by(Batch.id).limit(chunk)))
        if not ids:
            break
        last = ids[-1]
        for batch_id in ids:
            _purge_one(session, batch_id, expired, days, now, legacy.pop(batch_id, None), report)
        session.flush()
        if checkpoint is not None:
            checkpoint()
    # Lists uploaded before files were stored in the database: only their folder is left.
    if legacy:
        old = list(session.scalars(select(Batch.id).where(expired, Batch.id.in_(list(legacy)))))
        for batch_id in old:
            _purge_one(session, batch_id, expired, days, now, legacy[batch_id], report)
        session.flush()
        if checkpoint is not None and old:
            checkpoint()
    if report.batches:
        log.info("retention (%s days): %s", days, report.summary())
    return report


def _legacy_folders(root: str | Path) -> dict[int, Path]:
    root = Path(root)
    if not root.is_dir():
        return {}
    return {int(p.name): p for p in root.iterdir() if p.is_dir() and p.name.isdigit()}


def _purge_one(session: Session, batch_id: int, expired: Any, days: int, now: dt.datetime,
               folder: Path | None, report: PurgeReport) -> None:
    row = session.execute(select(*(getattr(Batch, c) for c in _FILE_COLUMNS), Batch.options)
                          .where(Batch.id == batch_id)).one()
    *file_ids, options = row
    file_ids = [f for f in file_ids if f is not None]
    marked = {**(options or {}),
              "purged": {"at": now.isoformat(timespec="seconds"), "days": days}}
    # Conditional: a batch queued again meanwhile (an old upload minted at last) keeps its
    # files; the mark and the unlinking are one statement.
    changed = session.execute(
        update(Batch).where(Batch.id == batch_id, expired)
        .values(options=marked, **dict.fromkeys(_FILE_COLUMNS))
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return
    if file_ids:
        report.bytes += int(session.scalar(select(func.coalesce(func.sum(StoredFile.size), 0))
                                       .where(StoredFile.id.in_(file_ids))) or 0)
    for file_id in file_ids:
        files.delete(session, file_id)
    report.files += len(file_ids)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
    report.batches.append(batch_id)
