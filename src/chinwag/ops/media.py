"""Storing an uploaded media file, and the signed, expiring URLs that serve its bytes.

A front door receives the bytes into a temporary file in the media directory (see
`Settings.media_path`); `store` moves it under its SID and inserts the row in one transaction,
so a crash leaves at worst an orphan file, never a row without its bytes.

`temporary_url` is Twilio's `links.content_direct_temporary`: a plain GET fetches the bytes,
with no credentials, until the URL expires (CONTENT_URL_LIFETIME seconds after it was made).
It carries `Expires` (Unix seconds) and `Signature`, an HMAC-SHA256 of
`"{ServiceSid}/{MediaSid}/{Expires}"` keyed with the account's auth token, so changing the
auth token revokes every URL handed out before.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chinwag import clock, times
from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.ops.actions import Operation, Outcome, open_context, unstorable
from chinwag.ops.crud import Result
from chinwag.runtime import Runtime
from chinwag.sids import is_sid, new_sid
from chinwag.store.accounts import Account
from chinwag.store.errors import Refused

CONTENT_URL_LIFETIME = 300  # seconds a temporary content URL serves the bytes (Twilio: minutes)
CONTENT_TYPE_MAX = 255  # characters: a type and a subtype of 127 each (RFC 6838), parameters
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def content_type_of(sent: str | None) -> str:
    """The upload's Content-Type as sent, in printable ASCII and at most CONTENT_TYPE_MAX
    characters (else a 400); none or an empty one (a browser's file of unknown type) is
    DEFAULT_CONTENT_TYPE."""
    value = (sent or "").strip()
    if not value:
        return DEFAULT_CONTENT_TYPE
    if len(value) > CONTENT_TYPE_MAX:
        raise InvalidParameter("Content-Type", f"longer than {CONTENT_TYPE_MAX} characters")
    if not (value.isascii() and value.isprintable()):
        raise InvalidParameter("Content-Type", "not printable ASCII")
    return value


async def store(
    runtime: Runtime,
    op: Operation,
    temp: Path,
    size: int,
    filename: str | None,
    content_type: str | None,
) -> Outcome:
    """The media row for the file at `temp` (moved to the media directory as its SID); 400
    for a `content_type` no media type could be (see `content_type_of`)."""
    directory = runtime.settings.media_path()
    sid = new_sid(op.resource.sid_prefix)
    now = times.now()
    try:
        content_type = content_type_of(content_type)
        async with runtime.db.write() as conn:
            call = await open_context(runtime, conn, op)
            table = runtime.tables.of(op.resource)
            values = {
                **op.resource.defaults(call),
                "sid": sid,
                "account_sid": call.account.sid,
                "service_sid": call.parent("service")["sid"],
                "filename": filename,
                "content_type": content_type,
                "size": size,
                "date_created": now,
                "date_updated": now,
            }
            if op.identity is not None:  # uploaded by a client: its identity, as Twilio's MCS
                values["author"] = op.identity
            insert = table.insert().values(**values).returning(*table.c)
            row = (await conn.execute(insert)).mappings().one()
            os.replace(temp, directory / sid)  # before the commit: a committed row has its file
    except BaseException as exc:
        _discard(temp, directory / sid)
        if isinstance(exc, Refused):
            raise unstorable(op, exc) from None
        raise
    return Outcome(call, Result(201, row))


def _discard(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def content_path(runtime: Runtime, sid: str) -> Path:
    return runtime.settings.media_path() / sid


def sign(secret: str, service_sid: str, media_sid: str, expires: int) -> str:
    message = f"{service_sid}/{media_sid}/{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def temporary_url(base_url: str, account: Account, service_sid: str, media_sid: str) -> str:
    """A URL that serves the media's bytes to a plain GET for CONTENT_URL_LIFETIME seconds."""
    expires = int(clock.time()) + CONTENT_URL_LIFETIME
    signature = sign(account.auth_token, service_sid, media_sid, expires)
    path = f"/mcs/v1/Services/{service_sid}/Media/{media_sid}/Content"
    return f"{base_url}{path}?Expires={expires}&Signature={signature}"


async def signed_content(
    runtime: Runtime, service_sid: str, media_sid: str, expires: str, signature: str
) -> tuple[dict[str, Any], Path]:
    """The media row and file a temporary URL names: 403 when its signature does not match
    or it has expired, 404 when the media does not exist."""
    if not (is_sid(service_sid, "IS") and is_sid(media_sid, "ME")):
        raise ApiError(404, 20404, f"Media {media_sid} not found")
    if not expires.isascii() or not expires.isdigit() or len(expires) > 12:
        raise ApiError(403, 20403, "The content URL is not valid")
    media, accounts = runtime.tables["media"], runtime.tables.accounts
    query = (
        select(media, accounts.c.auth_token)
        .join(accounts, accounts.c.sid == media.c.account_sid)
        .where(media.c.service_sid == service_sid, media.c.sid == media_sid)
    )
    async with runtime.db.read() as conn:
        row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise ApiError(404, 20404, f"Media {media_sid} not found")
    expected = sign(row["auth_token"], service_sid, media_sid, int(expires))
    # bytes: compare_digest refuses str with non-ASCII characters (a forged URL may have them)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise ApiError(403, 20403, "The content URL is not valid")
    if int(expires) <= clock.time():
        raise ApiError(403, 20403, "The content URL has expired")
    path = content_path(runtime, media_sid)
    if not path.exists():
        raise ApiError(404, 20404, f"The content of media {media_sid} is missing")
    return dict(row), path
