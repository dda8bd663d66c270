"""SQL from SQLAlchemy Core, compiled once per statement shape, and the light results it gives.

SQLAlchemy builds and compiles; the drivers run the SQL. A statement is compiled the first time
its shape is seen (SQLAlchemy's own cache key: the same statement with other literal values is
the same shape) and the values of each execution are taken from the statement's cache key, as
SQLAlchemy's execution context does. A statement executed with a `params` dict is one built once
with `bindparam`s: it is also remembered by identity, so it is not even keyed again. The
dialect's bind and result processors are applied, so values read and written are exactly what
SQLAlchemy's drivers gave (datetimes, booleans, bytes).
"""

from __future__ import annotations

import collections
import functools
import re
import weakref
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from chinwag.store.errors import ResultError

Params = Mapping[str, Any]
MAX_PREBUILT = 4096
Processor = Any  # a dialect's value processor: Callable[[Any], Any]


_CHANGES = re.compile(r"\b(INSERT|UPDATE|DELETE)\b|pg_notify|pg_advisory")


class Plan:
    """One statement shape compiled for one dialect: its SQL, how to order and convert the
    values it binds, and how to name and convert the columns it returns."""

    __slots__ = (
        "bind_processors",
        "compiled",
        "converted",
        "expanding",
        "keys",
        "order",
        "reads_only",
        "result_processors",
        "returns_rows",
        "sql",
    )

    def __init__(self, compiled: SQLCompiler, dialect: Dialect) -> None:
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("columns with Python-side defaults are not supported by the store")
        self.compiled = compiled
        self.sql = compiled.string
        self.bind_processors: dict[str, Processor] = dict(compiled._bind_processors)
        self.expanding = bool(compiled.literal_execute_params or compiled.post_compile_params)
        positions = compiled.positiontup or []
        self.order: list[tuple[str, Processor | None]] = [
            (name, self.bind_processors.get(name)) for name in positions
        ]
        columns = compiled._result_columns
        self.keys: tuple[str, ...] = tuple(c.keyname for c in columns)
        processors = [c.type._cached_result_processor(dialect, None) for c in columns]
        self.result_processors: list[Processor | None] | None = (
            processors if any(processors) else None
        )
        # Only the columns that need converting are touched, row by row.
        self.converted: tuple[tuple[int, Processor], ...] = tuple(
            (i, p) for i, p in enumerate(processors) if p is not None
        )
        self.returns_rows = bool(columns) or compiled.isplaintext
        # A SELECT that changes nothing (no data-modifying CTE, no lock, no notification): a
        # transaction without a savepoint that failed after only such ones lost no change.
        self.reads_only = self.sql.lstrip().startswith("SELECT") and not _CHANGES.search(self.sql)

    def bind(self, values: MutableMapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and its positional arguments for one execution's values."""
        if not self.expanding:
            return self.sql, [
                values[name] if proc is None else proc(values[name]) for name, proc in self.order
            ]
        state = self.compiled._process_parameters_for_postcompile(values)
        procs = {**self.bind_processors, **state.processors}
        expanded = state.parameters
        args = [
            procs[name](expanded[name]) if name in procs else expanded[name]
            for name in state.positiontup or ()
        ]
        return state.statement, args


class Compiler:
    """The plans of one dialect, by statement shape and by identity of prebuilt statements."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.name: str = dialect.name
        self._plans: dict[Any, Plan] = {}
        # Prebuilt statements (executed with params) skip the cache key on later executions.
        # By id() with a weak reference to check it: statements may overload `==`. Each entry
        # holds the plan, SQLAlchemy's extracted values, and (after the first execution) the
        # values the statement binds besides its params (a LIMIT, literals), which never change.
        self._prebuilt: dict[int, list[Any]] = {}

    def prepare(self, statement: Executable, params: Params | None) -> tuple[Plan, str, list[Any]]:
        """The plan of `statement`, and the SQL and arguments to run it with `params`."""
        known = self._prebuilt.get(id(statement)) if params is not None else None
        if known is not None and known[0]() is statement:
            _, plan, extracted, collected, constants = known
            if constants is not None:  # a prebuilt statement seen before: no SQLAlchemy at all
                return (plan, *plan.bind({**constants, **(params or {})}))
        else:
            plan, extracted, collected = self._plan(statement, params)
            known = None
            if params is not None:
                if len(self._prebuilt) >= MAX_PREBUILT:  # statements built per call, after all
                    self._prebuilt.clear()
                known = [weakref.ref(statement), plan, extracted, collected, None]
                self._prebuilt[id(statement)] = known
        values = plan.compiled.construct_params(
            params,
            extracted_parameters=extracted,
            escape_names=False,
            _collected_params=collected,
        )
        if known is not None and params is not None and not plan.expanding:
            known[4] = {name: v for name, v in values.items() if name not in params}
        sql, args = plan.bind(values)
        return plan, sql, args

    def _plan(self, statement: Executable, params: Params | None) -> tuple[Plan, Any, Any]:
        column_keys = sorted(params) if params else []
        cache_key = statement._generate_cache_key()  # type: ignore[attr-defined]
        if cache_key is None:  # a statement SQLAlchemy cannot cache: compiled each time
            compiled = statement._compiler(  # type: ignore[attr-defined]
                self.dialect, column_keys=column_keys, for_executemany=False
            )
            return Plan(compiled, self.dialect), None, None
        key = (cache_key.key, tuple(column_keys))
        plan = self._plans.get(key)
        if plan is None:
            compiled = statement._compiler(  # type: ignore[attr-defined]
                self.dialect, cache_key=cache_key, column_keys=column_keys, for_executemany=False
            )
            plan = self._plans[key] = Plan(compiled, self.dialect)
        return plan, cache_key.bindparams, cache_key.params


class Rows:
    """The rows of a result as mappings by column name (`result.mappings()`)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._rows)

    def all(self) -> list[dict[str, Any]]:
        return self._rows

    def first(self) -> dict[str, Any] | None:
        return self._rows[0] if self._rows else None

    def one(self) -> dict[str, Any]:
        if len(self._rows) != 1:
            raise ResultError(f"expected one row, got {len(self._rows)}")
        return self._rows[0]


@functools.cache
def _row_class(keys: tuple[str, ...]) -> Any:
    """A named tuple class per column list (a handful in all); names not usable as attributes
    (`from`, duplicates) are still reached by position or through `mappings()`."""
    base = collections.namedtuple("Row", keys, rename=True)  # type: ignore[misc]

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(zip(keys, self, strict=True))

    return Row


class Result:
    """What a statement gave: its rows (converted by the dialect) and how many rows it changed."""

    __slots__ = ("_rows", "keys", "rowcount")

    def __init__(self, rows: list[Sequence[Any]], keys: Sequence[str], rowcount: int) -> None:
        self._rows = rows
        self.keys = keys
        self.rowcount = rowcount

    @classmethod
    def of(
        cls, plan: Plan, rows: Sequence[Sequence[Any]], keys: Sequence[str], count: int
    ) -> Result:
        converted = plan.converted
        if converted and rows:
            out = []
            for row in rows:
                values = list(row)
                for i, convert in converted:
                    values[i] = convert(values[i])
                out.append(values)
            rows = out
        return cls(list(rows), plan.keys or keys, count)

    def mappings(self) -> Rows:
        keys = self.keys
        return Rows([dict(zip(keys, row, strict=False)) for row in self._rows])

    def _named(self) -> list[Any]:
        """The rows as named tuples (`row.sid`, `row[0]`), as SQLAlchemy's rows read."""
        if not self._rows:
            return []
        make = _row_class(tuple(self.keys))._make
        return [make(row) for row in self._rows]

    def all(self) -> list[Any]:
        return self._named()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._named())

    def first(self) -> Any | None:
        return self._named()[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise ResultError(f"expected one row, got {len(self._rows)}")
        return self._named()[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]
