"""Which notification types a client SDK registers for are kept on its connection."""

from __future__ import annotations

from typing import Any

import pytest

from chinwag.realtime.connection import TYPING, registrable


@pytest.mark.parametrize(
    ("registrations", "kept"),
    [
        ([{"message_types": [TYPING, "twilio.channel.new_message"]}], {TYPING}),
        ([{"message_types": ["x"]}, {"message_types": [TYPING]}], {TYPING}),
        ([{"message_types": [[TYPING], {"a": 1}, 7, None]}], set()),  # unhashable: no error
        ([{"message_types": TYPING}, [TYPING], "x", None], set()),
        ({"message_types": [TYPING]}, set()),
        (None, set()),
    ],
    ids=["known", "several", "odd-items", "odd-entries", "not-a-list", "none"],
)
def test_only_the_types_we_send_are_kept(registrations: Any, kept: set[str]) -> None:
    assert registrable(registrations) == kept


def test_registering_again_and_again_keeps_the_set_bounded() -> None:
    """A client sending put_notification_ctx with new names each time must not grow its
    connection's memory: names we never send are not kept."""
    kept: set[str] = set()
    for n in range(10_000):
        kept |= registrable([{"message_types": [f"made.up.{n}", TYPING]}])
    assert kept == {TYPING}
