"""A new, empty database of each kind per test (or PostgreSQL's alone, for its engine), for
tests that need the storage itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import KINDS, fresh


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
