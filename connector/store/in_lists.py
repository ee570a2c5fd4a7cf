"""`column IN (many values)` as one bound parameter: `any_of(column, values)`.

SQLAlchemy renders `column.in_(values)` with one placeholder per value, expanded on every
execution. The store's batched reads and writes send IN-lists of every length up to 500, so each
length was a statement of its own for the database (SQLite prepared it again once it fell out of
the connection's statement cache, PostgreSQL planned it again) and SQLAlchemy rebuilt the
expanded text on every call. `any_of` sends the whole list as ONE parameter and the statement
text is the same whatever the length:

- SQLite: `column IN (SELECT value FROM json_each(?))`, the values as a JSON array. The planner
  still looks each value up in the column's index (`SEARCH ... USING INDEX ... LIST SUBQUERY`).
- PostgreSQL: `column = ANY(?::TEXT[])`, the values as an array.

Only for text columns (ticket ids, keys), which is what the store batches on.

The statements the sync runs every cycle are built once, with named parameters (`text_list` for
the lists): building a statement and computing its cache key cost SQLAlchemy more than running it
on SQLite (about 65 of 100 microseconds for a one-table SELECT), and a statement object kept
between calls computes its cache key once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from connector.store.engine import dump_json


class TextList(sa.types.TypeDecorator[list[str]]):
    """A list of strings bound as one parameter: a JSON array on SQLite, an array elsewhere."""

    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(sa.Text))
        return dialect.type_descriptor(sa.String())

    def process_bind_param(self, value: list[str] | None, dialect: sa.Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return dump_json(value)


class AnyOf(ColumnElement[bool]):
    """`column` equals one of the bound values (see the module docstring)."""

    type = sa.Boolean()
    _is_implicitly_boolean = True  # a predicate: SQLite is not to compare it with 1
    inherit_cache = True
    _traverse_internals = [
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], values: Iterable[str] | sa.BindParameter[Any]) -> None:
        self.column = column
        self.values = (
            values
            if isinstance(values, sa.BindParameter)
            else sa.bindparam(None, list(values), type_=TextList())
        )


def any_of(column: ColumnElement[Any], values: Iterable[str] | sa.BindParameter[Any]) -> AnyOf:
    """`column IN (values)` with the values bound as one parameter; `values` may be a
    `text_list` parameter of a statement built once and executed with the list."""
    return AnyOf(column, values)


def text_list(name: str) -> sa.BindParameter[list[str]]:
    """A named list parameter for `any_of`, bound at execution (`{name: [...]}`)."""
    return sa.bindparam(name, type_=TextList())


@compiles(AnyOf)  # SQLite's form; also what `str(query)` shows (the store runs on SQLite or PostgreSQL)
def _any_of_sqlite(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} IN (SELECT value FROM json_each({compiler.process(element.values, **kw)}))"


@compiles(AnyOf, "postgresql")
def _any_of_postgresql(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY({compiler.process(element.values, **kw)})"  # the array type casts it
