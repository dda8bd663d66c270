"""Edits and deletions through the SDK: every change reaches the other user live, and REST
sees what the SDK did (and the SDK what REST did)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.conftest import make_client
from tests.realtime.conftest import Key, NodeScript, mint, ws_url
from tests.support.servers import Server


def test_edits_and_deletions(
    server: Server, sdk: Path, api_key: Key, service: Any, unique: Any
) -> None:
    alice, bob, name = unique("alice"), unique("bob"), unique("edits")
    svc = make_client(server).chat.v2.services(service.sid)
    script = NodeScript(
        sdk,
        "edits.js",
        ws_url(server),
        mint(api_key, service.sid, alice),
        mint(api_key, service.sid, bob),
        name,
    )
    try:
        step = script.line()
        assert step == {"step": "rest user"}, step
        svc.users(alice).update(friendly_name="From REST")
        channel = svc.channels(f"{name}-renamed").fetch()
        mine = svc.users(bob).user_channels(channel.sid)
        assert mine.fetch().notification_level == "muted"  # what the SDK set
        mine.update(notification_level="default")
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["messageBody"] == "edited"
    assert seen["messageAttributes"] == {"v": 2}
    assert seen["friendlyName"] == "Two"
    assert seen["clientChannelUpdated"] == "Two"
    assert seen["uniqueName"] == f"{name}-renamed"
    assert seen["channelAttributes"] == {"topic": "edits"}
    assert seen["memberAttributes"] == {"identity": bob, "attributes": {"seat": 7}}
    assert seen["userFriendlyName"] == "Alice A"
    assert seen["userAttributes"] == {"title": "Dr"}
    assert seen["restFriendlyName"] == "From REST"
    assert seen["notificationLevel"] == "muted"
    assert seen["restNotificationLevel"] == "default"
    assert seen["descriptors"] == sorted([alice, bob])
    assert seen["messageRemoved"] == 0
    assert seen["channelRemoved"] is True
    with pytest.raises(TwilioRestException) as missing:
        svc.channels(f"{name}-renamed").fetch()
    assert missing.value.status == 404
    user = svc.users(alice).fetch()
    assert (user.friendly_name, user.attributes) == ("From REST", '{"title":"Dr"}')
