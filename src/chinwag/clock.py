"""The time every server process of one database agrees on: the database server's clock.

Several processes compare times they wrote to the database: a process's reachability lease and
the reaper that ends it, a claimed delivery's lease and the worker that may take it over, the
windows of rate limits, the dates on resources that other servers page and sort by. On PostgreSQL
those processes may run on machines whose clocks differ, and a clock a minute ahead would reap
live processes' leases or send deliveries twice. So each server process measures how far the
database's clock is from its own (`Database.measure_clock`, at start and every CHECK_EVERY
seconds) and reads the time here, moved by that much. SQLite's processes share one machine and
its clock: their offset stays 0.

Signed tokens from an app's backend (`realtime/tokens.py`) are still checked against this
machine's own clock, as Twilio checked them against its own.
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime

CHECK_EVERY = 60.0  # seconds between measurements; clocks drift by milliseconds a day

_offset = 0.0  # seconds the database's clock is ahead of this machine's


def set_offset(seconds: float) -> None:
    global _offset
    _offset = seconds


def offset() -> float:
    return _offset


def time() -> float:
    """Seconds since the epoch by the database's clock."""
    return _time.time() + _offset


def now_ms() -> int:
    return int(time() * 1000)


def utcnow() -> datetime:
    return datetime.fromtimestamp(time(), UTC)
