"""Batch minting: a CRM or Excel export in, the same list with personal links out.

``generate`` is the one entry point the CLI (and later the console and the API) call. It streams
the input, so a million rows fit in a few hundred megabytes:

1. a first pass hashes the file, counts its lines and finds its encoding (UTF-8, UTF-8 with BOM,
   or Windows-1252 as Excel writes it);
2. the header is mapped to recipient fields (German and English names, ``--map`` overrides);
3. each row is validated; rejected rows go to ``OUT.errors.csv`` with their line number;
4. good rows are minted in chunks through the database's bulk path, ``INSERT … ON CONFLICT DO
   NOTHING`` against the unique (campaign, channel, identity) constraint, committed per chunk,
   so a re-run, an overlapping list, a run killed half-way or two runs at once never mint a
   second link for a person and never lose one;
5. each row is written out with ``purl_url``, ``purl_code``, ``salutation_line`` (and
   ``qr_file``), then a small manifest beside it.
"""

from __future__ import annotations

import base64
import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _quote
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from ..models import Batch, Campaign, Recipient, utcnow
from . import codes, tokens
from .salutation import parse_gender, salutation_line

log = logging.getLogger(__name__)

CHANNELS = ("email", "print", "sms", "whatsapp", "push")
FIELDS = ("external_id", "email", "first_name", "last_name", "gender", "title", "company", "seed")
# Column limits of the recipient table (external ids leave room for the identity prefix).
LIMITS = {"external_id": 120, "email": 254, "first_name": 100, "last_name": 100,
          "title": 50, "company": 200}
OUTPUT_COLUMNS = ("purl_url", "purl_code", "salutation_line")
QR_COLUMN = "qr_file"
IDENTITY_LIMIT = 128

# Header names as CRMs, newsletter tools and German spreadsheets write them, normalised by
# ``_header_key`` (lower case, letters and digits only).
HEADER_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(("kundennummer", "kundennr", "kdnr", "kundenid", "customerid",
                     "customernumber", "externalid", "contactid", "recordid", "id",
                     "crmid", "mitgliedsnummer", "memberid"), "external_id"),
    **dict.fromkeys(("email", "emailaddress", "emailadresse", "mail", "mailadresse",
                     "emailadr"), "email"),
    **dict.fromkeys(("vorname", "firstname", "givenname", "fname"), "first_name"),
    **dict.fromkeys(("nachname", "lastname", "surname", "familyname", "familienname",
                     "lname"), "last_name"),
    **dict.fromkeys(("anrede", "salutation", "gender", "geschlecht", "sex"), "gender"),
    **dict.fromkeys(("titel", "title", "akademischertitel"), "title"),
    **dict.fromkeys(("firma", "company", "companyname", "unternehmen", "organisation",
                     "organization", "firmenname"), "company"),
    **dict.fromkeys(("seed", "test", "testempfanger", "testempfaenger", "seedadresse"), "seed"),
}
_TRUE = frozenset(("1", "x", "ja", "j", "yes", "y", "true", "wahr", "seed", "test"))
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# What a spreadsheet would run as a formula (DESIGN.md: formula-safe CSV).
_RISKY = frozenset("=+-@\t\r")


class BatchError(ValueError):
    """The whole file cannot be read (not a single row): a message for the marketer."""


@dataclass
class Options:
    channel: str = "email"
    mapping: Mapping[str, str] = field(default_factory=dict)  # column -> field
    dry_run: bool = False
    qr_dir: Path | None = None
    qr_format: str = "svg"
    qr_zip: bool = False
    seed_emails: Iterable[str] = ()
    excel: bool = False
    chunk_size: int = 20_000
    errors_path: Path | None = None
    manifest_path: Path | None = None
    # A Batch row made beforehand (the console's upload) to run in, instead of a new one.
    batch_id: int | None = None


@dataclass
class Result:
    total_rows: int = 0
    minted: int = 0
    reused: int = 0
    rejected: int = 0
    batch_id: int | None = None
    encoding: str = ""
    delimiter: str = ","
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column
    attributes: list[str] = field(default_factory=list)
    output_path: Path | None = None
    errors_path: Path | None = None
    manifest_path: Path | None = None
    qr_path: Path | None = None
    dry_run: bool = False

    @property
    def usable(self) -> int:
        return self.minted + self.reused

    def summary(self) -> str:
        prefix = "dry run: would have " if self.dry_run else ""
        return f"{prefix}minted {self.minted}, reused {self.reused}, rejected {self.rejected}"


Progress = Callable[[int, int], None]


def identity_for(external_id: str, email: str, first: str, last: str, company: str,
                 extra: str = "") -> str:
    """Who a row is within a campaign: external id, else email, else the row's content."""
    if external_id:
        identity = "id:" + external_id
    elif email:
        identity = "email:" + email.lower()
    else:
        content = "\x1f".join((first, last, company)).strip().lower() + extra
        return "row:" + hashlib.sha256(content.encode()).hexdigest()[:40]
    if len(identity) > IDENTITY_LIMIT:  # fits the column, stays unique
        identity = identity[:identity.index(":") + 1] + hashlib.sha256(
            identity.encode()).hexdigest()
    return identity


def _header_key(name: str) -> str:
    name = name.strip().lower().replace("ä", "a").replace("ö", "o").replace("ü", "u")
    return re.sub(r"[^0-9a-zß]", "", name.replace("ß", "ss"))


def map_header(header: Sequence[str], overrides: Mapping[str, str]) -> dict[str, int]:
    """field -> column index. Overrides name a column (as written or normalised) and a field
    (or ``attribute`` to keep an auto-mapped column as a plain attribute)."""
    by_key = {}
    for index, name in enumerate(header):
        by_key.setdefault(name, index)
        by_key.setdefault(_header_key(name), index)
    mapping: dict[str, int] = {}
    forced: set[int] = set()
    for column, target in overrides.items():
        if target not in FIELDS and target not in ("attribute", "ignore"):
            raise BatchError(f"--map {column}={target}: unknown field {target!r} "
                             f"(fields: {', '.join(FIELDS)}, attribute, ignore)")
        index = by_key.get(column, by_key.get(_header_key(column)))
        if index is None:
            raise BatchError(f"--map {column}={target}: the header has no column {column!r} "
                             f"(columns: {', '.join(header)})")
        forced.add(index)
        if target not in ("attribute", "ignore"):
            mapping[target] = index
    for index, name in enumerate(header):
        target = HEADER_ALIASES.get(_header_key(name))
        if index not in forced and target and target not in mapping:
            mapping[target] = index
    return mapping


# --- reading -------------------------------------------------------------------------------


@dataclass
class _Input:
    binary: IO[bytes]
    sha256: str
    lines: int
    encoding: str
    name: str


def _scan(source: str | os.PathLike | IO[bytes]) -> _Input:
    """First pass: hash, count lines, and tell UTF-8 from Windows-1252 over the whole file."""
    if isinstance(source, (str, os.PathLike)):
        binary: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by generate
        name, copy = Path(source).name, None
    else:
        name = Path(getattr(source, "name", "upload.csv") or "upload.csv").name
        seekable = getattr(source, "seekable", lambda: False)()
        binary = source if seekable else tempfile.TemporaryFile()  # noqa: SIM115
        copy = None if seekable else binary
        if seekable:
            source.seek(0)
    reader = source if copy is not None else binary
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8, lines, head = True, 0, b""
    while block := reader.read(1 << 20):
        if copy is not None:
            copy.write(block)
        if not head:
            head = block[:3]
        digest.update(block)
        lines += block.count(b"\n")
        if utf8:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8 = False
    binary.seek(0)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif utf8:
        encoding = "utf-8"
    else:
        # Excel on Windows saves "CSV" in the ANSI code page, cp1252 in Germany.
        encoding = "cp1252"
    return _Input(binary, digest.hexdigest(), lines, encoding, name)


@dataclass
class Preview:
    """What the console shows before minting: how the file reads and how it will be mapped."""

    encoding: str
    delimiter: str
    header: list[str]
    mapping: dict[str, str]  # column -> field, as ``generate`` would map it
    rows: list[list[str]]
    lines: int


def preview(source: str | os.PathLike, rows: int = 5) -> Preview:
    """Read the file as ``generate`` will: encoding, delimiter, header mapping, first rows."""
    scanned = _scan(source)
    text = io.TextIOWrapper(scanned.binary, encoding=scanned.encoding, errors="replace",
                            newline="")
    try:
        first_line = text.readline()
        if not first_line.strip():
            raise BatchError("the file is empty: the first line must name the columns")
        delimiter = _sniff_delimiter(first_line)
        reader = csv.reader(itertools.chain([first_line], text), delimiter=delimiter)
        header = [h.strip() for h in next(reader)]
        found = map_header(header, {})
        sample = list(itertools.islice((r for r in reader if any(r)), rows))
    finally:
        text.close()
    by_index = {i: f for f, i in found.items()}
    return Preview(scanned.encoding, delimiter, header,
                   {name: by_index.get(i, "attribute") for i, name in enumerate(header)},
                   sample, max(scanned.lines - 1, 0))


def _sniff_delimiter(first_line: str) -> str:
    best, most = ",", 1
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        if len(cells) > most:
            best, most = delimiter, len(cells)
    return best


def _safe(cells: list[str]) -> list[str]:
    return ["'" + c if c[:1] in _RISKY else c for c in cells]


# --- minting -------------------------------------------------------------------------------

_COLUMNS = ("campaign_id", "batch_id", "public_id", "code", "identity", "channel", "external_id",
            "email", "first_name", "last_name", "gender", "title", "company", "attributes",
            "variant", "is_seed", "created_at")


class _Store:
    """The recipient table's bulk path on the session's own connection (SQLite or PostgreSQL)."""

    def __init__(self, session: Session, campaign: Campaign, channel: str) -> None:
        self.session = session
        self.raw = session.connection().connection.driver_connection
        self.campaign_id = campaign.id
        self.channel = channel
        dialect = session.get_bind().dialect
        self.postgres = dialect.name == "postgresql"
        mark = "%s" if self.postgres else "?"
        self.mark = mark
        self.insert_sql = (
            f"INSERT INTO recipient ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_COLUMNS))}) ON CONFLICT DO NOTHING"
        )
        created = Recipient.__table__.c.created_at.type.dialect_impl(dialect)
        # Stored exactly as the ORM would store it (SQLite keeps datetimes as text).
        self._stamp = created.bind_processor(dialect) or (lambda v: v)
        if not self.postgres:
            # Keep more index pages in memory, and checkpoint the WAL every 80 MB instead of
            # every 4 MB: a chunk of random keys dirties pages all over the indexes, and
            # copying them back after every commit was a third of a million-row batch.
            cur = self.cursor()
            cur.execute("PRAGMA cache_size = -65536")
            cur.execute("PRAGMA wal_autocheckpoint = 20000")

    def close(self) -> None:
        if not self.postgres:
            cur = self.cursor()
            cur.execute("PRAGMA wal_autocheckpoint = 1000")
            cur.execute("PRAGMA cache_size = -2000")

    def cursor(self) -> Any:
        return self.raw.cursor()

    def commit(self) -> None:
        # Straight to the driver: the helper thread has no Flask app context, and the
        # session keeps this very connection checked out until the batch is done.
        self.raw.commit()

    def now(self) -> Any:
        return self._stamp(utcnow())

    def insert(self, rows: list[tuple]) -> int:
        cur = self.cursor()
        if self.postgres:
            # COPY into a scratch table, then one INSERT … SELECT that skips known people.
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS purl_incoming (LIKE recipient) "
                "ON COMMIT DELETE ROWS"
            )
            cur.execute("ALTER TABLE purl_incoming ALTER COLUMN id DROP NOT NULL")
            with cur.copy(f"COPY purl_incoming ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"INSERT INTO recipient ({', '.join(_COLUMNS)}) "
                f"SELECT {', '.join(_COLUMNS)} FROM purl_incoming ON CONFLICT DO NOTHING"
            )
            count = cur.rowcount
            cur.execute("TRUNCATE purl_incoming")
            return count
        cur.executemany(self.insert_sql, rows)
        return cur.rowcount

    def existing(self, identities: Sequence[str]) -> dict[str, tuple[int, str, str | None]]:
        """identity -> (id, public_id, code) of this campaign's recipients on this channel."""
        found: dict[str, tuple[int, str, str | None]] = {}
        cur = self.cursor()
        for start in range(0, len(identities), 5000):
            part = identities[start:start + 5000]
            cur.execute(
                f"SELECT identity, id, public_id, code FROM recipient WHERE campaign_id = "
                f"{self.mark} AND channel = {self.mark} AND identity IN "
                f"({', '.join([self.mark] * len(part))})",
                [self.campaign_id, self.channel, *part],
            )
            for identity, rid, public_id, code in cur.fetchall():
                found[identity] = (rid, public_id, code)
        return found

    def progress(self, batch_id: int, result: Result, processed: int) -> None:
        self.cursor().execute(
            f"UPDATE batch SET processed_rows = {self.mark}, minted = {self.mark}, "
            f"reused = {self.mark}, rejected = {self.mark} WHERE id = {self.mark}",
            (processed, result.minted, result.reused, result.rejected, batch_id),
        )


def _public_ids(count: int) -> list[str]:
    # 12 random bytes encode to exactly 16 URL-safe characters: one draw for the whole chunk.
    text = base64.urlsafe_b64encode(os.urandom(12 * count)).decode("ascii")
    return [text[i:i + 16] for i in range(0, 16 * count, 16)]


# A good row waiting for its chunk: (cells, identity, (ext, email, first, last, gender, title,
# company, attributes JSON, is_seed)). A plain tuple: a million of them must be cheap.
_Pending = tuple[list[str], str, tuple]


def generate(
    session: Session,
    campaign: Campaign,
    source: str | os.PathLike | IO[bytes],
    out: str | os.PathLike,
    *,
    keys: Sequence[str],
    base_url: str,
    options: Options | None = None,
    progress: Progress | None = None,
) -> Result:
    """Mint (or reuse) a link for every good row of ``source``; write ``out`` and its errors.

    Commits per chunk (so it owns the session's transaction); raises BatchError when the file
    cannot be used at all.
    """
    options = options or Options()
    if isinstance(session, scoped_session):
        # The helper thread needs the session itself, not the per-context proxy.
        session = session()
    if options.channel not in CHANNELS:
        raise BatchError(f"unknown channel {options.channel!r} (channels: {', '.join(CHANNELS)})")
    out = Path(out)
    errors_path = options.errors_path or out.with_name(out.stem + ".errors.csv")
    manifest_path = options.manifest_path or out.with_name(out.stem + ".manifest.json")
    started = utcnow()
    scanned = _scan(source)
    try:
        return _generate(session, campaign, scanned, out, errors_path, manifest_path, keys,
                         base_url, options, progress, started)
    finally:
        if isinstance(source, (str, os.PathLike)) or scanned.binary is not source:
            scanned.binary.close()


def _generate(session: Session, campaign: Campaign, scanned: _Input, out: Path,
              errors_path: Path, manifest_path: Path, keys: Sequence[str], base_url: str,
              options: Options, progress: Progress | None, started: dt.datetime) -> Result:
    text = io.TextIOWrapper(scanned.binary, encoding=scanned.encoding, errors="replace",
                            newline="")
    first_line = text.readline()
    if not first_line.strip():
        text.detach()
        raise BatchError("the file is empty: the first line must name the columns")
    delimiter = _sniff_delimiter(first_line)
    reader = csv.reader(itertools.chain([first_line], text), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    width = len(header)
    mapping = map_header(header, options.mapping)
    if not ({"external_id", "email", "first_name", "last_name", "company"} & mapping.keys()):
        text.detach()
        raise BatchError(
            "no column holds a customer id, an email address or a name "
            f"(columns: {', '.join(header)}); name one with --map COLUMN=FIELD"
        )
    result = Result(encoding=scanned.encoding, delimiter=delimiter, dry_run=options.dry_run,
                    mapping={f: header[i] for f, i in mapping.items()},
                    errors_path=errors_path, manifest_path=manifest_path)
    mapped = set(mapping.values()) | {
        i for i, name in enumerate(header) if options.mapping.get(name) == "ignore"}
    attribute_columns = [(header[i], i) for i in range(width)
                         if i not in mapped and header[i] not in OUTPUT_COLUMNS + (QR_COLUMN,)]
    result.attributes = [name for name, _ in attribute_columns]
    pick = itemgetter(*(mapping.get(f, -1) for f in FIELDS))
    column_of = {f: header[i] for f, i in mapping.items()}
    seeds = {e.strip().lower() for e in options.seed_emails if e.strip()}
    # Excel wrote it (BOM or its ANSI code page), or will open it: UTF-8 with a BOM.
    bom = scanned.encoding in ("utf-8-sig", "cp1252") or options.excel
    out_encoding = "utf-8-sig" if bom else "utf-8"
    # A re-run on our own output replaces our columns instead of adding them twice.
    extra_columns = list(OUTPUT_COLUMNS) + ([QR_COLUMN] if options.qr_dir else [])
    replaced = [header.index(c) for c in extra_columns if c in header]
    appended = [c for c in extra_columns if c not in header]
    out_header = header + appended
    targets = [header.index(c) if c in header else width + appended.index(c)
               for c in extra_columns]
    dir_of_out = out.parent
    variants = [v["key"] for v in (campaign.variants or []) if v.get("key")]
    sign = tokens.signer_for_batch(keys)
    link_base = (campaign.base_url or base_url).rstrip("/") + "/p/"
    locale, tone = campaign.locale, campaign.tone

    batch_id = None
    if not options.dry_run:
        batch = session.get(Batch, options.batch_id) if options.batch_id else None
        if batch is None:
            batch = Batch(campaign_id=campaign.id, filename=scanned.name[:255])
            session.add(batch)
        batch.input_sha256, batch.channel = scanned.sha256, options.channel
        batch.status, batch.total_rows = "running", max(scanned.lines - 1, 0)
        session.commit()
        batch_id = result.batch_id = batch.id
    ordinal = session.scalar(
        select(func.count()).where(Recipient.campaign_id == campaign.id)) or 0
    store = _Store(session, campaign, options.channel)

    qr = None
    if options.qr_dir and not options.dry_run:
        from .qr import QrWriter

        qr = QrWriter(Path(options.qr_dir), options.qr_format, options.qr_zip)
        result.qr_path = qr.path

    out_tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    err_tmp = errors_path.with_name(f".{errors_path.name}.{os.getpid()}.tmp")
    # Hashes of the identities so far: duplicates within the file. A set of a million ints
    # is 70 MB; a dict naming each one's line would be 110 MB, too much for the budget.
    seen: set[int] = set()
    total = max(scanned.lines - 1, 1)
    processed = 0
    out_file = None if options.dry_run else open(out_tmp, "w", encoding=out_encoding, newline="")
    err_file = open(err_tmp, "w", encoding=out_encoding, newline="")
    try:
        writer = csv.writer(out_file, delimiter=delimiter) if out_file else None
        if writer:
            writer.writerow(_safe(out_header))
        errors = csv.writer(err_file, delimiter=delimiter)
        errors.writerow(_safe(["line", "reason", *header]))
        pending: list[_Pending] = []
        minter = None
        if not options.dry_run:
            minter = _Minter(store, result, batch_id, ordinal, variants, lambda chunk: _write_chunk(
                chunk, result, sign, link_base, locale, tone, writer, targets, replaced,
                len(out_header), qr, dir_of_out), need_ids=qr is not None)

        def flush() -> None:
            if pending:
                if minter is None:  # dry run: only ask who is there already
                    known = store.existing([p[1] for p in pending])
                    result.reused += len(known)
                    result.minted += len(pending) - len(known)
                else:
                    minter.submit(pending, processed)
            pending.clear()
            if progress:
                progress(processed, max(total, processed))

        line = 1
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cells):
                continue  # blank lines and Excel's trailing ";;;;" rows carry no one
            processed += 1
            reason = None
            if len(cells) != width:
                if len(cells) > width and not any(cells[width:]):
                    del cells[width:]
                elif len(cells) < width:
                    cells.extend([""] * (width - len(cells)))
                else:
                    reason = f"has {len(cells)} cells but the header has {width}"
            if reason is None:
                cells.append("")  # index -1: the value of an unmapped field
                values = [v.strip() for v in pick(cells)]
                cells.pop()
                reason = _check(values, column_of)
            if reason is None:
                ext, email, first, last, gender, title, company, seed = values
                extra = ""
                attributes = {name: cells[i] for name, i in attribute_columns if cells[i]}
                if not (ext or email):
                    if not (first or last or company):
                        reason = "no usable identity: no customer id, email address or name"
                    elif attributes:  # two Anna Müllers at different addresses are two people
                        extra = "\x1f" + "\x1f".join(f"{k}={v}" for k, v in attributes.items())
            if reason is None:
                identity = identity_for(ext, email, first, last, company, extra)
                key = hash(identity)
                if key in seen:
                    reason = _duplicate(identity, ext, email)
                else:
                    seen.add(key)
            if reason is not None:
                result.rejected += 1
                errors.writerow(_safe([str(start), reason, *cells]))
                continue
            is_seed = (seed.lower() in _TRUE) or (email.lower() in seeds if email else False)
            pending.append((cells, identity, (
                ext or None, email or None, first or None, last or None,
                parse_gender(gender.split()[0]) if gender else None, title or None,
                company or None, _json_object(attributes) if attributes else "{}", is_seed)))
            if len(pending) >= options.chunk_size:
                flush()
        flush()
        if minter is not None:
            minter.drain()
            store.progress(batch_id, result, processed)
            store.commit()
    except BaseException as exc:
        if minter is not None:
            minter.abort()
        for f in (out_file, err_file):
            if f:
                f.close()
        for tmp in (out_tmp, err_tmp):
            tmp.unlink(missing_ok=True)
        if qr:
            qr.abort()
        if batch_id is not None:
            session.rollback()
            # Committed chunks stay (a re-run reuses them); the console shows what happened.
            failed = session.get(Batch, batch_id)
            if failed is not None:
                failed.status, failed.error = "failed", f"{type(exc).__name__}: {exc}"[:2000]
                session.commit()
        raise
    finally:
        text.detach()
        store.close()
    if out_file:
        out_file.close()
        os.replace(out_tmp, out)
        result.output_path = out
    err_file.close()
    os.replace(err_tmp, errors_path)
    if qr:
        qr.close()
    result.total_rows = processed
    if batch_id is not None:
        batch = session.get(Batch, batch_id)
        session.refresh(batch)
        batch.status = "done"
        batch.total_rows = processed
        batch.processed_rows = processed
        batch.minted, batch.reused, batch.rejected = result.minted, result.reused, result.rejected
        batch.finished_at = utcnow()
        session.commit()
    _write_manifest(manifest_path, campaign, scanned, result, options, keys, started)
    log.info("batch %s for campaign %s: %s", batch_id, campaign.slug, result.summary())
    return result


def _duplicate(identity: str, external_id: str, email: str) -> str:
    if identity.startswith("id:"):
        return f"duplicate of an earlier row: same customer id {external_id!r}"
    if identity.startswith("email:"):
        return f"duplicate of an earlier row: same email address {email!r}"
    return "duplicate of an earlier row: same name and details"


_LIMITED = [(FIELDS.index(name), limit) for name, limit in LIMITS.items()]


def _check(values: list[str], column_of: Mapping[str, str]) -> str | None:
    for index, limit in _LIMITED:
        if len(values[index]) > limit:
            return f"{column_of[FIELDS[index]]} is longer than {limit} characters"
    email = values[1]
    if email and not _EMAIL.fullmatch(email):
        return f"{column_of['email']} {email!r} is not a valid email address"
    return None


def _json_object(attributes: Mapping[str, str]) -> str:
    # json.dumps costs more than the rest of a row; strings only need the C-level escaper.
    return "{" + ",".join(f"{_quote(k)}:{_quote(v)}" for k, v in attributes.items()) + "}"


@dataclass
class _Chunk:
    pending: list[_Pending]
    rows: list[tuple]
    minted: dict[str, tuple[str, str]]  # identity -> (public id, code) we drew for it
    processed: int
    known: dict[str, tuple[int, str, str | None]] | None = None


class _Minter:
    """Mints chunk after chunk, the database's half overlapping the next chunk's Python half.

    sqlite3 and psycopg release the GIL while the database works, so on two cores a chunk's
    INSERT and commit run in a helper thread while the main thread signs and writes the
    previous chunk. Only one thread touches the session at a time.
    """

    def __init__(self, store: _Store, result: Result, batch_id: int | None, ordinal: int,
                 variants: list[str], finish: Callable[[_Chunk], None], need_ids: bool) -> None:
        self.store = store
        self.result = result
        self.batch_id = batch_id
        self.ordinal = ordinal
        self.variants = variants
        self.finish = finish
        self.need_ids = need_ids
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="purl-batch")
        self.in_flight: tuple[_Chunk, Future] | None = None

    def _rows(self, chunk: _Chunk, todo: list[_Pending]) -> list[tuple]:
        store, variants, n_variants = self.store, self.variants, len(self.variants)
        campaign_id, channel, batch_id, now = (store.campaign_id, store.channel, self.batch_id,
                                               store.now())
        rows = []
        for k, (p, public_id, code) in enumerate(
                zip(todo, _public_ids(len(todo)), codes.new_codes(len(todo)), strict=True)):
            ext, email, first, last, gender, title, company, attributes, is_seed = p[2]
            variant = variants[(self.ordinal + k) % n_variants] if n_variants else None
            rows.append((campaign_id, batch_id, public_id, code, p[1], channel, ext,
                         email, first, last, gender, title, company, attributes, variant,
                         is_seed, now))
            chunk.minted[p[1]] = (public_id, code)
        # Round-robin variants in minting order keep an A/B split even.
        self.ordinal += len(rows)
        return rows

    def submit(self, pending: list[_Pending], processed: int) -> None:
        chunk = _Chunk(list(pending), [], {}, processed)
        chunk.rows = self._rows(chunk, chunk.pending)
        previous = self.in_flight
        if previous is not None:
            previous[1].result()
        self.in_flight = (chunk, self.pool.submit(self._store, chunk))
        if previous is not None:
            self.finish(previous[0])

    def drain(self) -> None:
        if self.in_flight is not None:
            chunk, future = self.in_flight
            self.in_flight = None
            future.result()
            self.finish(chunk)
        self.pool.shutdown()

    def abort(self) -> None:
        if self.in_flight is not None:
            try:
                self.in_flight[1].result()
            except Exception:  # noqa: BLE001 - the first error is the one being raised
                pass
            self.in_flight = None
        self.pool.shutdown()

    def _store(self, chunk: _Chunk) -> None:
        """In the helper thread: insert, learn who was there already, commit the chunk."""
        store = self.store
        identities = [p[1] for p in chunk.pending]
        rows, todo = chunk.rows, chunk.pending
        for _attempt in range(3):
            inserted = store.insert(rows)
            if inserted == len(rows) and todo is chunk.pending and not self.need_ids:
                break
            chunk.known = store.existing(identities)
            # A random id that happened to collide leaves its row out: draw again for it.
            todo = [p for p in todo if p[1] not in chunk.known]
            if not todo:
                break
            rows = self._rows(chunk, todo)
        else:
            raise RuntimeError("could not draw unique random ids for a chunk")
        if self.batch_id is not None:
            store.progress(self.batch_id, self.result, chunk.processed)
        store.commit()


def _write_chunk(chunk: _Chunk, result: Result, sign: Callable[[str], str], link_base: str,
                 locale: str, tone: str, writer: Any, targets: list[int], replaced: list[int],
                 out_width: int, qr: Any, dir_of_out: Path) -> None:
    """The chunk's output rows (and QR codes), once its rows are safely committed."""
    known, minted = chunk.known, chunk.minted
    out_rows = []
    qr_jobs = []
    for cells, identity, values in chunk.pending:
        if known is None:
            public_id, code = minted[identity]
            rid = None
            result.minted += 1
        else:
            rid, public_id, code = known[identity]
            if minted.get(identity, (None,))[0] == public_id:
                result.minted += 1
            else:
                result.reused += 1
        url = link_base + sign(public_id)
        _e, _m, first, last, gender, title, *_rest = values
        row = _safe(cells)
        extra = [url, f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}" if code else "",
                 salutation_line(first, last, gender, title, locale, tone)]
        if qr is not None:
            qr_jobs.append((rid, url))
            extra.append(qr.reference(rid, dir_of_out))
        if replaced:
            row.extend([""] * (out_width - len(row)))
            for target, value in zip(targets, extra, strict=True):
                row[target] = value
        else:
            row.extend(extra)
        out_rows.append(row)
    if qr is not None:
        qr.draw(qr_jobs)
    writer.writerows(out_rows)


def _write_manifest(path: Path, campaign: Campaign, scanned: _Input, result: Result,
                    options: Options, keys: Sequence[str], started: dt.datetime) -> None:
    manifest = {
        "campaign": campaign.slug,
        "batch_id": result.batch_id,
        "input": {"file": scanned.name, "sha256": scanned.sha256, "encoding": result.encoding,
                  "delimiter": result.delimiter},
        "channel": options.channel,
        "dry_run": options.dry_run,
        "mapping": result.mapping,
        "attributes": result.attributes,
        "counts": {"rows": result.total_rows, "minted": result.minted, "reused": result.reused,
                   "rejected": result.rejected},
        "output": str(result.output_path) if result.output_path else None,
        "errors": str(result.errors_path),
        "qr": str(result.qr_path) if result.qr_path else None,
        "key_id": tokens.key_id(keys),
        "started_at": started.isoformat(),
        "finished_at": utcnow().isoformat(),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
