"""Catalog files imported from the console, as a job: upload, preview, the marketer's
choices, the run with its progress, the skipped rows.

The import's row (``CatalogImport``) says what to run and how far it got, so any worker can
run it and any web process can show it. Unlike the CLI (one transaction), a job commits its
products chunk by chunk with its progress: a shopper's visit is never kept waiting behind
one long write (SQLite has one writer), the console shows how far it got, and a worker killed
half-way leaves whole products behind; the next attempt (its lease, ``updated_at``, ran out)
reads the file again and goes on after the products committed. Importing the same file again
changes nothing, so a re-run is always safe.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import logging
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from purl import files
from purl.catalog import catalogs
from purl.catalog.imports import FORMATS, FeedError, Reason, detect_format
from purl.catalog.imports.common import N_, currency_code, slug, url_problem
from purl.catalog.imports.plain import ATTRIBUTE, FIELDS, column_map
from purl.catalog.store import ImportReport, read_catalog, store_catalog
from purl.models import Catalog, CatalogImport, User, utcnow
from purl.spreadsheet.reading import ReadError, read_columns, scan

log = logging.getLogger(__name__)

PENDING = ("queued", "running")
SKIPPED = "skipped.csv"
_table = CatalogImport.__table__


class TakenOver(RuntimeError):
    """This attempt lost its lease: another worker runs the import now."""


# ---------------------------------------------------------------- upload and preview


def store_upload(session: Session, stream: IO[bytes], filename: str, catalog_name: str,
                 catalog_title: str = "", user: User | None = None) -> CatalogImport:
    """Keep an uploaded catalog file for its preview (only flushes)."""
    stored = files.save(session, stream, filename or "catalog")
    found = CatalogImport(catalog_name=catalog_name, catalog_title=catalog_title[:200],
                          filename=(filename or "catalog")[:255], input_file_id=stored.id,
                          status="uploaded", created_by_id=user.id if user else None)
    session.add(found)
    session.flush()
    return found


def catalog_for(session: Session, name: str | None, new_title: str | None) -> tuple[str, str]:
    """(name, title) of the catalog an upload goes to: an existing one by name, or a new one
    named after its title (``"Röstwerk Berlin"`` -> ``roestwerk-berlin``); ValueError with a
    Reason when neither is given or the title makes no name."""
    title = (new_title or "").strip()
    if title:
        made = slug(title)
        if not made or not catalogs.NAME.match(made):
            raise ValueError(Reason(N_("“%(title)s” makes no catalog name: use letters or "
                                       "digits"), title=title))
        return made, title
    if name and name in catalogs.names(session):
        return name, ""
    raise ValueError(Reason(N_("Please choose a catalog, or name a new one.")))


@dataclass
class Preview:
    """What a catalog file looks like before it is imported."""

    format: str  # shopify, merchant or csv, as detected
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    lines: int = 0
    mapping: dict[str, str] = field(default_factory=dict)  # column -> field or ATTRIBUTE
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""
    encoding: str = ""


def _is_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def proposed_mapping(header: list[str]) -> dict[str, str]:
    """Each column's field as the plain format recognises it (German and English names)."""
    by_column = {column: target for target, column in column_map(header).items()}
    return {name: by_column.get(name, ATTRIBUTE) for name in header}


def preview(session: Session, found: CatalogImport, sheet: str | None = None,
            rows: int = 5) -> Preview:
    """The uploaded file's detected format, header and first rows; FeedError when it is no
    catalog file, OSError when it is no longer stored."""
    if found.input_file_id is None:
        raise FileNotFoundError("the uploaded file is no longer stored")
    with files.open_file(session, found.input_file_id) as stream:
        if _is_xml(stream.read(4096)):
            return Preview("merchant")
        stream.seek(0)
        try:
            scanned = scan(stream, sheet, rows=rows * 20 + 1)
        except ReadError as exc:
            raise FeedError(exc.message, **exc.params) from None
        try:
            encoding, delimiter, header = read_columns(scanned)
            text = io.TextIOWrapper(scanned.binary, encoding=encoding, errors="replace",
                                    newline="")
            reader = csv.reader(text, delimiter=delimiter)
            sample = list(itertools.islice((r for r in reader if any(r)), rows))
            text.detach()
        except ReadError as exc:
            raise FeedError(exc.message, **exc.params) from None
        finally:
            scanned.close(stream)
    fmt = detect_format(header)
    return Preview(fmt, header, sample, max(scanned.lines - 1, 0),
                   proposed_mapping(header) if fmt == "csv" else {}, scanned.sheets,
                   scanned.sheet, scanned.encoding)


# ---------------------------------------------------------------- the marketer's choices


@dataclass
class Options:
    """How to import: what the console's form asks (and the CLI's flags say)."""

    format: str = "auto"
    mapping: dict[str, str] = field(default_factory=dict)
    currency: str | None = None
    shop_url: str | None = None
    url_pattern: str | None = None
    sheet: str | None = None
    full: bool = False

    def stored(self) -> dict[str, Any]:
        return {"format": self.format, "mapping": self.mapping, "currency": self.currency,
                "shop_url": self.shop_url, "url_pattern": self.url_pattern,
                "sheet": self.sheet, "full": self.full}

    @classmethod
    def restored(cls, data: Mapping[str, Any] | None) -> Options:
        data = data or {}
        return cls(format=data.get("format") or "auto", mapping=dict(data.get("mapping") or {}),
                   currency=data.get("currency"), shop_url=data.get("shop_url"),
                   url_pattern=data.get("url_pattern"), sheet=data.get("sheet"),
                   full=bool(data.get("full")))


def check_options(seen: Preview, options: Options) -> list[Reason]:
    """What is wrong with the choices for this file, each naming the field or column; empty
    when it can be imported so."""
    problems: list[Reason] = []
    fmt = seen.format if options.format == "auto" else options.format
    if fmt not in FORMATS:
        problems.append(Reason(N_("Please choose a format from the list.")))
    try:
        currency_code(options.currency)
    except FeedError as exc:
        problems.append(Reason(N_("Currency %(value)r is not a three-letter code such as EUR "
                                  "or USD."), value=exc.reason.params.get("value")))
    if options.shop_url:
        problem = url_problem(options.shop_url)
        if problem is not None:
            problems.append(Reason(N_("Shop address %(value)r %(problem)s."),
                                   value=options.shop_url, problem=Reason(problem)))
    if options.url_pattern:
        problem = url_problem(options.url_pattern.replace("{sku}", "x"))
        if "{sku}" not in options.url_pattern:
            problems.append(Reason(N_("Link pattern %(value)r lacks {sku}, where each "
                                      "product's number goes."), value=options.url_pattern))
        elif problem is not None:
            problems.append(Reason(N_("Link pattern %(value)r %(problem)s."),
                                   value=options.url_pattern, problem=Reason(problem)))
    if fmt == "shopify" and not options.shop_url:
        problems.append(Reason(N_("A Shopify export has no product links: please enter the "
                                  "shop's address.")))
    if fmt == "csv":
        problems.extend(_mapping_problems(seen, options))
    return problems


def _mapping_problems(seen: Preview, options: Options) -> list[Reason]:
    problems: list[Reason] = []
    holder: dict[str, str] = {}
    for column in seen.header:
        target = options.mapping.get(column, ATTRIBUTE)
        if target != ATTRIBUTE and target not in FIELDS:
            problems.append(Reason(N_("Column “%(column)s”: please choose a field from the "
                                      "list."), column=column))
        elif target in holder:
            problems.append(Reason(N_("Columns “%(column)s” and “%(other)s” both hold the same "
                                      "field; choose it for one of them only."),
                                   column=holder[target], other=column))
        elif target != ATTRIBUTE:
            holder[target] = column
    for needed, text in (("sku", N_("No column holds the product number (Artikelnummer, SKU): "
                                    "choose one.")),
                         ("title", N_("No column holds the product name (Bezeichnung, Titel): "
                                      "choose one."))):
        if needed not in holder:
            problems.append(Reason(text))
    if "url" not in holder and not options.url_pattern and not options.shop_url:
        problems.append(Reason(N_("No column holds the product links: enter a link pattern "
                                  "(https://shop.example/artikel/{sku}) or the shop's "
                                  "address, whose search then finds each product.")))
    return problems


def queue(session: Session, found: CatalogImport, options: Options) -> bool:
    """Hand an uploaded (or failed) import to a worker with these choices: one conditional
    UPDATE (False: it is queued or running already); the caller commits, then enqueues."""
    done = session.execute(
        update(_table)
        .where(_table.c.id == found.id, _table.c.status.in_(("uploaded", "failed")))
        # Started over from the first product: another mapping may make other products
        # (what the last run stored shows as unchanged). Only a take-over goes on (``run``).
        .values(status="queued", options=options.stored(), error=None, updated_at=utcnow(),
                finished_at=None, rows_read=0, products_total=0, products_done=0, created=0,
                updated=0, unchanged=0, marked_unavailable=0, skipped=0, skipped_file_id=None)
    ).rowcount
    session.refresh(found)
    return bool(done)


# ---------------------------------------------------------------- the job


def claim(session: Session, import_id: int, lease_seconds: float) -> int | None:
    """queued → running, or running with a stale lease → running (a new attempt); committed.
    The attempt number, or None when it is not this worker's to run."""
    now = utcnow()
    seen = func.coalesce(_table.c.updated_at, _table.c.created_at)
    row = session.execute(
        update(_table)
        .where(_table.c.id == import_id,
               or_(_table.c.status == "queued",
                   and_(_table.c.status == "running",
                        seen < now - dt.timedelta(seconds=lease_seconds))))
        .values(status="running", updated_at=now,
                attempts=case((_table.c.status == "running", _table.c.attempts + 1),
                              else_=_table.c.attempts))
        .returning(_table.c.attempts)
    ).first()
    session.commit()
    return None if row is None else row[0]


def requeue_stale(session: Session, lease_seconds: float) -> list[int]:
    """Imports whose worker went silent (lease older than ``lease_seconds``), queued again;
    committed. The caller sends them to the queue."""
    now = utcnow()
    seen = func.coalesce(_table.c.updated_at, _table.c.created_at)
    ids = list(session.execute(
        update(_table)
        .where(_table.c.status.in_(PENDING), seen < now - dt.timedelta(seconds=lease_seconds))
        .values(status="queued", updated_at=now)
        .returning(_table.c.id)
    ).scalars())
    session.commit()
    for import_id in ids:
        log.warning("catalog import %s: its worker went silent; queued again", import_id)
    return ids


def _still_ours(session: Session, import_id: int, attempt: int, **values: Any) -> None:
    """Write progress (and renew the lease) if the import is still this attempt's; commits.
    TakenOver when another worker runs it now."""
    changed = session.execute(
        update(_table)
        .where(_table.c.id == import_id, _table.c.status == "running",
               _table.c.attempts == attempt)
        .values(updated_at=utcnow(), **values)
    ).rowcount
    if not changed:
        session.rollback()
        raise TakenOver(f"catalog import {import_id}")
    session.commit()


def run(session: Session, import_id: int, lease_seconds: float) -> str:
    """Run a queued import, or take over one whose worker went silent: ``done``, ``failed``
    or ``skipped`` (not this worker's to run)."""
    attempt = claim(session, import_id, lease_seconds)
    if attempt is None:
        log.info("catalog import %s: nothing to do here", import_id)
        return "skipped"
    try:
        with tempfile.TemporaryDirectory(prefix=f"purl-catalog-{import_id}-") as tmp:
            report = _run(session, import_id, attempt, Path(tmp))
    except TakenOver:
        log.warning("catalog import %s: attempt %s stopped, it runs elsewhere now", import_id,
                    attempt + 1)
        return "skipped"
    except FeedError as exc:
        session.rollback()
        _fail(session, import_id, attempt, exc.reason)
        return "failed"
    except Exception:  # noqa: BLE001 - whatever it was, the page must say so
        log.exception("catalog import %s failed", import_id)
        session.rollback()
        _fail(session, import_id, attempt, Reason(N_(
            "The import stopped because of an error on our side. The products imported "
            "before it are kept; please start it again.")))
        return "failed"
    log.info("catalog import %s: %s", import_id, report.summary())
    return "done"


def _fail(session: Session, import_id: int, attempt: int, reason: Reason) -> None:
    session.execute(
        update(_table).where(_table.c.id == import_id, _table.c.attempts == attempt)
        .values(status="failed", error=reason.stored(), finished_at=utcnow(),
                updated_at=utcnow()))
    session.commit()


def _run(session: Session, import_id: int, attempt: int, tmp: Path) -> ImportReport:
    found = session.get(CatalogImport, import_id)
    options = Options.restored(found.options)
    # Where an earlier attempt stopped: its counts go on from there.
    start = found.products_done
    before = (found.created, found.updated, found.unchanged)
    if found.input_file_id is None:
        raise FeedError(N_("the uploaded file is no longer stored: please upload it again"))
    source = files.copy_to(session, found.input_file_id, tmp / (Path(found.filename).name
                                                                or "catalog"))
    session.commit()

    def rows_read(count: int) -> None:
        _still_ours(session, import_id, attempt, rows_read=count)

    feed = read_catalog(source, options.format, shop_url=options.shop_url, sheet=options.sheet,
                        mapping=options.mapping or None, url_pattern=options.url_pattern,
                        currency=options.currency, progress=rows_read)
    catalog = session.scalar(select(Catalog).where(Catalog.name == found.catalog_name))
    if catalog is None:
        catalog = catalogs.ensure(session, found.catalog_name, found.catalog_title or None)
    start = min(start, len(feed.products))
    _still_ours(session, import_id, attempt, format=feed.format,
                products_total=len(feed.products), skipped=len(feed.skipped))

    def chunk_done(report: ImportReport, done: int) -> None:
        # The chunk's products and the progress that counts them, in one commit.
        _still_ours(session, import_id, attempt, products_done=done,
                    created=before[0] + report.created, updated=before[1] + report.updated,
                    unchanged=before[2] + report.unchanged)

    report = store_catalog(session, feed, catalog, full=options.full, start=start,
                           checkpoint=chunk_done)
    skipped = files.save(session, io.BytesIO(_skipped_csv(feed.skipped)), SKIPPED, "text/csv")
    _still_ours(session, import_id, attempt, status="done", finished_at=utcnow(),
                products_done=len(feed.products), created=before[0] + report.created,
                updated=before[1] + report.updated, unchanged=before[2] + report.unchanged,
                marked_unavailable=report.marked_unavailable, skipped=len(feed.skipped),
                skipped_file_id=skipped.id)
    return report


def _skipped_csv(skipped: list[tuple[int, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "reason", "msgid", "params"])
    for row, reason in skipped:
        kept = reason if isinstance(reason, Reason) else Reason(str(reason))
        writer.writerow([int(row), str(kept), kept.msgid, json.dumps(
            kept.stored()["params"], ensure_ascii=False, default=str)])
    return out.getvalue().encode("utf-8")


def skipped_rows(session: Session, found: CatalogImport, limit: int | None = None
                 ) -> Iterator[tuple[int, Reason]]:
    """A finished import's skipped rows with their reasons (translatable), in row order."""
    if found.skipped_file_id is None:
        return
    with files.open_file(session, found.skipped_file_id) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        reader = csv.reader(text)
        next(reader, None)
        for count, (row, reason, msgid, params) in enumerate(reader):
            if limit is not None and count >= limit:
                break
            try:
                yield int(row), Reason.restored({"msgid": msgid, "params": json.loads(params)})
            except (TypeError, ValueError):  # a reason that no longer fits: as it was said
                yield int(row), Reason(reason)
        text.detach()


def recent(session: Session, limit: int = 20) -> list[CatalogImport]:
    return list(session.scalars(
        select(CatalogImport).order_by(CatalogImport.created_at.desc(),
                                       CatalogImport.id.desc()).limit(limit)))
