"""Chat data made through the official client, for tests that need a lot of it."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def create_messages(messages: Any, bodies: Sequence[str], threads: int = 8) -> list[Any]:
    """A message from "bot" for each of `bodies`, created `threads` at a time through the
    official client's `messages` list (a thousand one after the other take half a minute):
    in the order of their indexes, which need not be the order of `bodies`."""
    with ThreadPoolExecutor(threads) as pool:
        made = list(pool.map(lambda body: messages.create(body=body, from_="bot"), bodies))
    return sorted(made, key=lambda message: message.index)
