"""Twilio's date format, from every kind of datetime the databases hand back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chinwag import times


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 12, 1, 16, 8, 39), "2026-12-01T16:08:39Z"),  # noqa: DTZ001  SQLite: naive
        (datetime(2026, 12, 1, 16, 8, 39, tzinfo=UTC), "2026-12-01T16:08:39Z"),  # PostgreSQL
        (
            datetime(2026, 12, 1, 18, 8, 39, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-12-01T16:08:39Z",
        ),
        (datetime(999, 1, 2, 3, 4, 5, 999999), "0999-01-02T03:04:05Z"),  # noqa: DTZ001
        (datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01T00:00:00Z"),
    ],
)
def test_render(value: datetime, text: str) -> None:
    assert times.render(value) == text


def test_render_none() -> None:
    assert times.render(None) is None


def test_rendered_dates_are_remembered_within_a_bound() -> None:
    """Equal instants render alike (naive SQLite values and aware PostgreSQL ones included),
    and the memo of rendered dates never outgrows RENDERED_MAX."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for n in range(times.RENDERED_MAX * 2 + 7):
        value = start + timedelta(seconds=n)
        assert times.render(value) == value.strftime(times.FORMAT)
        assert times.render(value.replace(tzinfo=None)) == value.strftime(times.FORMAT)
        assert times.render(value.astimezone(timezone(timedelta(hours=-5)))) == times.render(value)
        assert len(times._RENDERED) <= times.RENDERED_MAX
