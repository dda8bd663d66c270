"""Statements both databases run the same way, where their SQL dialects differ."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table

from chinwag.store.db import Connection
from chinwag.store.statements import dialect_insert


def insert_ignoring_conflicts(conn: Connection, table: Table, values: dict[str, Any]) -> Insert:
    """INSERT ... ON CONFLICT DO NOTHING: a concurrent twin wins, and nothing fails."""
    statement: Insert = dialect_insert(table, conn.dialect.name).values(**values)
    return statement.on_conflict_do_nothing()  # type: ignore[attr-defined,no-any-return]
