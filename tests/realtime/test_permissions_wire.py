"""Permissions and private channels at the wire: the tunnelled requests the SDK sends, as one
user, while the app's backend changes roles and memberships over REST."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.sync.client import ClientConnection

from chinwag.realtime.framing import encode
from tests.realtime.conftest import Key, mint
from tests.realtime.test_protocol import init, reply_to, socket
from tests.support.servers import Server


class Wire:
    """One SDK user's connection, sending tunnelled requests one at a time."""

    def __init__(self, ws: ClientConnection, service_sid: str) -> None:
        self.ws = ws
        self.root = f"/Client/v1/Services/{service_sid}"
        self.count = 0

    def send(self, host: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        self.count += 1
        frame_id = f"TM{self.count}"
        request = {"host": host, "path": path, "method": method}
        if body is not None:
            request["headers"] = {"Content-Type": "application/json"}
        self.ws.send(encode({"method": "message", "id": frame_id, "http_request": request}, body))
        header, payload = reply_to(self.ws, frame_id)
        return int(header["http_status"]["code"]), payload

    def aim(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self.send("aim", method, self.root + path, body)

    def code(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        status, payload = self.aim(method, path, body)
        return status, payload.get("code") if isinstance(payload, dict) else None


@contextmanager
def connected(server: Server, api_key: Key, service: Any, identity: str) -> Iterator[Wire]:
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, identity))
        yield Wire(ws, service.sid)


def _role(svc: Any, name: str) -> Any:
    return next(r for r in svc.roles.list() if r.friendly_name == name)


def test_a_users_role_changed_over_rest_counts_at_once(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """createChannel comes from the user's service role: a role without it refuses, and giving
    the user its role back allows again, within one connection."""
    svc = chat.services(service.sid)
    identity = unique("plain")
    readers = svc.roles.create(
        friendly_name="readers", type="deployment", permission=["joinChannel"]
    )
    with connected(server, api_key, service, identity) as wire:
        svc.users(identity).update(role_sid=readers.sid)
        refused = wire.code("POST", "/Conversations", {"friendly_name": "no"})
        svc.users(identity).update(role_sid=_role(svc, "service user").sid)
        allowed, created = wire.aim("POST", "/Conversations", {"friendly_name": "yes"})
    assert refused == (403, 50107)
    assert allowed == 201
    assert created["created_by"] == identity
    assert [c.friendly_name for c in svc.channels.list()] == ["yes"]


def test_a_members_role_changed_over_rest_counts_at_once(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """deleteAnyMessage comes from the member's channel role: a channel user may not remove
    another's message until the backend makes it a channel admin."""
    svc = chat.services(service.sid)
    mod = unique("mod")
    channel = svc.channels.create(friendly_name="room")
    member = svc.channels(channel.sid).members.create(identity=mod)
    svc.channels(channel.sid).members.create(identity="someone")
    message = svc.channels(channel.sid).messages.create(body="spam", from_="someone")
    path = f"/Conversations/{channel.sid}/Messages/{message.sid}"
    with connected(server, api_key, service, mod) as wire:
        refused = wire.code("DELETE", path)
        still = [m.body for m in svc.channels(channel.sid).messages.list()]
        admin = _role(svc, "channel admin")
        svc.channels(channel.sid).members(member.sid).update(role_sid=admin.sid)
        allowed = wire.code("DELETE", path)
    assert refused == (403, 50107)
    assert still == ["spam"]
    assert allowed == (204, None)
    assert svc.channels(channel.sid).messages.list() == []


def test_a_private_channel_does_not_exist_for_a_stranger(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """Neither its descriptor, nor its Sync objects, nor a join: 404 as for no channel; the
    same requests work once the backend invites the stranger."""
    svc = chat.services(service.sid)
    stranger = unique("stranger")
    channel = svc.channels.create(friendly_name="hidden", type="private")
    svc.channels(channel.sid).members.create(identity="insider")
    svc.channels(channel.sid).messages.create(body="secret", from_="insider")
    with connected(server, api_key, service, stranger) as wire:
        fetched = wire.code("GET", f"/Conversations/{channel.sid}")
        listed = wire.aim("GET", "/Conversations")[1]["conversations"]
        objects = {
            kind: wire.send("cds", "GET", f"/v3/{kind}/{channel.sid}.{name}")[0]
            for kind, name in (("Documents", "channel"), ("Lists", "messages"), ("Maps", "roster"))
        }
        joined = wire.code("POST", f"/Conversations/{channel.sid}/Participants", {})
        sent = wire.code("POST", f"/Conversations/{channel.sid}/Messages", {"body": "hi"})
        svc.channels(channel.sid).invites.create(identity=stranger)
        mine = wire.aim("GET", f"/Users/{stranger}/Conversations")[1]["conversations"]
        document = wire.send("cds", "GET", f"/v3/Documents/{channel.sid}.channel")[0]
        accepted = wire.code("POST", f"/Conversations/{channel.sid}/Participants", {})
    assert fetched == (404, 50300)
    assert channel.sid not in [c["sid"] for c in listed]
    assert objects == {"Documents": 404, "Lists": 404, "Maps": 404}
    assert joined == (404, 50300)
    assert sent == (404, 50300)
    assert [(c["sid"], c["status"]) for c in mine] == [(channel.sid, "invited")]
    assert document == 200
    assert accepted[0] == 201
    members = svc.channels(channel.sid).members.list()
    assert sorted(m.identity for m in members) == sorted(["insider", stranger])
    assert svc.channels(channel.sid).invites.list() == []
    assert [m.body for m in svc.channels(channel.sid).messages.list()] == ["secret"]
