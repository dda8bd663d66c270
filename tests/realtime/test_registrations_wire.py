"""Push registrations at the wire (`ers…/v1/registrations`, tunnelled): what the SDK sends
becomes the user's Binding; bad requests get Twilio's errors; one's own bindings only."""

from __future__ import annotations

import secrets
from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant
from twilio.rest import Client
from websockets.sync.client import ClientConnection

from chinwag.realtime.framing import encode
from tests.realtime.conftest import Key, mint
from tests.realtime.test_protocol import init, reply_to, socket
from tests.support.servers import Server

NEW_MESSAGE = "twilio.channel.new_message"


def ers(ws: ClientConnection, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One tunnelled request to the registrar, as @twilio/notifications sends it."""
    frame_id = "TM" + secrets.token_hex(8)
    request = {
        "host": "ers.us1.twilio.com",
        "path": path + "?productId=ip_messaging",
        "method": method,
        "headers": {"Content-Type": "application/json"},
    }
    header = {"method": "message", "id": frame_id, "http_request": request}
    header["payload_type"] = "application/json"
    ws.send(encode(header, body))
    reply, payload = reply_to(ws, frame_id)
    assert reply["status"]["code"] == 200
    return int(reply["http_status"]["code"]), payload


def registration(channel_type: str, device: str, *types: str) -> dict[str, Any]:
    return {
        "endpoint_platform": "node",
        "channel_type": channel_type,
        "version": "3",
        "message_types": list(types) or [NEW_MESSAGE, "twilio.channel.consumption_update"],
        "data": {"registration_id": device},
    }


def test_registration_is_the_users_binding(
    server: Server, api_key: Key, service: Any, client: Client
) -> None:
    """Without an endpoint in the token the endpoint comes from the device token, types Chat
    never pushes are dropped, and the answer's id is the Binding's SID."""
    device = "device-" + secrets.token_hex(8)
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "alice"))
        status, body = ers(ws, "POST", "/v1/registrations", registration("fcm", device))
    assert status == 201, body
    [binding] = client.chat.v2.services(service.sid).bindings.list(identity=["alice"])
    assert body["id"] == binding.sid
    assert binding.binding_type == "fcm"
    assert binding.endpoint.startswith("sdk-fcm-")
    assert binding.message_types == [NEW_MESSAGE]
    assert binding.credential_sid is None


def test_a_device_moves_to_whoever_registers_it(
    server: Server, api_key: Key, service: Any, client: Client
) -> None:
    """The same device registered by bob replaces alice's binding (one device, one user)."""
    device = "shared-" + secrets.token_hex(8)
    for identity in ("alice", "bob"):
        with socket(server) as ws:
            init(ws, mint(api_key, service.sid, identity))
            status, _ = ers(ws, "POST", "/v1/registrations", registration("apn", device))
            assert status == 201
    bindings = client.chat.v2.services(service.sid).bindings.list()
    assert [b.identity for b in bindings] == ["bob"]


def test_bad_registrations_are_refused(server: Server, api_key: Key, service: Any) -> None:
    """An unknown platform or a missing device token is 400 with Twilio's body."""
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "alice"))
        sms, sms_body = ers(ws, "POST", "/v1/registrations", registration("sms", "x"))
        empty, empty_body = ers(ws, "POST", "/v1/registrations", registration("fcm", ""))
        junk, _ = ers(ws, "POST", "/v1/registrations", ["not", "an", "object"])
    assert (sms, sms_body["code"]) == (400, 20001)
    assert "channel_type" in sms_body["message"]
    assert (empty, empty_body["code"]) == (400, 20001)
    assert junk == 400


def test_an_endpoint_too_long_to_index_is_refused(
    server: Server, api_key: Key, service: Any
) -> None:
    """A token's endpoint_id of 600 CJK characters (1.8 kB) is over the binding's 512: 400
    naming Endpoint (1,000 of them answered 500 on PostgreSQL, past its index entry's size)."""
    token = AccessToken(api_key.account_sid, api_key.sid, api_key.secret, identity="alice")
    endpoint = "".join(chr(0x4E00 + n * 7919 % 20000) for n in range(600))
    token.add_grant(ChatGrant(service_sid=service.sid, endpoint_id=endpoint))
    with socket(server) as ws:
        init(ws, str(token.to_jwt()))
        status, body = ers(ws, "POST", "/v1/registrations", registration("fcm", "device"))
    assert (status, body["code"]) == (400, 20001), body
    assert "Endpoint" in body["message"]


def test_only_ones_own_binding_is_removed(
    server: Server, api_key: Key, service: Any, client: Client
) -> None:
    """bob cannot remove alice's registration (404, it stays); alice can (204, it is gone)."""
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "alice"))
        _, body = ers(ws, "POST", "/v1/registrations", registration("fcm", "a-device"))
    sid = body["id"]
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "bob"))
        status, error = ers(ws, "DELETE", f"/v1/registrations/{sid}")
    assert (status, error["code"]) == (404, 20404)
    bindings = client.chat.v2.services(service.sid).bindings
    assert [b.sid for b in bindings.list()] == [sid]
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "alice"))
        status, _ = ers(ws, "DELETE", f"/v1/registrations/{sid}")
    assert status == 204
    assert bindings.list() == []
