"""Databases for tests: a fresh one of each kind, dropped afterwards.

PostgreSQL is the server at CHINWAG_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test).
Without it the PostgreSQL half of a test skips with a message, except under CI=true, where it
fails: CI must never pass on SQLite alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.servers import PG_ADMIN, pg_create_database, pg_drop_database, pg_reachable

KINDS = ["sqlite", "postgresql"]


def require_postgresql() -> None:
    if pg_reachable():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but PostgreSQL is unreachable at {PG_ADMIN}")
    pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN}; set CHINWAG_TEST_PG to run this half")


@contextmanager
def fresh(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a new, empty database of `kind` (a SQLite file goes in `directory`)."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'fresh.db'}"
        return
    require_postgresql()
    url = pg_create_database()
    try:
        yield url
    finally:
        pg_drop_database(url)
