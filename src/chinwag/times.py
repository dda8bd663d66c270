"""Twilio's one date format: `YYYY-MM-DDTHH:MM:SSZ`, always UTC, whole seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from chinwag import clock

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The dates a parameter may carry: four-digit years that render in FORMAT (strftime drops the
# zero padding before 1000), and nothing before the Unix epoch, which no chat predates.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def now() -> datetime:
    """The present by the database's clock (`clock`), in whole seconds."""
    return clock.utcnow().replace(microsecond=0)


# Dates rendered lately: a page's rows share their seconds more often than not (a message's
# date_created and date_updated; messages sent in one burst), and a lookup costs a twentieth of
# rendering. Equal instants render alike, whatever their offset, so they may share an entry.
_RENDERED: dict[datetime, str] = {}
RENDERED_MAX = 4096


def render(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = _RENDERED.get(value)
    if text is None:
        if len(_RENDERED) >= RENDERED_MAX:
            _RENDERED.clear()
        text = _RENDERED[value] = _render(value)
    return text


def _render(value: datetime) -> str:
    offset = value.utcoffset()
    if offset:  # SQLite hands back naive datetimes; we only ever store UTC
        value = value - offset
    # What strftime(FORMAT) gives, at a fraction of its cost (every row renders two or three
    # dates): isoformat is C, and its first 19 characters are the date and time (a four-digit
    # year, zero-padded) before any offset.
    return value.isoformat(timespec="seconds")[:19] + "Z"


def parse(text: str) -> datetime:
    """ISO 8601 as Twilio's import parameters accept it; naive means UTC. ValueError if not."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC).replace(microsecond=0)
    except OverflowError:  # an offset pushes it past year 1 or 9999
        raise ValueError(f"{text!r} is out of range") from None
