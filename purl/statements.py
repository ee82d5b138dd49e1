"""Statements compiled once for a dialect and run on the driver's own cursor: for the few
statements every shopper request runs (funnel tallies, the webhook outbox), where
SQLAlchemy's per-execute work is most of their cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection


class Prepared:
    """A statement compiled once for one dialect and run on the driver's own cursor, in the
    connection's transaction, its parameters converted as SQLAlchemy would.

    SQLAlchemy compiles its dialects' INSERT … ON CONFLICT anew at every execute (they opt
    out of its statement cache, sqlalchemy#10445): four fifths of what a tally cost a page.
    """

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.defaults = compiled.params
        self.order = compiled.positiontup  # SQLite's qmark style; None for named styles
        self.convert = {name: convert for name, bind in compiled.binds.items()
                        if name in self.defaults and (convert := bind.type.dialect_impl(
                            dialect).bind_processor(dialect)) is not None}

    def _args(self, params: dict[str, Any]) -> Any:
        given = {**self.defaults, **params}
        for name, convert in self.convert.items():
            given[name] = convert(given[name])
        return given if self.order is None else [given[name] for name in self.order]

    @contextmanager
    def _cursor(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]
                ) -> Iterator[Any]:
        """The driver's cursor, the statement run on it (once per row for a list)."""
        cursor = conn.connection.driver_connection.cursor()
        try:
            if isinstance(params, list):
                cursor.executemany(self.sql, [self._args(p) for p in params])
            else:
                cursor.execute(self.sql, self._args(params))
            yield cursor
        finally:
            cursor.close()

    def run(self, conn: Connection, params: dict[str, Any] | list[dict[str, Any]]) -> None:
        """Run once, or once per row of a list."""
        with self._cursor(conn, params):
            pass

    def first(self, conn: Connection, params: dict[str, Any]) -> tuple | None:
        """The first row the statement returns (its RETURNING), or None."""
        with self._cursor(conn, params) as cursor:
            return cursor.fetchone()

    def all(self, conn: Connection, params: dict[str, Any]) -> list[tuple]:
        with self._cursor(conn, params) as cursor:
            return cursor.fetchall()
