"""Push registration from the client SDK: `setPushRegistrationId` makes the user's Binding (seen
over REST), new messages then reach the push gateway with it (not while the member is muted),
and `unsetPushRegistrationId` removes it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant

from tests.events.conftest import Chinwag, Cluster, Receiver, channel_with, wait_for
from tests.realtime.conftest import Key, NodeScript, run_sdk, ws_url
from tests.support.databases import KINDS, require_postgresql

GATEWAY = "/gateway"


@pytest.fixture(scope="module")
def gateway() -> Iterator[Receiver]:
    """A local push gateway that records what chinwag sends it."""
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module", params=KINDS)
def pushing(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, gateway: Receiver
) -> Iterator[Chinwag]:
    """A server of the module's own that pushes to `gateway`, on a fresh database of each kind."""
    if request.param == "postgresql":
        require_postgresql()
    group = Cluster(request.param, tmp_path_factory.mktemp(f"push-{request.param}"))
    yield group.start("--push-gateway-url", gateway.url(GATEWAY), "--webhook-backoff", "0.05")
    group.close()


def device_token(chinwag: Chinwag, service_sid: str, identity: str, credential: str) -> str:
    """An access token as an app on a device mints it: endpoint and push credential included."""
    sid, secret = chinwag.server.cli(
        "keys", "create", "--account", chinwag.server.account_sid
    ).split()
    key = Key(sid, secret, chinwag.server.account_sid)
    token = AccessToken(key.account_sid, key.sid, key.secret, identity=identity)
    endpoint = f"app:{identity}:{secrets.token_hex(4)}"
    token.add_grant(
        ChatGrant(service_sid=service_sid, endpoint_id=endpoint, push_credential_sid=credential)
    )
    return str(token.to_jwt())


def pushes_for(gateway: Receiver, identity: str, message_sid: str) -> list[dict[str, Any]]:
    payloads = [hit.json() for hit in gateway.at(GATEWAY)]
    return [p for p in payloads if p["identity"] == identity and p["message_sid"] == message_sid]


@pytest.mark.parametrize("platform", ["fcm", "apn"])
def test_push_registration(pushing: Chinwag, gateway: Receiver, sdk: Path, platform: str) -> None:
    """The SDK's registration becomes alice's Binding (type, endpoint, credential, message
    types); a message from bob reaches the gateway with it; muted, alice gets no push while
    carol still does; unregistering removes the Binding."""
    chat, chat2 = pushing.chat, pushing.chat2
    service = pushing.new_service(notifications_new_message_enabled=True)
    credential = chat2.credentials.create(type=platform, friendly_name="app", secret="s3cret")
    channel = channel_with(pushing, service.sid, "alice", "bob", "carol")
    messages = chat.services(service.sid).channels(channel.sid).messages
    device = f"{platform}-device-{secrets.token_hex(8)}"
    token = device_token(pushing, service.sid, "alice", credential.sid)
    script = NodeScript(
        sdk, "push.js", ws_url(pushing.server), token, channel.sid, platform, device
    )
    try:
        assert script.line() == {"step": "registered"}
        bindings = chat2.services(service.sid).bindings
        [binding] = wait_for(lambda: bindings.list(identity=["alice"]), what="alice's binding")
        assert binding.binding_type == platform
        assert binding.endpoint.startswith("app:alice:")
        assert binding.credential_sid == credential.sid
        assert "twilio.channel.new_message" in binding.message_types
        alice = chat2.services(service.sid).users("alice").fetch()
        user_bindings = chat2.services(service.sid).users(alice.sid).user_bindings.list()
        assert [b.sid for b in user_bindings] == [binding.sid]

        hello = messages.create(body="hello alice", from_="bob")
        [push] = wait_for(lambda: pushes_for(gateway, "alice", hello.sid), what="alice's push")
        assert push["type"] == "twilio.channel.new_message"
        assert push["bindings"] == [
            {
                "binding_sid": binding.sid,
                "binding_type": platform,
                "address": device,
                "credential_sid": credential.sid,
            }
        ]
        assert_the_sdk_reads(sdk, pushing, token, push)

        chat2.services(service.sid).users(alice.sid).user_channels(channel.sid).update(
            notification_level="muted"
        )
        before = len(pushing.outbox(service=service.sid))
        quiet = messages.create(body="psst", from_="bob")
        # The pushes are queued in the message's own transaction: carol's alone, none for alice.
        assert len(pushing.outbox(service=service.sid)) == before + 1
        wait_for(lambda: pushes_for(gateway, "carol", quiet.sid), what="carol's push")
        assert pushes_for(gateway, "alice", quiet.sid) == []

        messages.create(body="next")
        assert script.line() == {"step": "unregistered"}
        wait_for(lambda: not bindings.list(identity=["alice"]), what="the binding removed")
        messages.create(body="next")
        assert script.line() == {"done": True}
    finally:
        code = script.close()
    assert code == 0


def assert_the_sdk_reads(sdk: Path, chinwag: Chinwag, token: str, push: dict[str, Any]) -> None:
    """Relayed to FCM or APNs under Twilio's key names (README, Real-time), chinwag's push is
    one the SDK parses: its type, text and the message's channel, SID and index."""
    code, seen = run_sdk(sdk, "pushparse.js", ws_url(chinwag.server), token, json.dumps(push))
    assert code == 0, seen
    data = {
        "channelSid": push["channel_sid"],
        "messageSid": push["message_sid"],
        "messageIndex": push["message_index"],
    }
    parsed = {"type": push["type"], "title": None, "body": push["text"], "data": data}
    assert seen["fcm"] == seen["handled"] == {**parsed, "sound": push["sound"], "badge": None}
    assert seen["apn"] == {**parsed, "sound": push["sound"], "badge": push["badge"]}
