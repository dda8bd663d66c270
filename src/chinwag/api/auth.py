"""HTTP Basic auth as the official clients send it: AC + auth token, or SK + API key secret."""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request

from chinwag.api.errors import UNAUTHORIZED
from chinwag.runtime import Runtime
from chinwag.store.accounts import Account, authenticate


def credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def request_credentials(request: Request) -> tuple[str, str]:
    """The Basic credentials a request carries, or 401/20003 without them."""
    pair = credentials(request.headers.get("authorization", ""))
    if pair is None:
        raise UNAUTHORIZED
    return pair


async def authenticate_request(request: Request, runtime: Runtime) -> Account:
    """The caller's account, in a short read of its own (for work before the transaction)."""
    pair = request_credentials(request)
    async with runtime.db.read() as conn:
        account = await authenticate(conn, runtime.tables, *pair)
    if account is None:
        raise UNAUTHORIZED
    return account
