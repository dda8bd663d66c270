"""Query plans for tests that check a read seeks its index rather than scanning a table:
SQLite's plan of a statement, and a connection that only records the statements it is given."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace
from typing import Any

from sqlalchemy.dialects import sqlite


def sqlite_plan(conn: sqlite3.Connection, statement: Any) -> list[str]:
    """SQLite's plan of `statement`, each parameter NULL (an expanding `IN` given one)."""
    compiled = statement.compile(dialect=sqlite.dialect())
    names = {bind.key: [None] if bind.expanding else None for bind in compiled.binds.values()}
    expanded = compiled.construct_expanded_state(names)
    values = [expanded.parameters[name] for name in expanded.positiontup or ()]
    return [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + expanded.statement, values)]


class Recording:
    """A connection that notes each statement and finds nothing."""

    def __init__(self, dialect: str = "sqlite") -> None:
        self.statements: list[Any] = []
        self.dialect = SimpleNamespace(name=dialect)

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.statements.append(statement)
        return SimpleNamespace(all=list, mappings=list)
