"""Fixtures of the fault suite: a fresh database per test, and chinwag servers the test owns.

Each test starts (and kills, restarts, starves) servers of its own, so nothing here touches the
session server. PostgreSQL is the server at CHINWAG_TEST_PG; without it the PostgreSQL half
skips with a message, except under CI=true, where it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import KINDS, fresh
from tests.support.servers import (
    Server,
)


@pytest.fixture(params=KINDS)
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database of each kind for one test."""
    with fresh(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def fresh_postgres(tmp_path: Path) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test."""
    with fresh("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Servers a test starts; any still running at the end are killed."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process is not None:
            server.stop()
