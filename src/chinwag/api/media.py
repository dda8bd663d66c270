"""Media over HTTP: the raw upload, its JSON and its bytes (`resources/media.py` declares it).

`POST /v1/Services/{ServiceSid}/Media` takes the file as the body, its type as Content-Type and
its name in `X-Twilio-Filename`, a `Filename` query parameter or `Content-Disposition`.
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

from chinwag.api.endpoints import operation, render
from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.ops import media
from chinwag.ops.actions import check_access, perform
from chinwag.resources.media import MEDIA
from chinwag.runtime import Runtime

TOO_LARGE = 50512  # Twilio's "Message media size is too large"
# Media is served from the API's own origin, which the console shares: whatever a client
# uploaded (an HTML page, an SVG with a script) must never run there. Types a browser only
# shows (pictures, sound, video, PDF, plain text) are served as they are; any other is a
# download, and `sandbox` gives a document opened from it anyway an opaque origin and no
# scripts. `nosniff` keeps a browser from taking one type for another. None of this changes
# what an <img> or <video> does with the bytes.
PASSIVE = re.compile(
    r"(image/(png|jpeg|gif|webp|bmp|avif)|audio/[\w.+-]+|video/[\w.+-]+|application/pdf"
    r"|text/plain)\Z"
)
FILENAME_RE = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


def filename_of(request: Request) -> str | None:
    name = request.query_params.get("Filename") or request.headers.get("x-twilio-filename")
    if name is None:
        match = FILENAME_RE.search(request.headers.get("content-disposition", ""))
        name = unquote(match.group(1)) if match else None
    if name and "\x00" in name:  # no column can hold it (PostgreSQL refuses it outright)
        raise InvalidParameter("Filename", "contains a NUL character")
    return name[:256] if name else None


async def receive(request: Request, directory: Path, limit: int) -> tuple[Path, int]:
    """Stream the body into a temporary file in `directory`, refusing more than `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, TOO_LARGE, f"Media larger than {limit} bytes")
    os.makedirs(directory, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".upload-")
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, TOO_LARGE, f"Media larger than {limit} bytes")
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        os.unlink(name)
        raise
    return Path(name), size


async def upload(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    op = operation(request, MEDIA, "create", "v1")
    await check_access(runtime, op)  # 401 / 404 before the body is read
    filename = filename_of(request)  # and a bad name: nothing of the body is kept
    settings = runtime.settings
    temp, size = await receive(request, settings.media_path(), settings.media_max_bytes)
    content_type = request.headers.get("content-type")
    outcome = await media.store(runtime, op, temp, size, filename, content_type)
    return render(outcome, op.base_url + op.path)


async def fetch(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    op = operation(request, MEDIA, "fetch", "v1")
    return render(await perform(runtime, op), op.base_url + op.path)


async def content(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    outcome = await perform(runtime, operation(request, MEDIA, "fetch", "v1"))
    row = outcome.row
    assert row is not None  # noqa: S101  (a fetch has its row)
    path = media.content_path(runtime, row["sid"])
    if not path.exists():
        raise ApiError(404, 20404, f"The content of media {row['sid']} is missing")
    return content_response(path, row)


def content_response(
    path: Path, row: Any, headers: dict[str, str] | None = None, inline: bool = False
) -> FileResponse:
    """A media's bytes with its own type and name (`inline`: shown rather than downloaded,
    for a passive type), never able to run on this origin."""
    kind = str(row["content_type"]).split(";", 1)[0].strip().lower()
    passive = PASSIVE.match(kind) is not None
    response = FileResponse(
        path,
        media_type=row["content_type"],
        filename=row["filename"],
        headers={"X-Content-Type-Options": "nosniff", **(headers or {})},
        content_disposition_type="inline" if inline and passive else "attachment",
    )
    if not passive:
        response.headers["Content-Security-Policy"] = "sandbox"
        response.headers.setdefault("Content-Disposition", "attachment")
    return response


def media_routes() -> list[Route]:
    base = "/v1/Services/{ServiceSid}/Media"
    return [
        Route(base, upload, methods=["POST"], name="v1.media.create"),
        Route(base + "/{Sid}", fetch, methods=["GET"], name="v1.media.fetch"),
        Route(base + "/{Sid}/Content", content, methods=["GET"], name="v1.media.content"),
    ]
