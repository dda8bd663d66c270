"""Read horizons: what a member has consumed, and what is left unread."""

from __future__ import annotations


def unread(last_consumed: int | None, message_counter: int) -> int | None:
    """Messages after the read horizon; null until the member reports one (as the SDK does).

    `message_counter` is the channel's next message index, so the newest is one below it.
    """
    if last_consumed is None:
        return None
    return max(0, message_counter - 1 - last_consumed)
