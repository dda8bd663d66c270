"""A new, empty database of each kind per test, for tests that need the storage itself."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import PG_ADMIN, pg_create_database, pg_drop_database, pg_reachable


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    if not pg_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL is unreachable at {PG_ADMIN}")
        pytest.skip(f"PostgreSQL unreachable at {PG_ADMIN}; set CHINWAG_TEST_PG to run this half")
    url = pg_create_database()
    yield url
    pg_drop_database(url)
