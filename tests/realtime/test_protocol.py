"""The twilsock endpoint at the wire: every request answered, bad frames and clients closed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chinwag.realtime.framing import decode, encode
from tests.realtime.conftest import Key, mint, ws_url
from tests.support.servers import Server

WAIT = 10  # seconds, for every receive


@contextmanager
def socket(server: Server) -> Iterator[ClientConnection]:
    with connect(ws_url(server), open_timeout=WAIT, close_timeout=WAIT) as ws:
        yield ws


def receive(ws: ClientConnection) -> tuple[dict[str, Any], Any]:
    data = ws.recv(timeout=WAIT)
    assert isinstance(data, bytes), "the server sends binary frames only"
    frame = decode(data)
    return frame.header, frame.json() if frame.is_json() else frame.text()


def reply_to(ws: ClientConnection, frame_id: str) -> tuple[dict[str, Any], Any]:
    """The reply to `frame_id`, skipping notifications (and acknowledging nothing)."""
    for _ in range(50):
        header, payload = receive(ws)
        if header["method"] == "reply" and header["id"] == frame_id:
            return header, payload
    raise AssertionError(f"no reply to {frame_id}")


def init(ws: ClientConnection, token: str) -> dict[str, Any]:
    ws.send(
        encode(
            {
                "method": "init",
                "id": "TMinit",
                "token": token,
                "capabilities": ["client_update", "telemetry.v1"],
            }
        )
    )
    header, _ = reply_to(ws, "TMinit")
    return header


def fetch(ws: ClientConnection, path: str, host: str = "cds") -> dict[str, Any]:
    """A tunnelled GET that must answer 200: its body."""
    request = {"host": host, "path": path, "method": "GET"}
    ws.send(encode({"method": "message", "id": "TMg", "http_request": request}))
    header, body = reply_to(ws, "TMg")
    assert header["http_status"]["code"] == 200, body
    return dict(body)


def establish(ws: ClientConnection, asks: list[tuple[str, str, int]], correlation: int = 7) -> None:
    """Asks for subscriptions to (object SID, kind, last event id) and checks the 202."""
    requests = [{"object_sid": s, "object_type": k, "last_event_id": n} for s, k, n in asks]
    body = {"action": "establish", "correlation_id": correlation, "requests": requests}
    request = {"host": "cds", "path": "/v4/Subscriptions", "method": "POST"}
    ws.send(encode({"method": "message", "id": "TMs", "http_request": request}, body))
    assert reply_to(ws, "TMs")[0]["http_status"]["code"] == 202


def subscribe_from(
    ws: ClientConnection, sid: str, kind: str, last: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Subscribes to one object from event `last`: the events before `subscription_established`,
    and that confirmation."""
    establish(ws, [(sid, kind, last)])
    events = []
    while True:
        _, payload = receive(ws)
        if not isinstance(payload, dict) or "event_type" not in payload:
            continue
        if payload["event_type"] == "subscription_established":
            return events, payload["event"]
        events.append(payload)


def drain(ws: ClientConnection) -> None:
    for _ in range(50):
        ws.recv(timeout=WAIT)


def closed_with(ws: ClientConnection) -> int | None:
    """The close code the server closed with (frames before it are skipped)."""
    with pytest.raises(ConnectionClosed) as closed:
        drain(ws)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.fixture
def token(api_key: Key, service: Any) -> str:
    return mint(api_key, service.sid, "wire")


def test_init_reply(server: Server, token: str) -> None:
    with socket(server) as ws:
        header = init(ws, token)
    assert header["status"] == {"code": 200, "status": "OK"}
    assert header["capabilities"] == ["client_update"]  # telemetry is not confirmed
    assert header["continuation_token"].startswith("CT")


def test_every_request_is_answered(server: Server, token: str) -> None:
    """A tunnelled request gets a transport 200 with its own http_status, even a 404."""
    with socket(server) as ws:
        init(ws, token)
        request = {"host": "aim.us1.twilio.com", "path": "/Client/v1/Nowhere", "method": "GET"}
        ws.send(encode({"method": "message", "id": "TM1", "http_request": request}))
        header, body = reply_to(ws, "TM1")
        ws.send(encode({"method": "put_notification_ctx", "id": "TM2"}, {"message_types": ["x"]}))
        ctx, _ = reply_to(ws, "TM2")
        ws.send(encode({"method": "something_new", "id": "TM3"}))
        unknown, _ = reply_to(ws, "TM3")
    assert header["status"]["code"] == 200
    assert header["http_status"]["code"] == 404
    assert body["code"] == 20404
    assert ctx["status"]["code"] == 200
    assert unknown["status"]["code"] == 400


def test_configuration_over_the_wire(server: Server, token: str, service: Any) -> None:
    with socket(server) as ws:
        init(ws, token)
        request = {
            "host": "aim.us1.twilio.com",
            "path": "/Client/v1/Configuration",
            "method": "GET",
        }
        ws.send(encode({"method": "message", "id": "TMc", "http_request": request}))
        header, body = reply_to(ws, "TMc")
    assert header["http_status"]["code"] == 200
    assert body["identity"] == "wire"
    assert body["links"]["conversations"].endswith(
        f"/Client/v1/Services/{service.sid}/Conversations"
    )
    assert set(body["sync_objects"]) == {"my_user_info", "my_conversations"}


@pytest.mark.parametrize(
    "path",
    [
        "/v3/Documents/a\x00b",
        "/v3/Lists/\x00/Items",
        "/v3/Maps/a\x00b",
        "/Client/v1/Services/{service}/Conversations/a\x00b",
        "/Client/v1/Services/{service}/Users/\x00",
        "/Client/v1/Services/{service}/Users/wire/Conversations/a\x00b",
    ],
    ids=["document", "list-items", "map", "channel", "user", "user-channel"],
)
def test_a_nul_in_a_tunnelled_path_is_not_found(
    server: Server, token: str, service: Any, path: str
) -> None:
    """A path segment with a NUL names nothing: 404, as over REST (PostgreSQL answered 500),
    and the connection goes on."""
    with socket(server) as ws:
        init(ws, token)
        request = {"host": "cds", "path": path.format(service=service.sid), "method": "GET"}
        ws.send(encode({"method": "message", "id": "TMnul", "http_request": request}))
        header, body = reply_to(ws, "TMnul")
        assert header["http_status"]["code"] == 404, body
        assert body["code"] == 20404
        assert fetch(ws, "/Client/v1/Configuration", host="aim")["identity"] == "wire"


@pytest.mark.parametrize(
    ("query", "params"),
    [("?ConversationSid=%00", None), ("", {"ChannelSid": "CH\x00"}), ("?PageToken=a%00", None)],
    ids=["query", "params", "page-token"],
)
def test_a_nul_in_a_tunnelled_parameter_is_a_400_naming_it(
    server: Server, token: str, service: Any, query: str, params: dict[str, str] | None
) -> None:
    """A parameter value with a NUL is refused as over REST (the channel's users answered 500
    on PostgreSQL), and the connection goes on."""
    with socket(server) as ws:
        init(ws, token)
        path = f"/Client/v1/Services/{service.sid}/Users{query}"
        request = {"host": "aim", "path": path, "method": "GET", "params": params or {}}
        ws.send(encode({"method": "message", "id": "TMnul", "http_request": request}))
        header, body = reply_to(ws, "TMnul")
        assert header["http_status"]["code"] == 400, body
        name = (query[1:].partition("=")[0]) or next(iter(params or {}))
        assert body["code"] == 20001
        assert body["message"] == f"Invalid parameter {name}: contains a NUL character"
        assert fetch(ws, "/Client/v1/Configuration", host="aim")["identity"] == "wire"


def test_a_subscription_to_a_name_with_a_nul_fails_alone(server: Server, token: str) -> None:
    """An object named with a NUL does not exist: its subscription fails with 404 (PostgreSQL
    ended the whole request with an error), and the user's own map is still subscribed."""
    with socket(server) as ws:
        init(ws, token)
        my_channels = fetch(ws, "/Client/v1/Configuration", host="aim")["sync_objects"]
        asks = [("a\x00b", "map", 0), (my_channels["my_conversations"], "map", 0)]
        establish(ws, asks)
        outcomes: dict[str, Any] = {}
        while len(outcomes) < 2:
            _, payload = receive(ws)
            if isinstance(payload, dict) and payload.get("event_type", "").startswith("subscr"):
                outcomes[payload["event"]["object_sid"]] = payload
    assert outcomes["a\x00b"]["event_type"] == "subscription_failed"
    assert outcomes["a\x00b"]["event"]["error"]["status"] == 404
    assert outcomes[my_channels["my_conversations"]]["event_type"] == "subscription_established"


@pytest.mark.parametrize("channel", ["a\x00b", "lobby", ""], ids=["nul", "a-name", "none"])
def test_typing_in_no_channel_is_not_found(
    server: Server, token: str, service: Any, channel: str
) -> None:
    """Typing names its channel by SID: anything else is 404/50300 (a NUL answered 500 on
    PostgreSQL)."""
    with socket(server) as ws:
        init(ws, token)
        path = f"/Client/v1/Services/{service.sid}/Typing"
        request = {"host": "aim", "path": path, "method": "POST"}
        frame = {"method": "message", "id": "TMt", "http_request": request}
        ws.send(encode(frame, {"ChannelSid": channel}))
        header, body = reply_to(ws, "TMt")
    assert header["http_status"]["code"] == 404, body
    assert body["code"] == 50300


def test_garbage_frame_closes_with_protocol_error(server: Server) -> None:
    with socket(server) as ws:
        ws.send(b"HELLO")
        assert closed_with(ws) == 1002


def test_bad_json_header_closes_with_invalid_data(server: Server) -> None:
    with socket(server) as ws:
        ws.send(b"TWILSOCK V3.0 3\r\n{x}\r\n")
        assert closed_with(ws) == 1007


def test_oversized_frame_closes(server: Server) -> None:
    with socket(server) as ws:
        ws.send(encode({"method": "message", "id": "x"}, "a" * (600 * 1024)))
        assert closed_with(ws) == 1009


def test_request_before_init_is_refused(server: Server) -> None:
    with socket(server) as ws:
        ws.send(encode({"method": "message", "id": "TM1", "http_request": {}}))
        header, _ = receive(ws)
        assert header["method"] == "close"
        assert header["status"]["code"] == 406
        assert closed_with(ws) == 1008


def test_bad_token_gets_401_then_close(server: Server, api_key: Key, service: Any) -> None:
    forged = mint(Key(api_key.sid, "y" * 32, api_key.account_sid), service.sid, "x")
    with socket(server) as ws:
        header = init(ws, forged)
        assert header["status"]["code"] == 401
        assert header["status"]["errorCode"] == 20107
        assert closed_with(ws) == 1008


@pytest.mark.parametrize(
    "identity", ["a\x00b", "x" * 257, "US" + "0" * 32], ids=["nul", "too-long", "a-user-sid"]
)
def test_an_identity_rest_would_refuse_gets_401(
    server: Server, api_key: Key, service: Any, identity: str
) -> None:
    """The user a token's identity signs in as is created with REST's rules for an identity:
    one REST refuses is an invalid grant (a NUL ended the connection without an answer on
    PostgreSQL, and longer identities made users no REST call could)."""
    with socket(server) as ws:
        header = init(ws, mint(api_key, service.sid, identity))
        assert header["status"]["code"] == 401
        assert header["status"]["errorCode"] == 20106
        assert "Identity" in header["status"]["description"]
        assert closed_with(ws) == 1008


def test_subscription_replays_and_confirms(server: Server, token: str) -> None:
    """Subscribing to one's my-channels map from event 0 replays its events, then confirms."""
    with socket(server) as ws:
        init(ws, token)
        request = {"host": "aim", "path": "/Client/v1/Configuration", "method": "GET"}
        ws.send(encode({"method": "message", "id": "TMc", "http_request": request}))
        _, config = reply_to(ws, "TMc")
        info = config["sync_objects"]["my_user_info"]
        body = {
            "action": "establish",
            "correlation_id": 7,
            "requests": [{"object_sid": info, "object_type": "map", "last_event_id": 0}],
        }
        sub = {"host": "cds", "path": "/v4/Subscriptions", "method": "POST"}
        ws.send(encode({"method": "message", "id": "TMs", "http_request": sub}, body))
        header, _ = reply_to(ws, "TMs")
        assert header["http_status"]["code"] == 202
        seen = []
        while not seen or seen[-1]["event_type"] != "subscription_established":
            head, payload = receive(ws)
            if head["method"] == "notification":
                seen.append(payload)
    replayed = [e["event"]["item_key"] for e in seen[:-1]]
    assert replayed == ["friendlyName", "attributes"]
    assert [e["event"]["id"] for e in seen[:-1]] == [1, 2]
    assert seen[-1]["event"] == {
        "object_sid": info,
        "replay_status": "completed",
        "last_event_id": 2,
    }
    assert seen[-1]["correlation_id"] == 7


def test_another_users_own_map_is_not_found(server: Server, api_key: Key, service: Any) -> None:
    tokens = [mint(api_key, service.sid, who) for who in ("owner", "intruder")]
    ids = []
    for token in tokens:
        with socket(server) as ws:
            init(ws, token)
            request = {"host": "aim", "path": "/Client/v1/Configuration", "method": "GET"}
            ws.send(encode({"method": "message", "id": "TMc", "http_request": request}))
            ids.append(reply_to(ws, "TMc")[1]["sync_objects"]["my_conversations"])
    with socket(server) as ws:
        init(ws, tokens[1])
        request = {"host": "cds", "path": f"/v3/Maps/{ids[0]}", "method": "GET"}
        ws.send(encode({"method": "message", "id": "TMm", "http_request": request}))
        header, body = reply_to(ws, "TMm")
    assert header["http_status"]["code"] == 404
    assert body["code"] == 54100
    assert set(body) == {"code", "message", "more_info", "status"}


def test_a_message_item_names_its_authors_member(
    server: Server, token: str, service: Any, chat: Any
) -> None:
    """The messages list item of a REST create carries the author's member SID, or null when the
    author is not a member; the channel document's `lastMessage` follows the newest."""
    channels = chat.services(service.sid).channels
    channel = channels.create(friendly_name="authors")
    member = channels(channel.sid).members.create(identity="wire")
    for author in ("wire", "stranger", "wire"):
        channels(channel.sid).messages.create(body=f"from {author}", from_=author)
    with socket(server) as ws:
        init(ws, token)
        path = f"/v3/Lists/{channel.sid}.messages/Items?Order=asc&PageSize=10"
        ws.send(encode({"method": "message", "id": "TMl", "http_request": _get(path)}))
        _, listed = reply_to(ws, "TMl")
        path = f"/v3/Documents/{channel.sid}.channel"
        ws.send(encode({"method": "message", "id": "TMd", "http_request": _get(path)}))
        _, document = reply_to(ws, "TMd")
    items = [(i["index"], i["data"]["author"], i["data"]["memberSid"]) for i in listed["items"]]
    assert items == [(0, "wire", member.sid), (1, "stranger", None), (2, "wire", member.sid)]
    assert document["data"]["lastMessage"]["index"] == 2


def _get(path: str) -> dict[str, Any]:
    return {"host": "cds", "path": path, "method": "GET"}


def test_item_page_tokens_keep_their_page_size(
    server: Server, token: str, service: Any, chat: Any
) -> None:
    """SDK 5.x follows a Sync page token without PageSize: the token keeps the first page's
    size (an explicit PageSize still wins); a token with a size out of range is refused."""
    channel = chat.services(service.sid).channels.create(friendly_name="pages")
    chat.services(service.sid).channels(channel.sid).members.create(identity="wire")
    for index in range(6):
        chat.services(service.sid).channels(channel.sid).messages.create(body=f"m{index}")
    items = f"/v3/Lists/{channel.sid}.messages/Items"
    with socket(server) as ws:
        init(ws, token)

        def get(frame_id: str, **params: str) -> tuple[int, Any]:
            request = {"host": "cds", "path": items, "method": "GET", "params": params}
            ws.send(encode({"method": "message", "id": frame_id, "http_request": request}))
            header, body = reply_to(ws, frame_id)
            return header["http_status"]["code"], body

        _, first = get("TM1", PageSize="2", Order="desc")
        _, second = get("TM2", PageToken=first["meta"]["next_token"])
        _, back = get("TM3", PageToken=second["meta"]["previous_token"])
        _, narrower = get("TM4", PageToken=first["meta"]["next_token"], PageSize="1")
        forged = base64.urlsafe_b64encode(b"[true,3,0]").decode().rstrip("=")
        refused = get("TM5", PageToken=forged)
    assert [i["index"] for i in first["items"]] == [5, 4]
    assert [i["index"] for i in second["items"]] == [3, 2]
    assert [i["index"] for i in back["items"]] == [4, 5]
    assert [i["index"] for i in narrower["items"]] == [3]
    assert refused[0] == 400
    assert refused[1]["code"] == 20001


def test_a_refused_channel_object_comes_after_the_list_that_says_why(
    server: Server, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """Removed from a private channel, a client that asks for the channel's document again (with
    its channel list, as on reconnect) hears the list's `map_item_removed` before the document's
    `subscription_failed`: a 404 makes twilio-sync drop the document as removed, and dropped
    first the SDK would say `channelRemoved` without `channelLeft`."""
    svc = chat.services(service.sid)
    bob = unique("bob")
    channel = svc.channels.create(unique_name=unique("secret"), type="private")
    member = svc.channels(channel.sid).members.create(identity=bob)
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, bob))
        mine = fetch(ws, "/Client/v1/Configuration", "aim")["sync_objects"]["my_conversations"]
        before = fetch(ws, f"/v3/Maps/{mine}")["last_event_id"]
        document = fetch(ws, f"/v3/Documents/{channel.sid}.channel")["sid"]
        svc.channels(channel.sid).members(member.sid).delete()
        establish(ws, [(document, "document", 0), (mine, "map", before)], correlation=9)
        seen: list[tuple[str, str]] = []
        while len(seen) < 3:
            head, payload = receive(ws)
            if head["method"] == "notification" and isinstance(payload, dict):
                event = payload["event"]
                seen.append((payload["event_type"], event.get("item_key") or event["object_sid"]))
    assert seen == [
        ("map_item_removed", channel.sid),
        ("subscription_established", mine),
        ("subscription_failed", document),
    ]


@pytest.mark.parametrize("offered", [5, True, "client_update", {"client_update": 1}, None])
def test_capabilities_of_another_shape_confirm_none(
    server: Server, token: str, offered: Any
) -> None:
    """`capabilities` that is not a list confirms nothing, and the connection goes on (a
    number ended it after 10 s, without an answer or a close frame)."""
    with socket(server) as ws:
        frame = {"method": "init", "id": "TMinit", "token": token, "capabilities": offered}
        ws.send(encode(frame))
        header, _ = reply_to(ws, "TMinit")
        assert header["status"]["code"] == 200
        assert header["capabilities"] == []
        assert fetch(ws, "/Client/v1/Configuration", host="aim")["identity"] == "wire"


def test_a_token_holding_a_lone_surrogate_gets_401(
    server: Server, api_key: Key, service: Any
) -> None:
    """A `\\ud800` escape in a token's JSON is no text any column stores: an invalid token (its
    identity's user could not be written, and the connection hung 10 s)."""
    with socket(server) as ws:
        header = init(ws, mint(api_key, service.sid, "a\ud800b"))
        assert header["status"]["code"] == 401
        assert header["status"]["errorCode"] == 20101
        assert closed_with(ws) == 1008


@pytest.mark.parametrize("params", [[1, 2], "abc", 1], ids=["list", "text", "number"])
def test_tunnelled_params_not_an_object_are_a_400(server: Server, token: str, params: Any) -> None:
    """A request's `params` must be an object (others answered 500)."""
    with socket(server) as ws:
        init(ws, token)
        path = "/Client/v1/Configuration"
        request = {"host": "aim", "path": path, "method": "GET", "params": params}
        ws.send(encode({"method": "message", "id": "TMp", "http_request": request}))
        header, body = reply_to(ws, "TMp")
        assert header["http_status"]["code"] == 400, body
        assert body["code"] == 20001
        assert fetch(ws, path, host="aim")["identity"] == "wire"


def _token_of(*fields: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode().rstrip("=")


NINES = "9" * 25
NUMBERS = [
    ("items", {"PageSize": "²"}),
    ("items", {"PageSize": NINES}),
    ("items", {"Index": NINES}),
    ("items", {"From": NINES}),
    ("items", {"From": "²"}),
    ("items", {"PageToken": _token_of(False, 2**64, 10)}),
    ("items", {"PageToken": _token_of(False, "abc", 10)}),
    ("items", {"PageToken": _token_of(False, True, 10)}),
    ("map", {"PageToken": _token_of(False, 5, 10)}),
    ("conversations", {"PageToken": "PA²"}),
    ("conversations", {"PageToken": "PA" + NINES}),
    ("mine", {"PageToken": "PA²"}),
    ("mine", {"PageToken": "PI²"}),
    ("mine", {"PageToken": "PI" + NINES}),
    ("users", {"PageToken": "PA" + NINES}),
]


@pytest.mark.parametrize(("where", "params"), NUMBERS)
def test_a_number_no_column_holds_is_a_400(
    server: Server, token: str, service: Any, chat: Any, where: str, params: dict[str, str]
) -> None:
    """Page sizes, indexes and page tokens take ASCII digits a BIGINT holds, and a token's
    position of its object's kind ("²" passes `str.isdigit` and fails `int`; 25 digits, or a
    list's token naming a key, reached the database: 500s)."""
    channel = chat.services(service.sid).channels.create(friendly_name="numbers")
    chat.services(service.sid).channels(channel.sid).members.create(identity="wire")
    root = f"/Client/v1/Services/{service.sid}"
    with socket(server) as ws:
        init(ws, token)
        config = fetch(ws, "/Client/v1/Configuration", host="aim")
        path = {
            "items": f"/v3/Lists/{channel.sid}.messages/Items",
            "map": f"/v3/Maps/{config['sync_objects']['my_conversations']}/Items",
            "conversations": f"{root}/Conversations",
            "mine": f"{root}/Users/wire/Conversations",
            "users": f"{root}/Users?ConversationSid={channel.sid}",
        }[where]
        request = {"host": "cds", "path": path, "method": "GET", "params": params}
        ws.send(encode({"method": "message", "id": "TMn", "http_request": request}))
        header, body = reply_to(ws, "TMn")
        assert header["http_status"]["code"] == 400, body
        assert body["code"] == 20001
        assert fetch(ws, "/Client/v1/Configuration", host="aim")["identity"] == "wire"


def test_a_subscription_past_the_last_event_goes_on_from_the_last(
    server: Server, token: str, service: Any, chat: Any
) -> None:
    """A `last_event_id` past the object's last (past any BIGINT even) goes on from its last
    event: the next one is delivered (each failed, and logged a traceback); an object asked
    for more than once in a request is replayed and confirmed once."""
    svc = chat.services(service.sid)
    channel = svc.channels.create(friendly_name="later")
    svc.channels(channel.sid).members.create(identity="wire")
    svc.channels(channel.sid).messages.create(body="before")
    messages = f"{channel.sid}.messages"
    with socket(server) as ws:
        init(ws, token)
        my_channels = fetch(ws, "/Client/v1/Configuration", host="aim")["sync_objects"]
        asks = [(messages, "list", 2**63), (messages, "list", 2**64 - 1)]
        asks += [(my_channels["my_conversations"], "map", 0)]
        requests = [{"object_sid": s, "object_type": k, "last_event_id": n} for s, k, n in asks]
        body = json.dumps({"action": "establish", "correlation_id": 7, "requests": requests})
        request = {"host": "cds", "path": "/v4/Subscriptions", "method": "POST"}
        ws.send(encode({"method": "message", "id": "TMs", "http_request": request}, body))
        assert reply_to(ws, "TMs")[0]["http_status"]["code"] == 202
        established: list[dict[str, Any]] = []
        while len(established) < 2:
            _, payload = receive(ws)
            if (
                isinstance(payload, dict)
                and payload.get("event_type") == "subscription_established"
            ):
                established.append(payload["event"])
        assert [e["object_sid"] for e in established] == [messages, asks[2][0]]
        last = established[0]["last_event_id"]
        assert 0 < last < 2**63
        svc.channels(channel.sid).messages.create(body="after")
        for _ in range(50):
            _, payload = receive(ws)
            if isinstance(payload, dict) and payload.get("event_type") == "list_item_added":
                assert payload["event"]["id"] == last + 1
                assert payload["event"]["item_data"]["text"] == "after"
                break
        else:
            raise AssertionError("the message after the subscription was not delivered")


def test_an_identity_with_a_slash_follows_its_own_links(
    server: Server, api_key: Key, service: Any, chat: Any
) -> None:
    """An identity may hold `/`: the links chinwag hands out quote it as %2F, and they lead to
    the user and its channels (both answered 404)."""
    svc = chat.services(service.sid)
    channel = svc.channels.create(friendly_name="slashes")
    svc.channels(channel.sid).members.create(identity="team/carol")
    with socket(server) as ws:
        init(ws, mint(api_key, service.sid, "team/carol"))
        links = fetch(ws, "/Client/v1/Configuration", host="aim")["links"]
        assert links["current_user"].endswith("/Users/team%2Fcarol")
        me = fetch(ws, links["current_user"].split("://", 1)[1].partition("/")[2], host="aim")
        mine = fetch(ws, "/" + links["my_conversations"].split("://", 1)[1].partition("/")[2])
    assert me["identity"] == "team/carol"
    assert [c["conversation_sid"] for c in mine["conversations"]] == [channel.sid]
