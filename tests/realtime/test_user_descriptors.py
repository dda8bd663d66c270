"""A channel's user descriptors over the wire (`channel.getUserDescriptors()`): paged in the
order the members joined, with reachability as REST reports it; a private channel's only for
its members."""

from __future__ import annotations

from typing import Any

from websockets.sync.client import ClientConnection

from chinwag.realtime.aim import PAGE
from chinwag.realtime.framing import encode
from tests.realtime.conftest import Key, mint
from tests.realtime.test_protocol import init, reply_to, socket
from tests.support.servers import Server


def users_page(ws: ClientConnection, service_sid: str, query: str) -> tuple[int, Any]:
    path = f"Client/v1/Services/{service_sid}/Users?{query}"
    request = {"host": "aim", "path": path, "method": "GET"}
    ws.send(encode({"method": "message", "id": "TMu", "http_request": request}))
    header, body = reply_to(ws, "TMu")
    return int(header["http_status"]["code"]), body


def test_pages_of_a_channels_users(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    svc = chat.services(service.sid)
    svc.update(reachability_enabled=True)
    public = svc.channels.create(unique_name=unique("crowd"))
    identities = [f"u{n:03}" for n in range(PAGE + 1)]
    for identity in identities:
        svc.channels(public.sid).members.create(identity=identity)
    private = svc.channels.create(unique_name=unique("secret"), type="private")
    svc.channels(private.sid).members.create(identity="u000")
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "u001"))
        status, first = users_page(ws, service.sid, f"ConversationSid={public.sid}")
        assert status == 200, first
        assert [u["identity"] for u in first["users"]] == identities[:PAGE]
        assert first["meta"]["prev_token"] is None
        token = first["meta"]["next_token"]
        assert token
        me = next(u for u in first["users"] if u["identity"] == "u001")
        assert (me["is_online"], me["is_notifiable"]) == (True, None)
        assert me["sync_unique_name"].endswith(".info")
        status, rest = users_page(
            ws, service.sid, f"ConversationSid={public.sid}&PageToken={token}"
        )
        assert status == 200, rest
        assert [u["identity"] for u in rest["users"]] == identities[PAGE:]
        assert rest["meta"]["next_token"] is None
        status, hidden = users_page(ws, service.sid, f"ConversationSid={private.sid}")
        assert (status, hidden["code"]) == (404, 50300)
        status, missing = users_page(ws, service.sid, "")
        assert (status, missing["code"]) == (400, 20001)


def my_channels_page(ws: ClientConnection, service_sid: str, identity: str, token: str) -> Any:
    path = f"Client/v1/Services/{service_sid}/Users/{identity}/Conversations"
    request = {
        "host": "aim",
        "path": path + (f"?PageToken={token}" if token else ""),
        "method": "GET",
    }
    ws.send(encode({"method": "message", "id": "TMc", "http_request": request}))
    header, body = reply_to(ws, "TMc")
    assert int(header["http_status"]["code"]) == 200, body
    return body


def test_pages_of_a_users_channels(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """`getUserChannelDescriptors`: the channels a user joined, in the order joined, then
    those it is invited to, a page at a time; another user's (and another service's user of
    the same identity) never among them."""
    svc = chat.services(service.sid)
    me, other = unique("me"), unique("other")
    joined = [svc.channels.create().sid for _ in range(PAGE + 2)]
    for sid in joined:
        svc.channels(sid).members.create(identity=me)
    svc.channels(joined[0]).members.create(identity=other)
    invited = [svc.channels.create(type="private").sid for _ in range(2)]
    for sid in invited:
        svc.channels(sid).invites.create(identity=me)
    theirs = svc.channels.create().sid
    svc.channels(theirs).members.create(identity=other)
    elsewhere = chat.services.create(friendly_name=unique("elsewhere"))
    away = chat.services(elsewhere.sid).channels.create().sid
    chat.services(elsewhere.sid).channels(away).members.create(identity=me)
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, me))
        first = my_channels_page(ws, service.sid, me, "")
        second = my_channels_page(ws, service.sid, me, first["meta"]["next_token"])
    assert [c["sid"] for c in first["conversations"]] == joined[:PAGE]
    rest = [(c["sid"], c["status"]) for c in second["conversations"]]
    assert rest == [(sid, "joined") for sid in joined[PAGE:]] + [(s, "invited") for s in invited]
    assert second["meta"]["next_token"] is None
