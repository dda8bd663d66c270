"""The statements of the hot path, built once per shape with bound parameters.

Building a SQLAlchemy statement and its cache key costs more than running it on either
database, so the statements every request runs (insert a row, update one, move a counter) are
made the first time their shape is seen and then only executed with a `params` dict. Each
value's parameter is named `v_<column>` (SQLAlchemy reserves the column's own name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Insert, Table, UniqueConstraint, Update, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.util import find_tables

T = TypeVar("T")
_INSERTS: dict[tuple[str, tuple[str, ...], bool], Insert] = {}
_BUILT: dict[tuple[Any, ...], Any] = {}
_UPDATES: dict[tuple[Any, ...], Update] = {}
_KEPT: set[int] = set()  # ids of the statements made here: kept for the process's life


def params(values: Mapping[str, Any], prefix: str = "v_") -> dict[str, Any]:
    """The `params` of a statement made here, for column -> value."""
    return {f"{prefix}{column}": value for column, value in values.items()}


def _bound(table: Table, columns: Iterable[str], prefix: str = "v_") -> dict[str, Any]:
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


def insert(table: Table, columns: tuple[str, ...], returning: bool = False) -> Insert:
    """INSERT of `columns` (sorted), RETURNING the whole row when asked."""
    key = (table.name, columns, returning)
    statement = _INSERTS.get(key)
    if statement is None:
        statement = table.insert().values(_bound(table, columns))
        if returning:
            statement = statement.returning(*table.c)
        _INSERTS[key] = statement
        _KEPT.add(id(statement))
    return statement


def insert_adding(
    table: Table, columns: tuple[str, ...], adding: tuple[str, ...], dialect: str
) -> Any:
    """INSERT of `columns` (sorted); where a row with the same unique key (the table's one
    `UniqueConstraint`) is there already, each of `adding` is added to that row's instead."""
    return once(
        ("insert_adding", table.name, columns, adding, dialect),
        lambda: _adding(table, _bound(table, columns), adding, dialect),
    )


def dialect_insert(table: Table, dialect: str) -> Any:
    """The dialect's own INSERT into `table`: the one that takes an ON CONFLICT clause."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def _adding(table: Table, bound: Mapping[str, Any], adding: tuple[str, ...], dialect: str) -> Any:
    (key,) = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    insert = dialect_insert(table, dialect).values(bound)
    return insert.on_conflict_do_update(
        index_elements=list(key.columns),
        set_={c: table.c[c] + insert.excluded[c] for c in adding},
    )


def once(key: tuple[Any, ...], build: Callable[[], T]) -> T:
    """The statement `build` makes, made on the first call with `key` only."""
    if key not in _BUILT:
        _BUILT[key] = built = build()
        _KEPT.add(id(built))
    result: T = _BUILT[key]
    return result


# An INSERT of these column values, nothing read back; where the third names columns, a row
# whose unique key is there already adds those columns' values to it (`insert_adding`).
Rider = tuple[Table, Mapping[str, Any], tuple[str, ...]]
_TABLES_OF: dict[int, frozenset[str]] = {}
_WRITTEN_BY: dict[int, frozenset[str] | None] = {}


def tables_of(statement: Any) -> frozenset[str] | None:
    """The names of the tables a statement made here (`once`) reads or writes, CTEs,
    subqueries and joins included; None for one built per call (not worth the search)."""
    if id(statement) not in _KEPT:
        return None
    names = _TABLES_OF.get(id(statement))
    if names is None:
        found = find_tables(statement, include_crud=True)
        names = _TABLES_OF[id(statement)] = frozenset(t.name for t in found)
    return names


def written_by(statement: Any) -> frozenset[str] | None:
    """The names of the tables a statement made here INSERTs into, UPDATEs or DELETEs from,
    its data-modifying CTEs' included; None for one built per call."""
    if id(statement) not in _KEPT:
        return None
    if id(statement) not in _WRITTEN_BY:
        found = [e.table for e in visitors.iterate(statement) if isinstance(e, UpdateBase)]
        tables = [t for t in found if isinstance(t, Table)]  # else a join or alias: unknown
        known = len(tables) == len(found)
        _WRITTEN_BY[id(statement)] = frozenset(t.name for t in tables) if known else None
    return _WRITTEN_BY[id(statement)]


def may_carry(statement: Any, riders: list[Rider]) -> bool:
    """Whether `riders` may ride on `statement` (`carrying`): it was made here, it can take a
    CTE, and it touches none of their tables. In PostgreSQL a statement does not see what the data-modifying CTEs
    beside it write, so a statement reading a rider's table must run after the rider instead."""
    names = tables_of(statement)
    if names is None or not hasattr(statement, "add_cte"):  # text(): no CTEs
        return False
    return not any(table.name in names for table, _, _ in riders)


def carrying(
    statement: Any, given: Mapping[str, Any], riders: list[Rider]
) -> tuple[Any, dict[str, Any]]:
    """`statement` (see `may_carry`) with each rider's INSERT as a data-modifying CTE ahead of it,
    and its `given` parameters with the riders' (`r<n>_<column>`). PostgreSQL runs every such CTE
    to completion whatever the statement reads, so the rows are written in the same round trip.
    Built once per statement and riders' shape."""
    shape = tuple((table.name, tuple(sorted(values)), adding) for table, values, adding in riders)

    def build() -> Any:
        ctes = []
        for n, (table, values, adding) in enumerate(riders):
            bound = _bound(table, sorted(values), f"r{n}_")
            insert = (
                _adding(table, bound, adding, "postgresql")
                if adding
                else table.insert().values(bound)
            )
            ctes.append(insert.cte(f"rider_{n}"))
        return statement.add_cte(*ctes)

    combined = once(("carrying", id(statement), shape), build)
    out = dict(given)
    for n, (_, values, _) in enumerate(riders):
        out.update(params(values, f"r{n}_"))
    return combined, out


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
        _KEPT.add(id(statement))
    return statement


@dataclass(frozen=True)
class Counted:
    """A column's value taken from a counter moved by the INSERT's own statement (PostgreSQL,
    as a data-modifying CTE): `column` of `table`'s row `sid` goes up by one, and the inserted
    value is its new value + `offset`; that row also gets `assign`'s values and `also`'s
    amounts added. One round trip instead of two, and the counter's row lock is taken one round
    trip later (writers of one counter wait on it until they commit)."""

    table: Table
    sid: str
    column: str
    offset: int = 0
    assign: Mapping[str, Any] = field(default_factory=dict)
    also: Mapping[str, int] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"c_w_sid": self.sid}
        out.update({f"c_v_{c}": v for c, v in self.assign.items()})
        out.update({f"c_a_{c}": v for c, v in self.also.items()})
        return out


def insert_counted(table: Table, columns: tuple[str, ...], counted_column: str, by: Counted) -> Any:
    """INSERT of `columns` (sorted) RETURNING the whole row, `counted_column` from `by`'s counter
    (parameters: `v_<column>` for the others, and `by.params()`). No row when the counter's row
    does not exist."""
    key = (
        "insert_counted",
        table.name,
        columns,
        counted_column,
        by.table.name,
        by.column,
        by.offset,
        tuple(sorted(by.assign)),
        tuple(sorted(by.also)),
    )

    def build() -> Any:
        t = by.table
        moved: dict[str, Any] = {by.column: t.c[by.column] + 1}
        moved.update({c: bindparam(f"c_v_{c}", type_=t.c[c].type) for c in by.assign})
        moved.update({c: t.c[c] + bindparam(f"c_a_{c}", type_=t.c[c].type) for c in by.also})
        counter = (
            t.update()
            .where(t.c.sid == bindparam("c_w_sid", type_=t.c.sid.type))
            .values(moved)
            .returning(t.c[by.column])
            .cte("counter")
        )
        values = [
            counter.c[by.column] + by.offset
            if c == counted_column
            else bindparam(f"v_{c}", type_=table.c[c].type)
            for c in columns
        ]
        return table.insert().from_select(list(columns), select(*values)).returning(*table.c)

    return once(key, build)
