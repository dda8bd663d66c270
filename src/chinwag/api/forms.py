"""Form decoding as Twilio's clients send it over HTTP.

Bodies are `application/x-www-form-urlencoded`: spaces as `+` or `%20`, lists as repeated keys
(`Permission=a&Permission=b`), nested names as literal dotted keys (`Limits.ChannelMembers`).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

from chinwag.model.errors import ApiError
from chinwag.model.params import Form

MAX_BODY = 1024 * 1024  # 1 MB: larger requests are refused with 413
MAX_PAIRS = 10_000


def decode(raw: bytes) -> Form:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, 20001, "The request body is not valid UTF-8") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PAIRS, errors="strict")
    except ValueError:
        raise ApiError(
            400, 20001, "Too many parameters, or a parameter that is not UTF-8"
        ) from None
    return Form(pairs)


async def read_body(request: Request) -> Form:
    """The form body, refused with 413 past `MAX_BODY` bytes however it is sent."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, 20001, f"The request body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, 20001, f"The request body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return decode(b"".join(chunks))


def read_query(request: Request) -> Form:
    return decode(request.scope.get("query_string", b""))
