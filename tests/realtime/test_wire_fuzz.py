"""Tunnelled requests and frames no SDK would send, generated: none breaks the server.

Each request takes a route the server knows (or, now and then, a wrong method), with the real
SIDs of a service, channel, message and identity or, one time in ten, junk in their place,
junk query and `params` values, and a JSON body of the SDK's own keys holding values of any
JSON type (or, one time in five, a form-encoded body of junk). The answer must be a reply of
status below 500, on a connection that stays open, and the server must log no traceback
meanwhile. Frames of any method and header, each on a connection of its own, may be answered
or end their connection, never the server's service. Generation is deterministic and bounded.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from chinwag.realtime.framing import MAGIC
from tests.realtime.conftest import Key, mint
from tests.realtime.test_protocol import init, reply_to, socket
from tests.support.generated import generated, tracebacks
from tests.support.servers import Server

EXAMPLES = 2000  # per database, about 10 s each

SERVICE = "Client/v1/Services/{service}"
CHANNEL = SERVICE + "/Conversations/{channel}"
ROUTES = [
    ("GET", "Client/v1/Configuration"),
    ("GET", SERVICE + "/Conversations"),
    ("POST", SERVICE + "/Conversations"),
    ("GET", CHANNEL),
    ("POST", CHANNEL),
    ("DELETE", CHANNEL),
    ("POST", CHANNEL + "/Participants"),
    ("POST", CHANNEL + "/Participants/{identity}"),
    ("DELETE", CHANNEL + "/Participants/{identity}"),
    ("POST", CHANNEL + "/Invites"),
    ("DELETE", CHANNEL + "/Invites/{identity}"),
    ("POST", CHANNEL + "/Messages"),
    ("POST", CHANNEL + "/Messages/{message}"),
    ("DELETE", CHANNEL + "/Messages/{message}"),
    ("GET", SERVICE + "/Users"),
    ("GET", SERVICE + "/Users/{identity}"),
    ("POST", SERVICE + "/Users/{identity}"),
    ("GET", SERVICE + "/Users/{identity}/Conversations"),
    ("GET", SERVICE + "/Users/{identity}/Conversations/{channel}"),
    ("POST", SERVICE + "/Users/{identity}/Conversations/{channel}"),
    ("POST", SERVICE + "/Typing"),
    ("GET", "v3/Documents/{channel}"),
    ("GET", "v3/Lists/{channel}"),
    ("GET", "v3/Maps/{channel}"),
    ("GET", "v3/Lists/{channel}/Items"),
    ("GET", "v3/Maps/{channel}/Items"),
    ("POST", "v4/Subscriptions"),
    ("POST", "v1/registrations"),
    ("DELETE", "v1/registrations/{channel}"),
]
# The keys the server reads from bodies, and the query parameters it reads.
KEYS = [
    "body", "attributes", "friendly_name", "unique_name", "type", "media_sid", "identity",
    "last_consumed_message_index", "notification_level", "status", "action", "requests",
    "correlation_id", "channel_sid", "ChannelSid", "items", "data", "message_types",
    "channel_type", "object_sid", "object_type", "last_event_id",
]  # fmt: skip
PARAMS = [
    "PageSize", "Order", "Index", "PageToken", "From", "ChannelSid", "ConversationSid",
    "Include", "Type",
]  # fmt: skip
ODD = ["", "0", "-1", "99999999999999999999999", "NaN", "%00", "..", "%2F", "null", "[]", "\x00"]

junk = st.text(max_size=40) | st.sampled_from([*ODD, "IS" + "f" * 32])
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars | junk,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def tunnelled(draw: st.DrawFn, real: dict[str, str]) -> tuple[dict[str, Any], Any]:
    """A tunnelled request (the frame's `http_request`) and its body."""
    method, template = draw(st.sampled_from(ROUTES))
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "DELETE", "PUT", "patch", ""]))
    odd = junk.filter(lambda text: "/" not in text)
    fills = {k: draw(odd) if draw(st.integers(0, 9)) == 0 else v for k, v in real.items()}
    path = "/" + template.format(**fills)
    query = draw(st.dictionaries(st.sampled_from(PARAMS), junk, max_size=3))
    if query:
        path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    request: dict[str, Any] = {"host": "aim", "path": path, "method": method}
    if draw(st.booleans()):
        request["params"] = draw(st.dictionaries(st.sampled_from(PARAMS), values, max_size=3))
    body = draw(st.none() | st.dictionaries(st.sampled_from(KEYS), values, max_size=5) | values)
    if draw(st.integers(0, 4)) == 0:  # a form-encoded body instead, as text
        fields = draw(st.dictionaries(st.sampled_from(KEYS) | junk, junk, max_size=4))
        body = Text("&".join(f"{k}={v}" for k, v in fields.items()))
    return request, body


class Text(str):
    """A body sent as it is, without `payload_type` (the server reads it as a form)."""


def frame(header: dict[str, Any], body: Any) -> bytes:
    """`framing.encode`'s frame by the standard library's JSON, which writes integers of any
    size (orjson refuses those past 64 bits; a client in another language may send them)."""
    if isinstance(body, Text):
        payload = body.encode()
    elif body is not None:
        payload = json.dumps(body).encode()
        header = {"payload_type": "application/json", **header}
    else:
        payload = b""
    head = json.dumps({**header, "payload_size": len(payload)}).encode()
    return MAGIC + str(len(head)).encode() + b"\r\n" + head + b"\r\n" + payload


@pytest.fixture
def real(service: Any) -> dict[str, str]:
    """The SIDs of a channel the identity `wire` is a member of, and of one of its messages."""
    channel = service.channels.create(friendly_name="fuzz", unique_name="fuzz")
    channel.members.create(identity="wire")
    message = channel.messages.create(body="hello", from_="wire")
    return {
        "service": service.sid,
        "channel": channel.sid,
        "message": message.sid,
        "identity": "wire",
    }


# websockets draws its frame masks from `random`, which hypothesis notices between examples
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_generated_requests_are_answered_below_500(
    server: Server, api_key: Key, real: dict[str, str]
) -> None:
    logged = tracebacks(server)
    failures: list[str] = []
    with socket(server) as ws:
        init(ws, mint(api_key, real["service"], "wire"))
        sent = iter(range(1_000_000))

        @generated(EXAMPLES)
        @given(tunnelled(real))
        def ask(case: tuple[dict[str, Any], Any]) -> None:
            request, body = case
            frame_id = f"TM{next(sent)}"
            ws.send(frame({"method": "message", "id": frame_id, "http_request": request}, body))
            header, payload = reply_to(ws, frame_id)
            if header["http_status"]["code"] >= 500:
                failures.append(f"{request!r} {body!r} -> {header['http_status']} {payload!r}")

        ask()
    assert not failures, "\n".join(failures[:10])
    assert tracebacks(server) == logged, "the server logged a traceback"


HEADER_KEYS = [
    "method", "id", "token", "capabilities", "registrations", "payload_type", "payload_size",
    "http_request", "status", "message_types", "continuation_token", "activity",
]  # fmt: skip
METHODS = [
    "init", "message", "update", "close", "reply", "ping", "telemetry.v1",
    "put_notification_ctx", "delete_notification_ctx", "client_update", "notification", "",
]  # fmt: skip


@st.composite
def frames(draw: st.DrawFn) -> tuple[dict[str, Any], Any]:
    """Any frame header a client could send after signing in, and a body."""
    header = draw(st.dictionaries(st.sampled_from(HEADER_KEYS), values, max_size=5))
    header["method"] = draw(st.sampled_from(METHODS) | values)
    header["id"] = draw(st.sampled_from(["TMx"]) | values)
    header.pop("payload_size", None)  # `frame` writes the true one
    header.pop("payload_type", None)
    body = draw(st.none() | values)
    return header, body


# websockets draws its frame masks from `random`, which hypothesis notices between examples
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
def test_generated_frames_never_break_the_server(
    server: Server, api_key: Key, real: dict[str, str]
) -> None:
    """Frames of any method and header on a signed-in connection: each gets a reply, a close
    or nothing, and afterwards a new connection still signs in; no traceback is logged."""
    logged = tracebacks(server)
    token = mint(api_key, real["service"], "wire")

    @generated(EXAMPLES // 10)  # a connection each
    @given(frames())
    def send(case: tuple[dict[str, Any], Any]) -> None:
        header, body = case
        with socket(server) as ws:
            init(ws, token)
            ws.send(frame(header, body))
            with contextlib.suppress(ConnectionClosed, TimeoutError):
                ws.recv(timeout=0.2)

    send()
    with socket(server) as ws:
        assert init(ws, token)["status"]["code"] == 200
    assert tracebacks(server) == logged, "the server logged a traceback"
