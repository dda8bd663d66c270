"""The statements of the hot path, built once per shape with bound parameters.

Building a SQLAlchemy statement and its cache key costs more than running it on either
database, so the statements every request runs (insert a row, update one, move a counter) are
made the first time their shape is seen and then only executed with a `params` dict. Each
value's parameter is named `v_<column>` (SQLAlchemy reserves the column's own name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, Update, bindparam

T = TypeVar("T")
_INSERTS: dict[tuple[str, tuple[str, ...], bool], Insert] = {}
_BUILT: dict[tuple[Any, ...], Any] = {}
_UPDATES: dict[tuple[Any, ...], Update] = {}


def params(values: Mapping[str, Any]) -> dict[str, Any]:
    """The `params` of a statement made here, for column -> value."""
    return {f"v_{column}": value for column, value in values.items()}


def _bound(table: Table, columns: Iterable[str]) -> dict[str, Any]:
    return {c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns}


def insert(table: Table, columns: tuple[str, ...], returning: bool = False) -> Insert:
    """INSERT of `columns` (sorted), RETURNING the whole row when asked."""
    key = (table.name, columns, returning)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = table.insert().values(_bound(table, columns))
        if returning:
            statement = statement.returning(*table.c)
        _INSERTS[key] = statement
    return statement


def once(key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """The statement `build` makes, made on the first call with `key` only."""
    if key not in _BUILT:
        _BUILT[key] = build()
    result: T = _BUILT[key]
    return result


def update_returning(
    table: Table,
    set_columns: tuple[str, ...],
    where_columns: tuple[str, ...],
    returning: tuple[str, ...] | None = None,
    added: tuple[str, ...] = (),
    limited: str | None = None,
) -> Update:
    """UPDATE ... SET `set_columns` = `v_<column>`, each of `added` += `a_<column>`, WHERE each
    of `where_columns` = `w_<column>` [AND `limited` + `a_<limited>` <= `w_limit`], RETURNING
    `returning` (None: the whole row)."""
    key = (table.name, set_columns, where_columns, returning, added, limited)
    statement = _UPDATES.get(key)
    if statement is None:
        conditions = [
            table.c[c] == bindparam(f"w_{c}", type_=table.c[c].type) for c in where_columns
        ]
        if limited is not None:
            by = bindparam(f"a_{limited}", type_=table.c[limited].type)
            conditions.append(table.c[limited] + by <= bindparam("w_limit"))
        values: dict[str, Any] = _bound(table, set_columns)
        values.update({c: table.c[c] + bindparam(f"a_{c}", type_=table.c[c].type) for c in added})
        statement = table.update().where(*conditions).values(values)
        columns = table.c if returning is None else [table.c[c] for c in returning]
        if columns:
            statement = statement.returning(*columns)
        _UPDATES[key] = statement
    return statement
