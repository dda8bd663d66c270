"""The media service the client SDK uploads to (Twilio's MCS), dialled directly over HTTP.

The Configuration's `links.media_service` is `{base}/mcs/v1/Services/{IS}/Media`. The SDK posts
the file there (raw with its Content-Type, or a browser's FormData) and fetches
`{media_service}/{ME}`, both with the access token in `X-Twilio-Token`; the answer's
`links.content_direct_temporary` is a signed URL that serves the bytes to a plain GET for a few
minutes (`ops/media.temporary_url`). Uploads come from pages on other origins, so every answer
carries CORS headers and preflights are answered. Rows are the REST Media resource's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chinwag import times
from chinwag.api.endpoints import base_url
from chinwag.api.media import content_response, filename_of, receive
from chinwag.api.multipart import boundary_of, extract_file
from chinwag.api.render import dumps
from chinwag.model.errors import ApiError
from chinwag.model.resource import Action
from chinwag.ops import media
from chinwag.ops.actions import Operation, check_access, perform
from chinwag.realtime import tokens
from chinwag.resources.media import MEDIA
from chinwag.runtime import Runtime
from chinwag.store import accounts
from chinwag.store.accounts import Account

BASE = "/mcs/v1/Services/{ServiceSid}/Media"
CORS = {
    # The token travels in a header, never in a cookie, so any origin may call.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "X-Twilio-Token, Content-Type, X-Twilio-Filename",
    "Access-Control-Max-Age": "600",
}

Endpoint = Callable[[Request], Awaitable[Response]]


def _json(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status, CORS, media_type="application/json")


def with_cors(endpoint: Endpoint) -> Endpoint:
    """Answer preflights, and put CORS headers on every answer, errors included (a browser
    shows a page nothing of an answer without them)."""

    async def handle(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=CORS)
        try:
            return await endpoint(request)
        except ApiError as error:
            return Response(dumps(error.body()), error.status, CORS, media_type="application/json")

    return handle


async def _signed_in(request: Request, runtime: Runtime) -> tuple[tokens.Grant, Account]:
    """The X-Twilio-Token's grant and account, checked as the WebSocket checks it; the path's
    service must be the token's."""

    async def lookup(key_sid: str) -> tuple[str, str] | None:
        async with runtime.db.read() as conn:
            return await accounts.signing_secret(conn, runtime.tables, key_sid)

    try:
        grant = await tokens.verify(request.headers.get("x-twilio-token", ""), lookup)
    except tokens.TokenError as error:
        raise ApiError(401, error.code, error.message) from error
    async with runtime.db.read() as conn:
        account = await accounts.get_account(conn, runtime.tables, grant.account_sid)
    if account is None:
        raise ApiError(401, tokens.ISSUER, "Invalid Access Token issuer/subject")
    if request.path_params["ServiceSid"] != grant.service_sid:
        raise ApiError(403, 20403, "The token does not grant this service")
    return grant, account


def _operation(
    request: Request, action: Action, grant: tokens.Grant, account: Account
) -> Operation:
    """The REST Media resource's operation, as the token's identity."""
    service_sid = grant.service_sid
    params = {"ServiceSid": service_sid, **request.path_params}
    path = f"/v1/Services/{service_sid}/Media"
    if "Sid" in params:
        path += f"/{params['Sid']}"
    runtime: Runtime = request.app.state.runtime
    return Operation(
        MEDIA,
        action,
        "v1",
        account,
        path,
        params,
        base_url=base_url(runtime, request),
        identity=grant.identity,
    )


def mcs_json(op: Operation, account: Account, row: Any) -> dict[str, Any]:
    """A media as the SDK's McsMedia reads it."""
    url = f"{op.base_url}{BASE.format(ServiceSid=row['service_sid'])}/{row['sid']}"
    temporary = media.temporary_url(op.base_url, account, row["service_sid"], row["sid"])
    return {
        "sid": row["sid"],
        "account_sid": row["account_sid"],
        "service_sid": row["service_sid"],
        "channel_sid": row["channel_sid"],
        "message_sid": row["message_sid"],
        "author": row["author"],
        "category": row["category"] or "media",
        "filename": row["filename"],
        "content_type": row["content_type"],
        "size": row["size"],
        "date_created": times.render(row["date_created"]),
        "date_updated": times.render(row["date_updated"]),
        "date_upload_updated": times.render(row["date_updated"]),
        "is_multipart_upstream": False,
        "url": url,
        "links": {"content": temporary, "content_direct_temporary": temporary},
    }


@with_cors
async def upload(request: Request) -> Response:
    """`sendMessage({contentType, media})` (the raw bytes) or `sendMessage(formData)`."""
    runtime: Runtime = request.app.state.runtime
    grant, account = await _signed_in(request, runtime)
    op = _operation(request, "create", grant, account)
    await check_access(runtime, op)  # 404 before the body is read
    filename = filename_of(request)  # and a bad name: nothing of the body is kept
    settings = runtime.settings
    temp, size = await receive(request, settings.media_path(), settings.media_max_bytes)
    content_type: str | None = request.headers.get("content-type")
    boundary = boundary_of(content_type or "")
    if boundary is not None:
        part = extract_file(temp, boundary)
        temp, size, content_type = part.path, part.size, part.content_type
        filename = filename or part.filename
    outcome = await media.store(runtime, op, temp, size, filename, content_type)
    return _json(mcs_json(op, account, outcome.row), 201)


@with_cors
async def fetch(request: Request) -> Response:
    """`media.getContentTemporaryUrl()`: the media with a fresh temporary URL."""
    runtime: Runtime = request.app.state.runtime
    grant, account = await _signed_in(request, runtime)
    op = _operation(request, "fetch", grant, account)
    outcome = await perform(runtime, op)
    return _json(mcs_json(op, account, outcome.row))


@with_cors
async def content(request: Request) -> Response:
    """The bytes, for whoever holds an unexpired temporary URL."""
    runtime: Runtime = request.app.state.runtime
    row, path = await media.signed_content(
        runtime,
        request.path_params["ServiceSid"],
        request.path_params["Sid"],
        request.query_params.get("Expires", ""),
        request.query_params.get("Signature", ""),
    )
    return content_response(path, row, CORS, inline=True)  # shown in the page that loads it


def mcs_routes() -> list[Route]:
    both = ["OPTIONS"]
    return [
        Route(BASE, upload, methods=["POST", *both], name="mcs.media.create"),
        Route(BASE + "/{Sid}", fetch, methods=["GET", *both], name="mcs.media.fetch"),
        Route(BASE + "/{Sid}/Content", content, methods=["GET", *both], name="mcs.media.content"),
    ]
