"""Fixtures of the fault suite: a fresh database per test, and chinwag servers the test owns.

Each test starts (and kills, restarts, starves) servers of its own, so nothing here touches the
session server. PostgreSQL is the server at CHINWAG_TEST_PG; without it the PostgreSQL half
skips with a message, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import (
    PG_ADMIN,
    Server,
    pg_create_database,
    pg_drop_database,
    pg_reachable,
)


def _postgres() -> str:
    if not pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL is unreachable at {PG_ADMIN}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN}; set CHINWAG_TEST_PG to run this half")
    return pg_create_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = _postgres()
    yield url
    pg_drop_database(url)


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    url = _postgres()
    yield url
    pg_drop_database(url)


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts; any still running at the end are killed."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process is not None:
            server.stop()
