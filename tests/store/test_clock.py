"""The database's clock (chinwag/clock.py): measured on PostgreSQL, this machine's on SQLite, and
what every shared time is read by once measured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from chinwag import clock, times
from chinwag.store.db import Database


@pytest.fixture
def offset_restored() -> Iterator[None]:
    before = clock.offset()
    yield
    clock.set_offset(before)


def test_measured_offset_is_the_database_servers(
    fresh_database: str, offset_restored: None
) -> None:
    """PostgreSQL runs on this machine here: its clock and ours agree to well within a second,
    whatever offset was set before. SQLite's clock is this machine's: offset 0."""
    clock.set_offset(-1234.0)

    async def measure() -> float:
        db = Database(fresh_database)
        try:
            return await db.measure_clock()
        finally:
            await db.close()

    measured = asyncio.run(measure())
    if fresh_database.startswith("sqlite"):
        assert measured == clock.offset() == 0.0
    else:
        assert abs(measured) < 0.5
        assert clock.offset() == measured


def test_times_are_read_by_the_offset(offset_restored: None) -> None:
    clock.set_offset(3600.0)
    assert abs(clock.time() - (time.time() + 3600.0)) < 1
    assert abs(clock.now_ms() - (time.time() + 3600.0) * 1000) < 1000
    assert abs((clock.utcnow() - datetime.now(UTC)).total_seconds() - 3600.0) < 1
    assert abs((times.now() - datetime.now(UTC)).total_seconds() - 3600.0) < 2
    assert times.now().microsecond == 0
