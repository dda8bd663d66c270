"""Stored values as people read them."""

from __future__ import annotations

from typing import Any

import orjson


def as_list(raw: Any) -> list[str]:
    """A list column (stored as JSON text, as ops/crud.py writes it) as its strings."""
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [raw]
    return [str(v) for v in raw] if isinstance(raw, list) else []
