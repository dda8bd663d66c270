"""A client action refused by the service's pre-event webhook: the SDK call fails with Twilio's
error, nothing is written, and the webhook was asked as Twilio asked for client actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.events.conftest import Hooks, Reply

# The webhook receiver's fixtures, re-exported so that pytest finds them here.
from tests.events.conftest import hooks as hooks
from tests.events.conftest import receiver as receiver
from tests.realtime.conftest import Key, mint, run_sdk, ws_url
from tests.support.servers import Server


def test_a_rejected_message_fails_in_the_sdk_and_writes_nothing(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any, hooks: Hooks
) -> None:
    alice, name = unique("alice"), unique("moderated")
    svc = chat.services(service.sid)
    svc.update(pre_webhook_url=hooks.url("pre"), webhook_filters=["onMessageSend"])
    hooks.reply("pre", Reply(403), then=Reply(200))
    code, seen = run_sdk(
        sdk, "rejected.js", ws_url(server), mint(api_key, service.sid, alice), name
    )
    assert code == 0, seen
    assert seen["refused"]["status"] == 403, seen
    assert seen["refused"]["body"]["code"] == 50056, seen
    assert seen["refused"]["body"]["status"] == 403, seen
    assert seen["afterRefusal"] == []
    assert seen["arrived"] == "fine"
    assert seen["added"] == 1
    asked = hooks.wait("pre", 2)
    assert [hit.params["Body"] for hit in asked] == ["spam", "fine"]
    assert all(hit.params["EventType"] == "onMessageSend" for hit in asked)
    assert all(hit.params["ClientIdentity"] == alice for hit in asked)
    assert all(hit.params["Source"] == "SDK" for hit in asked)
    channel = svc.channels(name).fetch()
    bodies = [m.body for m in svc.channels(channel.sid).messages.list()]
    assert bodies == ["fine"]
