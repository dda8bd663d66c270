"""TWILSOCK V3.0 frames: what the SDK sends decodes; anything malformed is refused with a code."""

from __future__ import annotations

import orjson
import pytest

from chinwag.realtime.framing import (
    INVALID_DATA,
    MAX_FRAME,
    PROTOCOL_ERROR,
    TOO_BIG,
    FrameError,
    decode,
    encode,
)


def sdk_frame(header: dict[str, object], payload: str = "") -> bytes:
    """Built as twilsock's Parser.createPacket builds it."""
    body = payload.encode()
    head = orjson.dumps({**header, "payload_size": len(body)})
    return b"TWILSOCK V3.0 %d\r\n" % len(head) + head + b"\r\n" + body


def test_round_trip() -> None:
    frame = decode(encode({"method": "reply", "id": "TM1"}, {"a": [1, "é"]}))
    assert frame.method == "reply"
    assert frame.id == "TM1"
    assert frame.header["payload_type"] == "application/json"
    assert frame.json() == {"a": [1, "é"]}


def test_sdk_frame_with_form_body() -> None:
    header = {"method": "message", "id": "TM2", "payload_type": "application/x-www-form-urlencoded"}
    frame = decode(sdk_frame(header, "ChannelSid=CH1"))
    assert not frame.is_json()
    assert frame.text() == "ChannelSid=CH1"


def test_payload_size_counts_bytes_not_characters() -> None:
    frame = decode(sdk_frame({"method": "message", "id": "x"}, '"ünïcödé"'))
    assert frame.json() == "ünïcödé"


def test_empty_payload_is_none() -> None:
    assert decode(sdk_frame({"method": "init", "id": "x"})).json() is None


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", PROTOCOL_ERROR),
        (b"HELLO", PROTOCOL_ERROR),
        (b"TWILSOCK V2.0 2\r\n{}\r\n", PROTOCOL_ERROR),
        (b"TWILSOCK V3.0 x\r\n{}\r\n", PROTOCOL_ERROR),
        (b"TWILSOCK V3.0 99\r\n{}\r\n", PROTOCOL_ERROR),  # header shorter than announced
        (b"TWILSOCK V3.0 2\r\n{}", PROTOCOL_ERROR),  # no separator
        (b"TWILSOCK V3.0 2\r\n[]\r\n", INVALID_DATA),
        (b"TWILSOCK V3.0 3\r\n{x}\r\n", INVALID_DATA),
        (b"TWILSOCK V3.0 2\r\n{}\r\n", PROTOCOL_ERROR),  # no method
        (b"TWILSOCK V3.0 99999999\r\n", TOO_BIG),
    ],
)
def test_malformed_frames_are_refused(data: bytes, code: int) -> None:
    with pytest.raises(FrameError) as error:
        decode(data)
    assert error.value.close_code == code


def test_payload_size_must_match() -> None:
    good = sdk_frame({"method": "message", "id": "x"}, "{}")
    with pytest.raises(FrameError):
        decode(good + b"extra")
    with pytest.raises(FrameError):
        decode(good[:-1])


@pytest.mark.parametrize("size", [-1, "3", True, 1.5])
def test_bad_payload_size(size: object) -> None:
    head = orjson.dumps({"method": "m", "id": "x", "payload_size": size})
    with pytest.raises(FrameError):
        decode(b"TWILSOCK V3.0 %d\r\n" % len(head) + head + b"\r\n")


def test_oversized_frame() -> None:
    with pytest.raises(FrameError) as error:
        decode(sdk_frame({"method": "message", "id": "x"}, "a" * MAX_FRAME))
    assert error.value.close_code == TOO_BIG


def test_bad_json_payload_is_refused_when_read() -> None:
    frame = decode(sdk_frame({"method": "message", "id": "x"}, "{nope"))
    with pytest.raises(FrameError) as error:
        frame.json()
    assert error.value.close_code == INVALID_DATA


def test_long_id_is_refused() -> None:
    with pytest.raises(FrameError):
        decode(sdk_frame({"method": "message", "id": "x" * 500}))
