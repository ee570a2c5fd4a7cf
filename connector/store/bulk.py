"""Bulk inserts of the hot paths (outbox rows, push audit, clocks, events), handed to the driver's
executemany with their parameters already converted.

SQLAlchemy's executemany converts each row through the compiled statement, one parameter at a
time; a recorded evaluation or a push batch inserts thousands of rows, and that conversion cost
more than the database. Here the statement is compiled once per dialect and the rows go through
the column types' own bind processors (so values reach the database exactly as SQLAlchemy writes
them, on SQLite and PostgreSQL alike), an instant repeated across the rows (the evaluation's
`now`) converted once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from connector.store.tables import UTCDateTime

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Prepared:
    sql: str
    names: tuple[str, ...]  # the parameters in the order the compiled statement takes them
    positional: bool
    processors: tuple[Processor | None, ...]
    instants: tuple[bool, ...]  # UTC instants: converted once per distinct value in a call


_PREPARED: dict[tuple[str, str, tuple[str, ...], tuple[str, ...] | None], _Prepared] = {}


def insert_many(
    db: sa.Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> None:
    """Insert `rows` (every row with the same keys, column names) in one executemany; with
    `skip_conflicts_on` (the columns of a unique key) a row whose key is taken is left out
    (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    columns = tuple(rows[0])
    conflict = tuple(skip_conflicts_on) if skip_conflicts_on is not None else None
    cache_key = (db.dialect.name, table.name, columns, conflict)
    prepared = _PREPARED.get(cache_key)
    if prepared is None:
        prepared = _PREPARED[cache_key] = _prepare(db.dialect, table, columns, conflict)
    converters = [
        _converter(p, instant) for p, instant in zip(prepared.processors, prepared.instants, strict=True)
    ]
    names = prepared.names
    if prepared.positional:
        params: list[Any] = [
            tuple(v if c is None else c(v) for c, v in zip(converters, [row[n] for n in names], strict=True))
            for row in rows
        ]
    else:
        params = [
            {n: (row[n] if c is None else c(row[n])) for n, c in zip(names, converters, strict=True)}
            for row in rows
        ]
    db.exec_driver_sql(prepared.sql, params)


def _prepare(
    dialect: Dialect, table: sa.Table, columns: tuple[str, ...], conflict: tuple[str, ...] | None
) -> _Prepared:
    insert = postgresql.insert(table) if dialect.name == "postgresql" else sqlite.insert(table)
    statement = insert.values({name: sa.bindparam(name) for name in columns})
    if conflict is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[table.c[name] for name in conflict])
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else columns
    types = [table.c[name].type for name in names]
    return _Prepared(
        sql=compiled.string,
        names=names,
        positional=bool(compiled.positional),
        processors=tuple(t.dialect_impl(dialect).bind_processor(dialect) for t in types),
        instants=tuple(isinstance(t, UTCDateTime) for t in types),
    )


def _converter(processor: Processor | None, instant: bool) -> Processor | None:
    if processor is None or not instant:
        return processor
    converted: dict[Any, Any] = {}

    def once(value: Any) -> Any:
        if value is None:
            return processor(value)
        found = converted.get(value)
        if found is None:
            found = converted[value] = processor(value)
        return found

    return once
