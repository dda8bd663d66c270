"""TWILSOCK V3.0 frames: `TWILSOCK V3.0 <header bytes>\\r\\n<JSON header>\\r\\n<payload>`.

Decoding is strict and bounded: anything that is not exactly one well-formed frame within the
size limits raises `FrameError`, which carries the WebSocket close code the connection ends with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

MAGIC = b"TWILSOCK V3.0 "
MAX_FRAME = 512 * 1024  # a message's body is at most 32 KiB on Twilio; room for attributes
MAX_HEADER = 16 * 1024
MAX_ID = 128

# WebSocket close codes (RFC 6455): for frames we refuse, and for a fault of ours.
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
TOO_BIG = 1009
INTERNAL_ERROR = 1011


class FrameError(Exception):
    """A frame we cannot accept; the connection is closed with `close_code`."""

    def __init__(self, message: str, close_code: int = PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.close_code = close_code


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    body: bytes

    @property
    def method(self) -> str:
        return str(self.header["method"])

    @property
    def id(self) -> str:
        return str(self.header.get("id") or "")

    def is_json(self) -> bool:
        kind = self.header.get("payload_type")
        return kind is None or str(kind).startswith("application/json")

    def json(self) -> Any:
        """The payload as JSON (None when empty); FrameError(INVALID_DATA) if it is not."""
        if not self.body:
            return None
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as exc:
            raise FrameError("payload is not JSON", INVALID_DATA) from exc

    def text(self) -> str:
        try:
            return self.body.decode()
        except UnicodeDecodeError as exc:
            raise FrameError("payload is not UTF-8", INVALID_DATA) from exc


def encode(header: dict[str, Any], payload: Any = None) -> bytes:
    """One frame; `payload` is JSON-encoded unless it is already bytes or text."""
    if payload is None:
        body = b""
    elif isinstance(payload, bytes):
        body = payload
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = orjson.dumps(payload)
        header = {"payload_type": "application/json", **header}
    head = orjson.dumps({**header, "payload_size": len(body)})
    return MAGIC + str(len(head)).encode() + b"\r\n" + head + b"\r\n" + body


def _header_length(data: bytes) -> tuple[int, int]:
    """(header length, offset where the header starts), from the magic line."""
    end = data.find(b"\r\n", 0, len(MAGIC) + 12)  # up to 10 digits
    if not data.startswith(MAGIC) or end < 0:
        raise FrameError("not a TWILSOCK V3.0 frame")
    digits = data[len(MAGIC) : end]
    if not digits.isdigit():
        raise FrameError("bad header length")
    length = int(digits)
    if length > MAX_HEADER:
        raise FrameError("header too large", TOO_BIG)
    return length, end + 2


def decode(data: bytes | str) -> Frame:
    """Exactly one frame from a WebSocket message, or FrameError."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_FRAME:
        raise FrameError("frame too large", TOO_BIG)
    length, start = _header_length(raw)
    head = raw[start : start + length]
    if len(head) != length or raw[start + length : start + length + 2] != b"\r\n":
        raise FrameError("truncated header")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise FrameError("header is not JSON", INVALID_DATA) from exc
    if not isinstance(header, dict):
        raise FrameError("header is not an object", INVALID_DATA)
    method, frame_id, size = (
        header.get("method"),
        header.get("id", ""),
        header.get("payload_size", 0),
    )
    if not isinstance(method, str) or not method:
        raise FrameError("header has no method")
    if not isinstance(frame_id, str) or len(frame_id) > MAX_ID:
        raise FrameError("bad frame id")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FrameError("bad payload_size")
    body = raw[start + length + 2 :]
    if len(body) != size:
        raise FrameError("payload_size does not match the payload")
    return Frame(header, body)
