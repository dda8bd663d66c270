"""What the PostgreSQL engine and its writer share: asyncpg's errors as the store's, and one
statement run on an asyncpg connection."""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]

from chinwag.store.compiled import Plan, Result
from chinwag.store.errors import (
    DatabaseError,
    IntegrityError,
    Refused,
    RetryLater,
    RowGone,
    Unavailable,
)

DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
# Errors of a connection that died: the statement never ran.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # 57P01 admin shutdown, 57P03 starting up
    asyncpg.InterfaceError,  # "connection is closed"
    OSError,
)
# A statement that gave up waiting for another transaction's lock, or was chosen to break a
# deadlock: run again, it succeeds (see pg_writer).
WAITED_TOO_LONG: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.LockNotAvailableError,  # 55P03, past lock_timeout
    asyncpg.exceptions.DeadlockDetectedError,  # 40P01
)
# A value PostgreSQL cannot store: a NUL or other character outside UTF-8 text (class 22, data
# exceptions), an index entry over a page's third (54000).
REFUSED: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.ProgramLimitExceededError,
)


def database_error(exc: BaseException) -> DatabaseError:
    if isinstance(exc, asyncpg.ForeignKeyViolationError):  # the row's owner went meanwhile
        return RowGone(f"the owner the row refers to ({exc.constraint_name})")
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(str(exc))
    if isinstance(exc, WAITED_TOO_LONG):
        return RetryLater(str(exc))
    if isinstance(exc, REFUSED):
        return Refused(str(exc))
    return Unavailable(str(exc) or type(exc).__name__)


def closed(conn: Any) -> bool:
    """Whether the connection is gone. One that closed (a terminated backend) went back to the
    pool by itself, and its proxy answers nothing but InterfaceError."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True


def usable(conn: Any) -> bool:
    """Open and outside any transaction."""
    try:
        return not closed(conn) and not conn.is_in_transaction()
    except asyncpg.InterfaceError:
        return False


def _rowcount(status: str) -> int:
    """The row count of a command tag: "UPDATE 3" -> 3, "INSERT 0 1" -> 1."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


async def run(conn: Any, plan: Plan, sql: str, args: list[Any]) -> Result:
    """One statement on an asyncpg connection (its errors are the driver's)."""
    if plan.returns_rows:
        records = await conn.fetch(sql, *args)
        keys = plan.keys or (list(records[0].keys()) if records else ())
        return Result.of(plan, records, keys, len(records))
    status = await conn.execute(sql, *args)
    return Result([], (), _rowcount(status))
