"""A new, empty database of each kind per test, for tests that need the storage itself."""

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
