"""Media (ME): files uploaded for media messages, as Twilio's media service took them.

A chinwag extension of the Chat API: `POST /v1/Services/{ServiceSid}/Media` with the raw file as
the body and its type as Content-Type; `GET .../Media/{Sid}` for its JSON, `.../Content` for the
bytes. Files live in --media-dir, named by SID; the row is written only once the file is safe
on disk, so a crash leaves at worst an orphan file, never a row without its bytes.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from chinwag import times
from chinwag.api.call import Call, Row
from chinwag.api.errors import ApiError, InvalidParameter
from chinwag.api.locate import located_call
from chinwag.api.lookup import target
from chinwag.api.render import dumps, to_json
from chinwag.api.resource import V1, Field, Resource, Rules
from chinwag.resources.services import SERVICE
from chinwag.runtime import Runtime
from chinwag.sids import new_sid

FILENAME_RE = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)
CHUNK = 1024 * 1024


class MediaRules(Rules):
    def render(self, call: Call, row: Row, body: dict[str, Any]) -> None:
        body["links"] = {
            "content": f"{body['url']}/Content",
            "content_direct_temporary": f"{body['url']}/Content",
        }


MEDIA = Resource(
    name="media",
    sid_prefix="ME",
    path="/Services/{ServiceSid}/Media",
    list_key="media",
    schema="",  # not in Twilio's Chat spec
    parent=SERVICE,
    ref_param="MediaSid",
    actions=frozenset(),  # served by the routes below, not the generic actions
    versions=V1,
    rules=MediaRules(),
    fields=(
        Field("filename"),
        Field("content_type"),
        Field("size", "int"),
        Field("category", default="media"),
        Field("author", default="system"),
        Field("channel_sid", "sid"),
        Field("message_sid", "sid"),
    ),
)


def _filename(request: Request) -> str | None:
    name = request.query_params.get("Filename") or request.headers.get("x-twilio-filename")
    if name is None:
        match = FILENAME_RE.search(request.headers.get("content-disposition", ""))
        name = unquote(match.group(1)) if match else None
    if name and "\x00" in name:  # no column can hold it (PostgreSQL refuses it outright)
        raise InvalidParameter("Filename", "contains a NUL character")
    return name[:256] if name else None


async def _receive(request: Request, directory: Path, limit: int) -> tuple[Path, int]:
    """Stream the body into a temporary file in `directory`, refusing more than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, 20001, f"Media larger than {limit} bytes")
    os.makedirs(directory, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".upload-")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, 20001, f"Media larger than {limit} bytes")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name), size


async def upload(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.read() as conn:
        await located_call(runtime, conn, request, MEDIA, "create", "v1")  # 401/404 first
    directory = runtime.settings.media_path()
    temp, size = await _receive(request, directory, runtime.settings.media_max_bytes)
    sid = new_sid("ME")
    now = times.now()
    try:
        async with runtime.db.write() as conn:
            call = await located_call(runtime, conn, request, MEDIA, "create", "v1")
            table = runtime.tables["media"]
            values = {
                **MEDIA.defaults(call),
                "sid": sid,
                "account_sid": call.account.sid,
                "service_sid": call.parent("service")["sid"],
                "filename": _filename(request),
                "content_type": request.headers.get("content-type", "application/octet-stream"),
                "size": size,
                "date_created": now,
                "date_updated": now,
            }
            insert = table.insert().values(**values).returning(*table.c)
            row = (await conn.execute(insert)).mappings().one()
            os.replace(temp, directory / sid)  # before the commit: a committed row has its file
            body = to_json(call, row)
    except BaseException:
        temp.unlink(missing_ok=True)
        (directory / sid).unlink(missing_ok=True)
        raise
    return Response(dumps(body), 201, media_type="application/json")


async def _media_row(request: Request) -> tuple[Row, dict[str, Any], Path]:
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.read() as conn:
        call = await located_call(runtime, conn, request, MEDIA, "fetch", "v1")
        row = await target(call)
        return row, to_json(call, row), runtime.settings.media_path() / row["sid"]


async def fetch(request: Request) -> Response:
    _, body, _ = await _media_row(request)
    return Response(dumps(body), 200, media_type="application/json")


async def content(request: Request) -> Response:
    row, _, path = await _media_row(request)
    if not path.exists():
        raise ApiError(404, 20404, f"The content of media {row['sid']} is missing")
    return FileResponse(path, media_type=row["content_type"], filename=row["filename"])


def media_routes() -> list[Route]:
    base = "/v1/Services/{ServiceSid}/Media"
    return [
        Route(base, upload, methods=["POST"], name="v1.media.create"),
        Route(base + "/{Sid}", fetch, methods=["GET"], name="v1.media.fetch"),
        Route(base + "/{Sid}/Content", content, methods=["GET"], name="v1.media.content"),
    ]
