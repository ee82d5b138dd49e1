"""Batch minting: a CRM or Excel export in, the same list with personal links out.

``generate`` is the one entry point the CLI, the console's jobs and the API call. It streams
the input, so a million rows fit in a few hundred megabytes:

1. a first pass hashes the file, counts its lines and finds what it is (``reading.scan``):
   UTF-8 (with or without BOM), a code page (Windows-1252 as Excel writes it), UTF-16 or a
   workbook (both converted once to UTF-8), or not a list at all (refused);
2. the header is mapped to recipient fields (German and English names, ``--map`` overrides);
3. the rest is cut into blocks of whole records, and every core turns blocks into checked rows
   with fresh links and finished output lines (``rows.prepare``); rejected rows go to
   ``OUT.errors.csv`` with their row number as a spreadsheet shows it (the main process fills
   it in: only it knows how many records the blocks before held);
4. the main process inserts each block's rows through the database's bulk path, ``INSERT …
   ON CONFLICT DO NOTHING`` against the unique (campaign, channel, identity) constraint,
   committing every ``commit_rows``, so a re-run, an overlapping list, a run killed half-way or
   two runs at once never mint a second link for a person and never lose one. A row that was
   there already keeps its link: its line is rewritten with it;
5. the lines (``purl_url``, ``purl_code``, ``salutation_line`` and ``qr_file`` added) are
   written in input order, then a small manifest beside them, which states whether
   ``minted + reused + rejected`` came to the rows read.

Longer than most modules here, on purpose: ``generate`` and ``_Run`` (its main-process half)
share one plan, one store and one result, and read best side by side.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gc
import io
import json
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session, scoped_session

from purl.analytics import link_tally
from purl.campaigns import offers
from purl.campaigns.records import link_base as campaign_link_base
from purl.campaigns.variants import pick_variant, variant_keys
from purl.links import codes, tokens
from purl.links.batch.columns import (
    CHANNELS,
    OUTPUT_COLUMNS,
    QR_COLUMN,
    BatchError,
    map_header,
    private_columns,
)
from purl.links.batch.rows import (
    FIELDS,
    QR_MARK,
    ROW_MARK,
    WARNINGS_KEPT,
    Plan,
    Prepared,
    Row,
    duplicate_reason,
    prepare,
    reasons_in,
    relink,
)
from purl.links.batch.store import Store
from purl.links.identity import IDENTIFYING
from purl.models import Batch, Campaign, utcnow
from purl.spreadsheet import safe_cell, safe_row
from purl.spreadsheet.reading import N_, Input, read_columns, record_blocks, row_label, scan
from purl.webhooks import outbox

log = logging.getLogger(__name__)

NO_IDENTITY = N_("no column holds a customer number, an email address or a name (the columns: "
                 "%(columns)s): say which column identifies each person, in the console by "
                 "choosing its field below a column, with purl generate by --map "
                 "COLUMN=external_id (or email, first_name, last_name)")
EMPTY = N_("the file has its header but no rows below it: put one person per row under the "
           "column names, then upload it again")


class TakenOver(Exception):  # noqa: N818 - a state, not a mistake
    """This run's batch is run elsewhere now (a job whose lease ran out): stop, and leave the
    batch to the run that has it."""


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
    sheet: str | None = None  # a workbook's sheet (name or number from 1); None: the first
    chunk_size: int = 10_000  # rows per block that one worker reads and mints
    commit_rows: int | None = None  # rows per commit (and progress report); 10 blocks if None
    workers: int | None = None  # processes for the blocks; None: every core, for big files
    errors_path: Path | None = None
    manifest_path: Path | None = None
    # A Batch row made beforehand (the console's upload) to run in, instead of a new one.
    batch_id: int | None = None
    # Called with the batch just before the commit that marks it done (the results are
    # written by then), so what it stores (the files a job keeps) is committed with it.
    on_done: Callable[[Session, Batch, Result], None] | None = None


@dataclass
class Result:
    total_rows: int = 0
    minted: int = 0
    reused: int = 0
    updated: int = 0  # of the reused: people whose details the list corrected
    rejected: int = 0
    warned: int = 0  # names worth a look (minted all the same): all counted ...
    warnings: list[dict] = field(default_factory=list)  # ... the first 200 kept (row, column,
    # value, reason)
    batch_id: int | None = None
    encoding: str = ""
    delimiter: str = ","
    mapping: dict[str, str] = field(default_factory=dict)  # field -> column
    attributes: list[str] = field(default_factory=list)
    # Columns left out as IP or location data (columns.PRIVATE_COLUMNS): mapped, they stay.
    ignored: list[str] = field(default_factory=list)
    output_path: Path | None = None
    errors_path: Path | None = None
    manifest_path: Path | None = None
    qr_path: Path | None = None
    dry_run: bool = False

    @property
    def accounted(self) -> bool:
        """Every record of the input is linked or reported."""
        return self.minted + self.reused + self.rejected == self.total_rows

    @property
    def usable(self) -> int:
        return self.minted + self.reused

    def summary(self) -> str:
        prefix = "dry run: would have " if self.dry_run else ""
        updated = f" (updated {self.updated})" if self.reused else ""
        warned = f", warnings {self.warned}" if self.warned else ""
        return (f"{prefix}minted {self.minted}, reused {self.reused}{updated}, "
                f"rejected {self.rejected}{warned}")


Progress = Callable[[int, int], None]
IN_PROCESS_AHEAD = 3  # blocks prepared before the first is inserted, when there are no workers


# --- reading -------------------------------------------------------------------------------




# --- the blocks, on every core -------------------------------------------------------------

_worker: tuple[Plan, Callable[[str], str]] | None = None


def _start_worker(plan: Plan) -> None:
    global _worker
    _worker = (plan, tokens.signer_for_batch(plan.keys))
    # A block's rows are lists and tuples of strings, freed by reference counting as soon as
    # the block is sent: the cycle collector found nothing in them, yet walked every one of
    # them again and again, a third of a block's time. freeze() keeps it off what the worker
    # inherited from the main process too.
    gc.freeze()
    gc.disable()
    # The main process's inserts are the batch's critical path: when the cores are all
    # busy, the workers give way (they are ahead anyway, with blocks queued).
    os.nice(10)


def _prepare_in_worker(block: bytes, first_line: int) -> Prepared:
    assert _worker is not None
    return prepare(_worker[0], _worker[1], block, first_line).pack()


class _Done:
    """A block prepared in this process, looking like a pool's pending result."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared

    def get(self) -> Prepared:
        return self.prepared


def _worker_count(options: Options, scanned: Input, block_bytes: int) -> int:
    if options.workers is not None:
        return options.workers
    if "fork" not in multiprocessing.get_all_start_methods() or scanned.size < 3 * block_bytes:
        return 0  # a few blocks: starting processes would cost more than it saves
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
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
    scanned = scan(source, options.sheet)
    try:
        return _generate(session, campaign, scanned, out, errors_path, manifest_path, keys,
                         base_url, options, progress, started)
    finally:
        scanned.close(source)



def _generate(session: Session, campaign: Campaign, scanned: Input, out: Path,
              errors_path: Path, manifest_path: Path, keys: Sequence[str], base_url: str,
              options: Options, progress: Progress | None, started: dt.datetime) -> Result:
    encoding, delimiter, header = read_columns(scanned)
    width = len(header)
    mapping = map_header(header, options.mapping)
    if not (set(IDENTIFYING) & mapping.keys()):
        raise BatchError(NO_IDENTITY, columns=", ".join(header))
    result = Result(encoding=scanned.encoding, delimiter=delimiter, dry_run=options.dry_run,
                    mapping={f: header[i] for f, i in mapping.items()},
                    errors_path=errors_path, manifest_path=manifest_path)
    ignored = private_columns(header, options.mapping)
    result.ignored = [header[i] for i in ignored]
    mapped = set(mapping.values()) | set(ignored) | {
        i for i, name in enumerate(header) if options.mapping.get(name) == "ignore"}
    ours = OUTPUT_COLUMNS + offers.OFFER_COLUMNS + (QR_COLUMN,)
    attribute_columns = [(header[i], i) for i in range(width)
                         if i not in mapped and header[i] not in ours]
    result.attributes = [name for name, _ in attribute_columns]
    # Excel wrote it (BOM, its ANSI code page, UTF-16, a workbook), or will open it: UTF-8
    # with a BOM.
    bom = scanned.encoding != "utf-8" or options.excel
    out_encoding = "utf-8-sig" if bom else "utf-8"
    # A re-run on our own output replaces our columns instead of adding them twice.
    offer_rules = tuple(offers.rules_of(campaign))
    extra_columns = (list(OUTPUT_COLUMNS) + (list(offers.OFFER_COLUMNS) if offer_rules else [])
                     + ([QR_COLUMN] if options.qr_dir else []))
    replaced = [c for c in extra_columns if c in header]
    appended = [c for c in extra_columns if c not in header]
    out_header = header + appended
    targets = [header.index(c) if c in header else width + appended.index(c)
               for c in extra_columns]
    variants = variant_keys(campaign)
    link_base = campaign_link_base(campaign, base_url) + "/p/"
    plan = Plan(
        encoding=encoding, delimiter=delimiter, width=width, header=tuple(header),
        picks=tuple(mapping.get(f, -1) for f in FIELDS),
        column_of={f: header[i] for f, i in mapping.items()},
        attribute_columns=tuple(attribute_columns),
        seeds=frozenset(e.strip().lower() for e in options.seed_emails if e.strip()),
        keys=tuple(keys), link_base=link_base, locale=campaign.locale, tone=campaign.tone,
        out_width=len(out_header), targets=tuple(targets) if replaced else (),
        qr=bool(options.qr_dir) and not options.dry_run, mint=not options.dry_run,
        offer_rules=offer_rules, own_offer=offers.own_offer(campaign),
    )

    batch_id = None
    if not options.dry_run:
        batch = session.get(Batch, options.batch_id) if options.batch_id else None
        if batch is None:
            batch = Batch(campaign_id=campaign.id, filename=scanned.name[:255])
            session.add(batch)
        batch.input_sha256, batch.channel = scanned.sha256, options.channel
        batch.status, batch.total_rows = "running", max(scanned.lines - 1, 0)
        batch.updated_at = utcnow()
        session.commit()
        batch_id = result.batch_id = batch.id
    ordinal = link_tally.links_minted(session, campaign.id)
    store = Store(session, campaign, options.channel, batch_id, bool(variants),
                  held_fields(plan),
                  # A column left out now (IP data) drops what an earlier run kept of it.
                  [name for i, name in enumerate(header) if i not in mapping.values()])
    if store.postgres and plan.mint and not plan.qr and not variants:
        plan = dataclasses.replace(plan, copy_shared=store.shared())

    qr = None
    if plan.qr:
        from purl.links.qr import QrWriter

        qr = QrWriter(Path(options.qr_dir), options.qr_format, options.qr_zip)
        result.qr_path = qr.path

    out_tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    err_tmp = errors_path.with_name(f".{errors_path.name}.{os.getpid()}.tmp")
    out_file = None if options.dry_run else open(out_tmp, "w", encoding=out_encoding, newline="")
    err_file = open(err_tmp, "w", encoding=out_encoding, newline="")
    average = scanned.size // max(scanned.lines, 1) or 1
    block_bytes = max(options.chunk_size * average, 1)
    workers = _worker_count(options, scanned, block_bytes)
    pool = None
    try:
        if out_file:
            csv.writer(out_file, delimiter=delimiter).writerow(safe_row(out_header))
        csv.writer(err_file, delimiter=delimiter).writerow(safe_row(["line", "reason", *header]))
        run = _Run(store, result, plan, out_file, err_file, qr, out.parent, variants, ordinal,
                   options.commit_rows or 10 * options.chunk_size,
                   progress, max(scanned.lines - 1, 1))
        if workers:
            pool = multiprocessing.get_context("fork").Pool(workers, _start_worker, (plan,))
        pending: deque[Any] = deque()
        # Keep every worker busy, and no more blocks in memory than that takes. In this
        # process alone, a few blocks are prepared before they are inserted: the write
        # transaction (SQLite's lock on the whole database) then lasts for the inserts only,
        # not for the next block's preparing too, so two API calls at once overlap.
        ahead = 2 * workers if pool is not None else IN_PROCESS_AHEAD
        for block, first in record_blocks(scanned.binary, delimiter, block_bytes,
                                          scanned.first_line):
            if pool is None:
                pending.append(_Done(prepare(plan, run.sign, block, first)))
            else:
                pending.append(pool.apply_async(_prepare_in_worker, (block, first)))
            while len(pending) > ahead:
                run.take(run.wait(pending.popleft()))
        while pending:
            run.take(run.wait(pending.popleft()))
        if not run.processed:
            raise BatchError(EMPTY)
        run.finish()
    except BaseException as exc:
        if pool is not None:
            pool.terminate()
        for f in (out_file, err_file):
            if f:
                f.close()
        for tmp in (out_tmp, err_tmp):
            tmp.unlink(missing_ok=True)
        if qr:
            qr.abort()
        if batch_id is not None:
            mark_failed(session, batch_id, exc)
        raise
    finally:
        store.close()
    if pool is not None:
        pool.close()
        pool.join()
    if out_file:
        out_file.close()
        os.replace(out_tmp, out)
        result.output_path = out
    err_file.close()
    os.replace(err_tmp, errors_path)
    if qr:
        qr.close()
    result.total_rows = run.processed
    if not result.accounted:
        # Never expected: every record is read, then minted, reused or rejected. Said loudly,
        # in the log and the manifest, instead of a count that quietly does not add up.
        log.error("batch %s does not add up: %s of %s rows", batch_id, result.summary(),
                  result.total_rows)
    if batch_id is not None:
        batch = session.get(Batch, batch_id)
        session.refresh(batch)
        batch.status = "done"
        batch.total_rows = run.processed
        batch.processed_rows = run.processed
        batch.minted, batch.reused, batch.rejected = result.minted, result.reused, result.rejected
        batch.updated = result.updated
        batch.warnings = warnings_of(result)
        batch.finished_at = batch.updated_at = utcnow()
        if options.on_done is not None:
            options.on_done(session, batch, result)
        outbox.batch_finished(session, batch, campaign)
        session.commit()
    _write_manifest(manifest_path, campaign, scanned, result, options, keys, started)
    log.info("batch %s for campaign %s: %s", batch_id, campaign.slug, result.summary())
    return result


# What the list says about a person that a re-run corrects; not ``is_seed``, which
# --seed-emails sets as much as the list does.
_CORRECTABLE = ("external_id", "email", "first_name", "last_name", "gender", "title", "company")


def held_fields(plan: Plan) -> list[str]:
    """The recipient columns this list has a say in: the mapped fields (the title too when a
    salutation column is mapped, as it may hold one), and the attributes when it has any."""
    mapped = {f for f, pick in zip(FIELDS, plan.picks, strict=True) if pick >= 0}
    if "gender" in mapped:
        mapped.add("title")
    return [f for f in _CORRECTABLE if f in mapped] + (
        ["attributes"] if plan.attribute_columns else [])


def mark_failed(session: Session, batch_id: int, exc: BaseException) -> None:
    """The one place a batch becomes failed: rolls back what was not committed (committed
    chunks stay, and a re-run reuses them) and says why, for the console: a BatchError in
    its own words, anything else with its kind."""
    session.rollback()
    failed = None if isinstance(exc, TakenOver) else session.get(Batch, batch_id)
    if failed is not None:
        if isinstance(exc, BatchError):  # in the campaign's language: the marketer reads it
            locale = session.get(Campaign, failed.campaign_id).locale
            message = exc.translated(reasons_in(locale))
        else:
            message = f"{type(exc).__name__}: {exc}"
        failed.status, failed.error = "failed", message[:2000]
        failed.finished_at = utcnow()
        outbox.batch_finished(session, failed, session.get(Campaign, failed.campaign_id))
        session.commit()


class _Run:
    """The main process's half of a batch: each prepared block, in input order, into the
    database and the output files."""

    def __init__(self, store: Store, result: Result, plan: Plan, out_file: IO[str] | None,
                 err_file: IO[str], qr: Any, dir_of_out: Path, variants: list[str],
                 ordinal: int, commit_rows: int, progress: Progress | None,
                 total: int) -> None:
        self.store, self.result, self.plan = store, result, plan
        self.out_file, self.err_file, self.qr, self.dir_of_out = out_file, err_file, qr, dir_of_out
        self.variants, self.ordinal = variants, ordinal
        self.commit_rows, self.progress, self.total = commit_rows, progress, total
        self.sign = tokens.signer_for_batch(plan.keys)
        self.processed = 0
        self.records = 0  # records of the blocks taken, blank ones too: their row numbers
        self.committed = 0
        # Where the main process's time goes (logged at the end): the batch's critical path.
        self.timing = dict.fromkeys(("waiting", "inserting", "committing"), 0.0)
        # To tell a second row for the same person in this file. A dry run keeps the hashes
        # of all identities; a real run only needs the people known before this batch (the
        # unique constraint tells the new ones apart), marked by recipient id in a bitmap:
        # a set of a million ints cost a re-run 75 MB, the bitmap costs a bit per id.
        self.seen: set[int] = set()
        self.reused_ids = bytearray()

    def wait(self, pending: Any) -> Prepared:
        started = time.perf_counter()
        prepared = pending.get()
        self.timing["waiting"] += time.perf_counter() - started
        return prepared

    def take(self, prepared: Prepared) -> None:
        self.processed += prepared.processed
        if prepared.warned:  # blocks come in input order: the first ones are kept
            self.result.warned += prepared.warned
            room = max(WARNINGS_KEPT - len(self.result.warnings), 0)
            _ = reasons_in(self.plan.locale)
            # Numbered as the rejected rows are: the records of the blocks before are known.
            self.result.warnings.extend(
                {**w, "row": row_label(_, self._row(w["row"]), w.pop("line"))}
                for w in prepared.warnings[:room])
        self.result.rejected += len(prepared.err_sizes)
        more_errors: list[tuple[int, str]] = []
        if self.out_file is None:
            self._count(prepared, more_errors)
        elif prepared.out_sizes:
            self._mint(prepared, more_errors)
        if more_errors:
            merged = sorted(prepared.errors() + more_errors, key=lambda e: e[0])
            self.err_file.write(self._numbered("".join(text for _line, text in merged)))
        elif prepared.err_text:
            self.err_file.write(self._numbered(prepared.err_text))
        self.records += prepared.records
        if self.out_file is not None and self.processed - self.committed >= self.commit_rows:
            self._commit()
        if self.progress:
            self.progress(self.processed, max(self.total, self.processed))

    def _row(self, index: int) -> int:
        """The spreadsheet row of a block's record: the header is row 1."""
        return self.records + index + 2

    def _numbered(self, text: str) -> str:
        """Error lines with their row numbers in place of the workers' marks."""
        _ = reasons_in(self.plan.locale)
        return ROW_MARK.sub(
            lambda m: row_label(_, self._row(int(m[1])), int(m[2])), text)

    def finish(self) -> None:
        if self.out_file is not None:
            self._commit()
        log.info("batch %s main process: %s", self.store.batch_id,
                 ", ".join(f"{k} {v:.1f} s" for k, v in self.timing.items()))

    def _commit(self) -> None:
        started = time.perf_counter()
        r = self.result
        self.store.progress(self.processed, r.minted, r.reused, r.rejected)
        self.store.commit()
        self.committed = self.processed
        self.timing["committing"] += time.perf_counter() - started

    def _count(self, prepared: Prepared, more_errors: list[tuple[int, str]]) -> None:
        """A dry run: who would be minted, who is there already, who is in the file twice."""
        prepared.unpack()
        known = self.store.existing([row[1] for row in prepared.rows])
        lines = prepared.out_lines()
        for k, row in enumerate(prepared.rows):
            key = hash(row[1])
            if key in self.seen:
                more_errors.append(self._duplicate(prepared, k, row, lines[k]))
                continue
            self.seen.add(key)
            found = known.get(row[1])
            if found is not None:
                self.result.reused += 1
                self.result.updated += self.store.changed(row, found) is not None
            else:
                self.result.minted += 1

    def _mint(self, prepared: Prepared, more_errors: list[tuple[int, str]]) -> None:
        if prepared.copy_text:
            started = time.perf_counter()
            copied = self.store.copy_new(prepared.copy_text)
            self.timing["inserting"] += time.perf_counter() - started
            if copied:
                assert self.out_file is not None
                self.out_file.write(prepared.out_text)
                self.result.minted += len(prepared.out_sizes)
                return
        prepared.unpack()
        rows = prepared.rows
        if self.variants:
            # Round-robin in minting order keeps an A/B split even.
            rows = [(*row, pick_variant(self.variants, self.ordinal + k))
                    for k, row in enumerate(rows)]
            self.ordinal += len(rows)
        started = time.perf_counter()
        inserted = self.store.insert(rows)
        self.timing["inserting"] += time.perf_counter() - started
        if inserted == len(rows) and self.qr is None:
            assert self.out_file is not None
            self.out_file.write(prepared.out_text)
            self.result.minted += inserted
            return
        self._settle(prepared, rows, more_errors)

    def _settle(self, prepared: Prepared, rows: list[Row],
                more_errors: list[tuple[int, str]]) -> None:
        """Row by row, for a block where some people were known already (or QR codes need
        their database ids): who keeps which link, and which rows repeat an earlier one."""
        lines = prepared.out_lines()
        drawn = list(rows)
        final: list[str | None] = [None] * len(rows)
        qr_jobs = []
        corrections = []
        todo = list(range(len(rows)))
        for _attempt in range(3):
            known = self.store.existing([drawn[k][1] for k in todo])
            retry = []
            for k in todo:
                row = drawn[k]
                found = known.get(row[1])
                if found is None:
                    retry.append(k)
                    continue
                rid, link_key, code, batch_id = found[:4]
                line = lines[k]
                if code == row[0]:
                    self.result.minted += 1
                elif (batch_id is not None and batch_id == self.store.batch_id
                      and rid > self.store.before):
                    # A row further up this very file minted this person's link.
                    more_errors.append(self._duplicate(prepared, k, row, line))
                    continue
                else:
                    if self._reused_before(rid):
                        more_errors.append(self._duplicate(prepared, k, row, line))
                        continue
                    if batch_id is not None and batch_id == self.store.batch_id:
                        self.result.minted += 1  # by this batch's killed earlier attempt
                    else:
                        self.result.reused += 1
                        correction = self.store.changed(row, found)
                        if correction is not None:
                            corrections.append(correction)
                    line = relink(line, self.sign, row[0], link_key, code)
                if self.qr is not None:
                    # Named after the customer number the list gives, else the printed code.
                    name = self.qr.name(row[2], codes.display(code))
                    line = line.replace(QR_MARK + rows[k][0], self._cell(
                        safe_cell(self.qr.reference(name, self.dir_of_out))), 1)
                    qr_jobs.append((name, self.plan.link_base + self.sign(link_key)))
                final[k] = line
            if not retry:
                break
            # Their random code was someone else's already: draw again, insert again.
            for k, code in zip(retry, codes.new_codes(len(retry)), strict=True):
                lines[k] = relink(lines[k], self.sign, drawn[k][0], code, code)
                drawn[k] = (code, *drawn[k][1:])
            self.store.insert([drawn[k] for k in retry])
            todo = retry
        else:
            raise RuntimeError("could not draw unique random codes for a block")
        started = time.perf_counter()
        self.store.update(corrections)
        self.timing["inserting"] += time.perf_counter() - started
        self.result.updated += len(corrections)
        assert self.out_file is not None
        self.out_file.write("".join(line for line in final if line is not None))
        if qr_jobs:
            self.qr.draw(qr_jobs)

    def _reused_before(self, rid: int) -> bool:
        """Whether an earlier row of this file reused recipient ``rid``; marks it if not."""
        byte, bit = rid >> 3, 1 << (rid & 7)
        if byte >= len(self.reused_ids):
            self.reused_ids.extend(bytes(byte + 1 - len(self.reused_ids) + (1 << 16)))
        if self.reused_ids[byte] & bit:
            return True
        self.reused_ids[byte] |= bit
        return False

    def _cell(self, value: str) -> str:
        """One cell as the csv writer would write it (a folder name may hold a delimiter)."""
        if any(c in value for c in (self.plan.delimiter, '"', "\r", "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    def _duplicate(self, prepared: Prepared, k: int, row: Row, line: str) -> tuple[int, str]:
        plan = self.plan
        self.result.rejected += 1
        cells = next(csv.reader([line], delimiter=plan.delimiter))[:plan.width]
        for target in plan.targets:
            if target < plan.width:
                cells[target] = ""  # our own columns from an earlier run: no link here
        index = prepared.lines[k]
        _ = reasons_in(plan.locale)
        text = io.StringIO()
        csv.writer(text, delimiter=plan.delimiter).writerow(
            [row_label(_, self._row(index), prepared.physical[k]),
             duplicate_reason(_, row[1], row[2], row[3]), *safe_row(cells)])
        return index, text.getvalue()


def warnings_of(result: Result) -> dict | None:
    """The warnings as the batch row and the manifest keep them; None when there are none."""
    return {"count": result.warned, "rows": result.warnings} if result.warned else None


def _write_manifest(path: Path, campaign: Campaign, scanned: Input, result: Result,
                    options: Options, keys: Sequence[str], started: dt.datetime) -> None:
    manifest = {
        "campaign": campaign.slug,
        "batch_id": result.batch_id,
        "input": {"file": scanned.name, "sha256": scanned.sha256, "encoding": result.encoding,
                  "delimiter": result.delimiter,
                  **({"sheet": scanned.sheet} if scanned.sheet else {})},
        "channel": options.channel,
        "dry_run": options.dry_run,
        "mapping": result.mapping,
        "attributes": result.attributes,
        "ignored": result.ignored,
        "counts": {"rows": result.total_rows, "minted": result.minted, "reused": result.reused,
                   "updated": result.updated, "rejected": result.rejected,
                   "accounted": result.accounted, "rule": "minted + reused + rejected = rows"},
        "output": str(result.output_path) if result.output_path else None,
        "errors": str(result.errors_path),
        "warnings": warnings_of(result) or {"count": 0, "rows": []},
        "qr": str(result.qr_path) if result.qr_path else None,
        "key_id": tokens.key_id(keys),
        "started_at": started.isoformat(),
        "finished_at": utcnow().isoformat(),
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
