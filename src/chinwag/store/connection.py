"""The connection a request holds: SQLAlchemy Core statements in, light results out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.sql.base import Executable

from chinwag.store.compiled import Params, Result


@dataclass(frozen=True)
class DialectName:
    """`conn.dialect.name`, as SQLAlchemy's connections spell it."""

    name: str


class Connection:
    """One transaction's (or one read's) connection; the engines give subclasses of it."""

    __slots__ = ()

    dialect: DialectName

    @property
    def dialect_name(self) -> str:
        return self.dialect.name

    async def execute(self, statement: Executable, params: Params | None = None) -> Result:
        """Run `statement` (with `params` for its `bindparam`s) and return its rows."""
        raise NotImplementedError
