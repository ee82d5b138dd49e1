"""The recipient table's bulk path for a batch: one executemany per block on SQLite, COPY on
PostgreSQL, and the look-up of people a campaign knows already."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from purl.analytics import link_tally
from purl.links.batch.rows import ROW_FIELDS
from purl.models import Campaign, Recipient, utcnow

log = logging.getLogger(__name__)


class Store:
    """The recipient table's bulk path on the session's own connection (SQLite or PostgreSQL)."""

    def __init__(self, session: Session, campaign: Campaign, channel: str,
                 batch_id: int | None, variants: bool, held: Sequence[str] = (),
                 list_attributes: Sequence[str] = ()) -> None:
        self.session = session
        # What the list says about a person (see ``changed``): looked up with the known ones.
        self.held = tuple(held)
        self.list_attributes = frozenset(list_attributes)
        self._held_of_row = _getter([ROW_FIELDS.index(f) for f in self.held
                                     if f != "attributes"])
        # Whoever this batch holds at or below this id was minted by an earlier attempt of
        # the same batch (its worker was killed), not by a row further up this run.
        self.before = (session.scalar(select(func.max(Recipient.id))) or 0) if batch_id else 0
        self.tallied = self.before  # this batch's links up to here are in the link tally
        self.raw = session.connection().connection.driver_connection
        self.campaign_id = campaign.id
        self.channel = channel
        self.batch_id = batch_id
        dialect = session.get_bind().dialect
        self.postgres = dialect.name == "postgresql"
        self.planned = False  # PostgreSQL: statistics checked before the first lookup
        self.mark = mark = "%s" if self.postgres else "?"
        created = Recipient.__table__.c.created_at.type.dialect_impl(dialect)
        # Stored exactly as the ORM would store it (SQLite keeps datetimes as text).
        self.stored = created.bind_processor(dialect) or (lambda v: v)
        stamp = self.stored(utcnow())
        # What every row of the batch shares goes into the statement once, not into each row.
        columns = list(ROW_FIELDS) + (["variant"] if variants else [])
        shared = SHARED_COLUMNS
        if self.postgres:
            self.stamp = stamp
            self.columns = columns
            self.scratch = f"purl_incoming_{len(columns)}"  # one shape per name
            self.insert_sql = (
                f"INSERT INTO recipient ({', '.join(shared + tuple(columns))}) "
                f"SELECT %s, %s, %s, %s, {', '.join(columns)} FROM {self.scratch} "
                f"ON CONFLICT DO NOTHING"
            )
        else:
            literals = (str(int(campaign.id)), "NULL" if batch_id is None else str(int(batch_id)),
                        _sql_text(channel), _sql_text(stamp))
            self.insert_sql = (
                f"INSERT INTO recipient ({', '.join(shared + tuple(columns))}) "
                f"VALUES ({', '.join(literals + (mark,) * len(columns))}) ON CONFLICT DO NOTHING"
            )
            # Keep more index pages in memory, and checkpoint the WAL every 80 MB instead of
            # every 4 MB: copying dirtied index pages back after every commit was a third of
            # a million-row batch.
            cur = self.cursor()
            cur.execute("PRAGMA cache_size = -32768")
            cur.execute("PRAGMA wal_autocheckpoint = 20000")
            # The campaign and the batch row exist (this batch just wrote them): checking
            # both for each of a million rows is work for nothing. Only outside a transaction
            # does SQLite take the pragma, so commit what the session began.
            self.raw.commit()
            cur.execute("PRAGMA foreign_keys = OFF")

    def close(self) -> None:
        if not self.postgres:
            cur = self.cursor()
            cur.execute("PRAGMA wal_autocheckpoint = 1000")
            cur.execute("PRAGMA cache_size = -2000")
            if self.raw.in_transaction:  # only a dry run's reads, or a failure's leftovers
                self.raw.rollback()
            cur.execute("PRAGMA foreign_keys = ON")

    def cursor(self) -> Any:
        return self.raw.cursor()

    def commit(self) -> None:
        # Straight to the driver: the session keeps this very connection checked out until
        # the batch is done, and a console batch runs in a thread without an app context.
        self._tally()
        self.raw.commit()

    def _tally(self) -> None:
        """Count the links this batch inserted since the last commit into the link tally, in
        the transaction that commits them: a range of the primary key, however large the
        campaign."""
        if self.batch_id is None:  # a dry run inserts nothing
            return
        cur = self.cursor()
        cur.execute(
            f"SELECT channel, variant, is_seed, count(*), max(id) FROM recipient "
            f"WHERE id > {self.mark} AND batch_id = {self.mark} "
            f"GROUP BY channel, variant, is_seed", (self.tallied, self.batch_id))
        groups = cur.fetchall()
        if groups:
            self.tallied = max(g[4] for g in groups)
            minted: Counter[link_tally.Group] = Counter()
            for channel, variant, seed, links, _ in groups:
                minted[link_tally.group_of(channel, variant, seed)] += links
            link_tally.bump_through(cur, self.mark, self.campaign_id, minted)

    def shared(self) -> tuple:
        """What every row of the batch shares, in ``ROW_COLUMNS`` order before the rest."""
        return (self.campaign_id, self.batch_id, self.channel, self.stamp.isoformat())

    def copy_new(self, copy_text: str) -> bool:
        """PostgreSQL: stream a block's rows (COPY's CSV) straight into the table. False, and
        nothing written, when someone in it is there already: then ``insert`` sorts it out."""
        import psycopg  # only ever on PostgreSQL

        cur = self.cursor()
        cur.execute("SAVEPOINT purl_block")
        try:
            with cur.copy(f"COPY recipient ({', '.join(SHARED_COLUMNS + ROW_FIELDS)}) "
                          f"FROM STDIN (FORMAT csv)") as copy:
                copy.write(copy_text)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT purl_block")
            return False
        cur.execute("RELEASE SAVEPOINT purl_block")
        return True

    def insert(self, rows: list[tuple]) -> int:
        """Insert what is new; a row whose person (or random code) is there already is left out."""
        cur = self.cursor()
        if self.postgres:
            # COPY into a scratch table, then one INSERT … SELECT that skips known people.
            # The scratch table has just the columns that vary per row, with their types.
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {self.scratch} ON COMMIT DELETE ROWS AS "
                f"SELECT {', '.join(self.columns)} FROM recipient WITH NO DATA"
            )
            with cur.copy(f"COPY {self.scratch} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(self.insert_sql,
                        (self.campaign_id, self.batch_id, self.channel, self.stamp))
            count = cur.rowcount
            cur.execute(f"TRUNCATE {self.scratch}")
            return count
        cur.executemany(self.insert_sql, rows)
        return cur.rowcount

    def existing(self, identities: Sequence[str]) -> dict[str, tuple]:
        """identity -> (id, link key, code, batch_id, *held) of this campaign's people on this
        channel (the link key: see ``Recipient.link_key``; held: their stored ``held``
        columns, attributes as JSON text)."""
        found: dict[str, tuple] = {}
        if self.postgres and not self.planned:
            self._refresh_statistics()
        held = "".join(", CAST(attributes AS TEXT)" if f == "attributes" else f", {f}"
                       for f in self.held)
        select = (f"SELECT identity, id, public_id, code, batch_id{held} FROM recipient WHERE "
                  f"campaign_id = {self.mark} AND channel = {self.mark} AND identity ")
        shared = [self.campaign_id, self.channel]
        if self.postgres:  # one array parameter: a block's 10,000 identities in one go
            queries = [(select + "= ANY(%s)", [*shared, list(identities)])]
        else:  # SQLite: 5,000 parameters at a time, well under its limit
            queries = [(select + f"IN ({', '.join('?' * len(part))})", [*shared, *part])
                       for part in (identities[i:i + 5000]
                                    for i in range(0, len(identities), 5000))]
        cur = self.cursor()
        for sql, params in queries:
            cur.execute(sql, params)
            for identity, rid, public_id, code, batch_id, *stored in cur.fetchall():
                found[identity] = (rid, Recipient.key_of(public_id, code), code, batch_id,
                                   *stored)
        return found

    def changed(self, row: tuple, found: tuple) -> tuple | None:
        """A known person's corrections from the list: the new ``held`` values and the id, or
        None when the row says what is stored. Only what the list has columns for counts: a
        list without a title column keeps the stored title, and attributes named by none of
        its columns stay."""
        stored = found[4:]
        new = self._held_of_row(row)
        if "attributes" not in self.held:
            return None if new == stored else (*new, found[0])
        attributes, old_text = row[ROW_FIELDS.index("attributes")], stored[-1]
        if new == stored[:-1] and attributes == old_text:
            return None  # the common case: a re-run of the same list
        if attributes != old_text:
            old = json.loads(old_text) if old_text else {}
            merged = {k: v for k, v in old.items() if k not in self.list_attributes}
            merged.update(json.loads(attributes))
            attributes = old_text if merged == old else json.dumps(merged, ensure_ascii=False)
        if new == stored[:-1] and attributes == old_text:
            return None
        return (*new, attributes, found[0])

    def update(self, changes: list[tuple]) -> None:
        """Write the corrections ``changed`` found, a block's in one statement."""
        if not changes:
            return
        cur = self.cursor()
        if self.postgres:  # one statement per block: the rows as arrays, one per column
            columns = [*self.held, "id"]
            values = ", ".join(f"{c} = u.{c}::json" if c == "attributes" else f"{c} = u.{c}"
                               for c in self.held)
            arrays = ", ".join("%s::bigint[]" if c == "id" else "%s::text[]" for c in columns)
            cur.execute(f"UPDATE recipient AS r SET {values} FROM unnest({arrays}) "
                        f"AS u({', '.join(columns)}) WHERE r.id = u.id",
                        [list(column) for column in zip(*changes, strict=True)])
        else:
            values = ", ".join(f"{c} = ?" for c in self.held)
            cur.executemany(f"UPDATE recipient SET {values} WHERE id = ?", changes)

    def _refresh_statistics(self) -> None:
        """PostgreSQL plans the lookup above from the table's statistics. Right after a big
        batch, or a killed one, they still say the campaign has next to no rows, and the plan
        then reads all of the campaign's rows for every block: a re-run of a million rows took
        a minute per block. ANALYZE reads a sample (a fraction of a second), and only when a
        tenth of the table changed since the last one."""
        self.planned = True
        cur = self.cursor()
        cur.execute("SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables "
                    "WHERE relid = 'recipient'::regclass")
        changed, rows = cur.fetchone() or (0, 0)
        if changed > max(rows, 1) // 10:
            log.info("batch %s: refreshing the recipient table's statistics", self.batch_id)
            cur.execute("ANALYZE recipient")

    def progress(self, processed: int, minted: int, reused: int, rejected: int) -> None:
        if self.batch_id is None:
            return
        self.cursor().execute(
            f"UPDATE batch SET processed_rows = {self.mark}, minted = {self.mark}, "
            f"reused = {self.mark}, rejected = {self.mark}, updated_at = {self.mark} "
            f"WHERE id = {self.mark}",
            (processed, minted, reused, rejected,
             self.stored(utcnow()), self.batch_id),
        )


SHARED_COLUMNS = ("campaign_id", "batch_id", "channel", "created_at")


def _getter(indices: list[int]) -> Any:
    """A row's values at ``indices``, always as a tuple (itemgetter gives one value bare)."""
    if len(indices) == 1:
        index = indices[0]
        return lambda row: (row[index],)
    return itemgetter(*indices) if indices else lambda row: ()


def _sql_text(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"
