"""The connection a request holds: SQLAlchemy Core statements in, light results out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlalchemy.sql.base import Executable

from chinwag.store import statements
from chinwag.store.compiled import Params, Result

# What a write handed over with `write_later` is checked by once it ran, on a connection of
# the same transaction: its result, and the transaction's other statements if it needs any.
Check = Callable[["Connection", Result], Awaitable[None]]


@dataclass(frozen=True)
class DialectName:
    """`conn.dialect.name`, as SQLAlchemy's connections spell it."""

    name: str


class Connection:
    """One transaction's (or one read's) connection; the engines give subclasses of it."""

    __slots__ = ("_after_commit",)

    dialect: DialectName
    _after_commit: list[Callable[[], None]]

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` once this transaction is durable; never if it rolls back (the
        real-time hub is woken this way on SQLite)."""
        try:
            self._after_commit.append(callback)
        except AttributeError:
            self._after_commit = [callback]

    def committed(self) -> None:
        """For the engines: the transaction is durable, run what waited for it."""
        for callback in getattr(self, "_after_commit", ()):
            callback()

    @property
    def dialect_name(self) -> str:
        return self.dialect.name

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        """Run `statement` (with `params` for its `bindparam`s) and return its rows."""
        raise NotImplementedError

    async def execute_aside(self, statement: Executable, params: Params | None = None) -> Result:
        """As `execute`, for a statement whose cost grows with the rows it touches (a delete
        that cascades to a service's channels): it never holds up the event loop. SQLite's
        writer runs it on its thread (its other statements run on the loop, see
        `engine_sqlite`); elsewhere the database server does the work anyway."""
        return await self.execute(statement, params)

    async def write_later(
        self, statement: Executable, params: Params, check: Check | None = None
    ) -> bool:
        """Hand over a write that returns nothing this transaction reads, to run at the end
        of its batch (PostgreSQL's writer, `pg_writer.WriterConnection`): True if it will
        run there (then `check` gets its result, and may raise to take the batch back),
        False if the caller must run it now, as here."""
        return False

    async def insert_later(
        self, table: Table, values: Mapping[str, Any], adding: tuple[str, ...] = ()
    ) -> None:
        """INSERT a row whose outcome nobody reads, in this transaction: here at once;
        PostgreSQL's writer sends it with the transaction's next statement, or at its end,
        saving a round trip on the writer's turn (`pg_writer.WriterConnection`). With `adding`,
        a row whose unique key is there already gets those columns' values added instead."""
        columns = tuple(sorted(values))
        if adding:
            statement = statements.insert_adding(table, columns, adding, self.dialect.name)
        else:
            statement = statements.insert(table, columns)
        await self.execute(statement, statements.params(values))
