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
