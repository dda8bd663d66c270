"""Twilio SIDs: a two-letter prefix and 32 lowercase hex digits."""

from __future__ import annotations

import re
import secrets
import time

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def ordered_hex() -> str:
    """32 hex digits: the millisecond (12), then 80 random bits (20).

    Values made later sort later, so a unique index on them grows at its right edge, as an
    autoincrement key does, instead of at a random page per insert: on SQLite a batch of creates
    wrote one such page to the WAL for each of its rows (a third of a COMMIT's pages, measured
    on `IM` SIDs and the outbox's tokens). Eighty random bits keep values unguessable and unique
    across processes and servers.
    """
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def new_sid(prefix: str) -> str:
    return prefix + ordered_hex()


def is_sid(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and SID_RE.match(value) is not None
