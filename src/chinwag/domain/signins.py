"""Failed sign-ins, limited: after `PER_NAME` wrong passwords within a minute for one name (or
`PER_ADDRESS` from one address, so one client cannot try many names quickly either), further
attempts are refused until the oldest failure leaves the window.

Failures are rows of `rate_actions` (the table of domain/ratelimit.py) under a bucket that is
a hash of what is limited, so every process and server on the database counts them together.
A correct password is checked only while the bucket has room, so guessing stays slow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from chinwag import clock
from chinwag.domain.ratelimit import Window
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

PER_NAME = 5
PER_ADDRESS = 30
WINDOW = Window(rate=1, seconds=60)  # only its length is used: the limits are above


@dataclass(frozen=True)
class Bucket:
    name: str  # "SI" + 32 hex digits: fits the table's 34 characters
    limit: int


def buckets(username: str, address: str) -> list[Bucket]:
    """What one attempt counts against: the name tried and the client's address."""
    return [_bucket("name", username, PER_NAME), _bucket("address", address, PER_ADDRESS)]


def _bucket(kind: str, value: str, limit: int) -> Bucket:
    return Bucket("SI" + hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32], limit)


async def wait_ms(conn: Connection, tables: Tables, buckets: list[Bucket]) -> int:
    """How long the caller must wait before trying again (0: it may try now)."""
    log = tables.rate_actions
    now = clock.now_ms()
    cutoff = WINDOW.cutoff(now)
    longest = 0
    for b in buckets:
        recent = select(log.c.at).where(log.c.bucket == b.name, log.c.at > cutoff)
        query = recent.order_by(log.c.at.desc()).offset(b.limit - 1).limit(1)
        oldest = (await conn.execute(query)).scalar()
        longest = max(longest, WINDOW.wait_ms(oldest, now))
    return longest


async def record_failure(conn: Connection, tables: Tables, buckets: list[Bucket]) -> None:
    """Count one failed attempt in each bucket (and forget what left the window)."""
    log = tables.rate_actions
    now = clock.now_ms()
    for b in buckets:
        old = log.delete().where(log.c.bucket == b.name, log.c.at <= WINDOW.cutoff(now))
        await conn.execute(old)
        await conn.execute(log.insert().values(bucket=b.name, at=now))
