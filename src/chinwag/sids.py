"""Twilio SIDs: a two-letter prefix and 32 lowercase hex digits."""

from __future__ import annotations

import re
import secrets

SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def is_sid(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and SID_RE.match(value) is not None
