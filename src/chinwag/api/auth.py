"""HTTP Basic auth as the official clients send it: AC + auth token, or SK + API key secret."""

from __future__ import annotations

import base64

from starlette.requests import Request

from chinwag.model.errors import UNAUTHORIZED


def credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def request_credentials(request: Request) -> tuple[str, str]:
    """The Basic credentials a request carries, or 401/20003 without them."""
    pair = credentials(request.headers.get("authorization", ""))
    if pair is None:
        raise UNAUTHORIZED
    return pair
