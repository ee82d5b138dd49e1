"""Funnel and quiz tallies, kept up to date as each event is recorded (same transaction).

The console reads these few rows per campaign instead of counting millions of events. Each
recipient (each profile, for the quiz) counts once per step: a ``FunnelReach`` /
``QuizAnswered`` row marks that it got there, and only its first arrival bumps a tally.
Seeds never reach this module. Upserts are the dialect's INSERT … ON CONFLICT, which SQLite
and PostgreSQL both run; statements are built once per dialect, since a visit is on the
landing page's hot path.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from purl.models import (
    FunnelReach,
    FunnelTally,
    OfferTally,
    ProductTally,
    QuizAnswered,
    QuizChoice,
    QuizProgress,
    QuizResponse,
    QuizTally,
)
from purl.statements import Prepared

FUNNEL_KINDS = frozenset(("visit", "quiz_start", "quiz_complete", "product_click"))
QUIZ_KINDS = frozenset(("quiz_start", "answer", "quiz_complete"))

_built: dict[str, dict[str, Any]] = {}


def _statements(conn: Connection) -> dict[str, Any]:
    """The tallies' statements for the connection's dialect, built once."""
    dialect = conn.dialect.name
    if dialect in _built:
        return _built[dialect]
    dialect_insert: Callable = (postgresql.insert if dialect == "postgresql"
                                else sqlite.insert)

    def bump(model: type, keys: Iterable[str], counts: Iterable[str]) -> Any:
        table = model.__table__
        stmt = dialect_insert(table).values(
            {c: bindparam(c) for c in (*keys, *counts)})
        return stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: table.c[c] + stmt.excluded[c] for c in counts})

    def first(model: type, keys: Iterable[str]) -> Any:
        # RETURNING says whether the row is new (psycopg reports no rowcount for it).
        table = model.__table__
        return dialect_insert(table).values({c: bindparam(c) for c in keys}) \
            .on_conflict_do_nothing().returning(table.c[list(keys)[0]])

    progress = QuizProgress.__table__
    progress_key = ("campaign_id", "profile_id", "quiz_slug")
    upsert = dialect_insert(progress).values(
        {**{c: bindparam(c) for c in progress_key}, "started": False, "completed": False,
         "last_question": ""})
    choice = QuizChoice.__table__

    def mine(table: Any, prefix: str = "") -> Any:
        # An UPDATE's bound names must differ from its columns': the caller adds "k_".
        return and_(*(table.c[c] == bindparam(prefix + c) for c in progress_key))

    built = {
        "reach": first(FunnelReach, ("recipient_id", "kind", "product_id")),
        "funnel": bump(FunnelTally, ("campaign_id", "kind", "day", "channel", "variant"),
                       ("count",)),
        "product": bump(ProductTally, ("campaign_id", "product_id"), ("clicks", "shoppers")),
        "offer": bump(OfferTally, ("campaign_id", "offer", "kind"), ("count",)),
        # A no-op update on conflict, so the row comes back (and is locked) either way.
        "progress": upsert.on_conflict_do_update(
            index_elements=list(progress_key),
            set_={"quiz_slug": upsert.excluded.quiz_slug},
        ).returning(progress.c.started, progress.c.completed, progress.c.last_question),
        "progress_update": update(progress).where(mine(progress, "k_")).values(
            {c: bindparam("v_" + c) for c in ("started", "completed", "last_question")}),
        "answers": select(QuizResponse.answers).where(
            QuizResponse.profile_id == bindparam("profile_id"),
            QuizResponse.quiz_slug == bindparam("quiz_slug")),
        "choices": select(choice.c.question_id, choice.c.option, choice.c.quiz_version)
        .where(mine(choice)),
        "choice_delete": delete(choice).where(
            mine(choice), choice.c.question_id == bindparam("q"),
            choice.c.option == bindparam("o")),
        "choice_insert": insert(choice).values(
            {c: bindparam(c) for c in (*progress_key, "question_id", "option",
                                       "quiz_version")}),
        "answered": first(QuizAnswered, ("campaign_id", "profile_id", "quiz_slug",
                                         "question_id")),
        "quiz": bump(QuizTally, ("campaign_id", "quiz_slug", "measure", "question_id",
                                 "option", "quiz_version"), ("count",)),
    }
    # All run on the driver's cursor: the upserts SQLAlchemy would compile every time, and
    # the rest (which it caches) still cost a tenth of a millisecond each through it.
    built = {name: Prepared(statement, conn.dialect) for name, statement in built.items()}
    _built[dialect] = built
    return built


def _day(when: object) -> dt.date:
    if isinstance(when, dt.datetime):
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC)
        return when.date()
    return dt.datetime.now(dt.UTC).date()


def _inserted(conn: Connection, statement: Prepared, params: dict[str, Any]) -> bool:
    return statement.first(conn, params) is not None


def count_funnel(conn: Connection, row: dict[str, Any]) -> bool:
    """A recipient's funnel event (``row`` as inserted into ``event``); True when it is
    their first of its kind."""
    kind = row["kind"]
    sql = _statements(conn)
    product_id = row.get("product_id")
    new = _inserted(conn, sql["reach"], {"recipient_id": row["recipient_id"], "kind": kind,
                                         "product_id": 0})
    if new:
        sql["funnel"].run(conn, {
            "campaign_id": row["campaign_id"], "kind": kind, "day": _day(row.get("created_at")),
            "channel": row["channel"] or "", "variant": row["variant"] or "", "count": 1})
        if row.get("offer"):
            sql["offer"].run(conn, {"campaign_id": row["campaign_id"], "offer": row["offer"],
                                    "kind": kind, "count": 1})
    if kind == "product_click" and product_id is not None:
        first_click = _inserted(conn, sql["reach"], {
            "recipient_id": row["recipient_id"], "kind": kind, "product_id": product_id})
        sql["product"].run(conn, {"campaign_id": row["campaign_id"],
                                  "product_id": product_id, "clicks": 1,
                                  "shoppers": int(first_click)})
    return new


def options(value: object) -> list[str]:
    """The options an answer holds: each of a multiple choice, or the one value."""
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return sorted({str(v)[:200] for v in value if v is not None and v != ""})
    return [str(value)[:200]]


def count_quiz(conn: Connection, row: dict[str, Any]) -> None:
    """A profile's quiz event: started, an answer, completed."""
    sql = _statements(conn)
    kind = row["kind"]
    key = {"campaign_id": row.get("campaign_id") or 0, "profile_id": row["profile_id"],
           "quiz_slug": row.get("quiz_slug") or ""}
    deltas: Counter[tuple[str, str, str, str]] = Counter()

    def bump(measure: str, delta: int, question: str = "", option: str = "",
             version: str = "") -> None:
        deltas[(measure, question, option, version)] += delta

    # One statement makes the profile's progress row if it has none and reads it. Its
    # upsert locks the row on PostgreSQL: two requests of one shopper at once count one
    # after the other; SQLite holds the write lock already, from the event's INSERT.
    started, completed, last = sql["progress"].first(conn, key)
    started, completed = bool(started), bool(completed)  # SQLite's driver gives 0 and 1
    state = {"started": started, "completed": completed, "last_question": last}
    # Every profile that started or answered and did not finish stops at exactly one place:
    # after its last answer, or ("") before the first.
    counted_stop = not completed and (started or last != "")
    if kind == "quiz_start" and not started:
        bump("started", 1)
        state["started"] = True
        if not completed and last == "":
            bump("stopped", 1)
    elif kind == "quiz_complete" and not completed:
        bump("completed", 1)
        state["completed"] = True
        if counted_stop:
            bump("stopped", -1, last)
    elif kind == "answer":
        question = row.get("question_id") or ""
        # The question answered last has its mark already: an answer changed in place.
        if last != question and _inserted(conn, sql["answered"],
                                          {**key, "question_id": question}):
            bump("answered", 1, question)
        if not completed:
            if counted_stop:
                bump("stopped", -1, last)
            bump("stopped", 1, question)
        state["last_question"] = question
        _count_choices(conn, key, question, row.get("quiz_version") or "", bump)
    # The bumps in one go; a stop that moved nowhere (the same question answered again)
    # cancels out and costs nothing.
    changed = [{"campaign_id": key["campaign_id"], "quiz_slug": key["quiz_slug"],
                "measure": m, "question_id": q, "option": o, "quiz_version": v, "count": n}
               for (m, q, o, v), n in deltas.items() if n]
    if changed:
        sql["quiz"].run(conn, changed)
    if state != {"started": started, "completed": completed, "last_question": last}:
        sql["progress_update"].run(conn, {**{"k_" + k: v for k, v in key.items()},
                                          **{"v_" + k: v for k, v in state.items()}})


def _count_choices(conn: Connection, key: dict[str, Any], question: str, version: str,
                   bump: Callable[..., None]) -> None:
    """Bring the profile's counted options in line with its saved answers: the answered
    question's new value, and answers its new path dropped (``QuizResponse`` holds them)."""
    sql = _statements(conn)
    found = sql["answers"].first(conn, key)
    answers = found[0] if found else None
    if isinstance(answers, str):  # SQLite's driver hands JSON back as its text
        answers = json.loads(answers)
    answers = answers if isinstance(answers, dict) else {}
    held = {(q, o): v for q, o, v in sql["choices"].all(conn, key)}
    wanted = {k: v for k, v in held.items() if k[0] != question and k[0] in answers}
    wanted.update({(question, o): version for o in options(answers.get(question))})
    gone = [k for k, v in held.items() if wanted.get(k) != v]
    for q, o in gone:
        bump("chosen", -1, q, o, held[(q, o)])
    if gone:
        sql["choice_delete"].run(conn, [{**key, "q": q, "o": o} for q, o in gone])
    new = [(k, v) for k, v in wanted.items() if held.get(k) != v]
    for (q, o), v in new:
        bump("chosen", 1, q, o, v)
    if new:
        sql["choice_insert"].run(conn, [
            {**key, "question_id": q, "option": o, "quiz_version": v} for (q, o), v in new])
