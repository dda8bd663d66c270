"""Roles and permissions for client actions, through the real SDK.

A plain member (channel user) cannot edit or remove another's message, rename or destroy the
channel: the SDK call fails with Twilio's 403/50107, and nothing is written (REST sees no
change, no webhook is asked or sent). What its role allows works, and a permission granted to
its role over REST counts from its next action.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.events.conftest import Receiver, wait_for
from tests.realtime.conftest import Key, NodeScript, mint, ws_url
from tests.support.servers import Server

DENIED = {"status": 403, "code": 50107}
WATCHED = [
    f"on{event}"
    for event in ("MessageUpdate", "MessageRemove", "ChannelUpdate", "ChannelDestroy")
    for event in (event, event + "d" if event.endswith("e") else event + "ed")
]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


def test_roles_decide_what_a_client_may_do(
    server: Server,
    sdk: Path,
    api_key: Key,
    service: Any,
    chat: Any,
    unique: Any,
    receiver: Receiver,
) -> None:
    alice, bob, name = unique("alice"), unique("bob"), unique("moderated")
    pre, post = f"/{unique('pre')}", f"/{unique('post')}"
    svc = chat.services(service.sid)
    svc.update(
        pre_webhook_url=receiver.url(pre),
        post_webhook_url=receiver.url(post),
        webhook_filters=WATCHED,
    )
    script = NodeScript(
        sdk,
        "permissions.js",
        ws_url(server),
        mint(api_key, service.sid, alice),
        mint(api_key, service.sid, bob),
        name,
    )
    try:
        step = script.line()
        assert step == {"step": "grant"}, step
        channel_user = next(r for r in svc.roles.list() if r.friendly_name == "channel user")
        svc.roles(channel_user.sid).update(permission=[*channel_user.permissions, "editAnyMessage"])
        channel = svc.channels(name).fetch()
        svc.channels(channel.sid).messages.create(body="granted")
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["editOthers"] == DENIED
    assert seen["removeOthers"] == DENIED
    assert seen["rename"] == DENIED
    assert seen["destroy"] == DENIED
    assert seen["editOwn"] == "allowed"
    assert seen["editedSeenByAlice"] == "bob edited"
    assert seen["editOthersAfterGrant"] == "allowed"
    assert seen["destroyAfterGrant"] == DENIED

    # REST: only the allowed actions happened.
    channel = svc.channels(name).fetch()
    assert channel.friendly_name == "Moderated"
    messages = svc.channels(channel.sid).messages.list()
    assert [(m._from, m.body) for m in messages] == [
        (alice, "moderated"),
        (bob, "bob edited"),
        ("system", "granted"),
    ]
    # Webhooks: a denied action asked no pre-event hook and raised no post-event. The
    # allowed edits' post-events come after the denied actions in the same queue.
    wait_for(lambda: len(_events(receiver, post, "onMessageUpdated")) == 2, what="post-events")
    asked = [h.event for h in receiver.at(pre)]
    assert asked.count("onMessageUpdate") == 2
    assert "onMessageRemove" not in asked
    assert "onChannelUpdate" not in asked
    assert "onChannelDestroy" not in asked
    sent = [h.event for h in receiver.at(post)]
    assert "onMessageRemoved" not in sent
    assert "onChannelUpdated" not in sent
    assert "onChannelDestroyed" not in sent
    bodies = [h.params["Body"] for h in _events(receiver, post, "onMessageUpdated")]
    assert bodies == ["bob edited", "moderated"]


def _events(receiver: Receiver, path: str, event: str) -> list[Any]:
    return [h for h in receiver.at(path) if h.event == event]
