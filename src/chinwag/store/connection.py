"""The connection a request holds: SQLAlchemy Core statements in, light results out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.sql.base import Executable

from chinwag.store.compiled import Params, Result


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
