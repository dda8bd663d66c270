"""The demo's routes: the page, its static files, and the token endpoint that exists only here."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from chinwag.demo.service import DemoSetup
from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.realtime.tokens import check_token_identity
from chinwag.runtime import Runtime

log = logging.getLogger("chinwag.demo")

STATIC = Path(__file__).parent / "static"
MAX_IDENTITY = 64
MAX_BODY = 4096
BANNER = (
    "!" * 78,
    "DEMO MODE (--demo): POST /demo/token gives an access token for ANY identity to ANYONE",
    "who can reach this server. Its tokens grant only the demo's own Chat service, but",
    "never run --demo where strangers can connect.",
    "!" * 78,
)


async def _identity(request: Request) -> str:
    """The identity asked for, from a JSON or form body: 1 to 64 printable characters."""
    body = b""
    async for chunk in request.stream():  # bounded: never buffer more than MAX_BODY
        body += chunk
        if len(body) > MAX_BODY:
            raise ApiError(413, 20001, "Request too large")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            raise InvalidParameter("Identity", "is not JSON") from None
        value = data.get("identity") if isinstance(data, dict) else None
    else:  # a plain HTML form (application/x-www-form-urlencoded)
        value = next(iter(parse_qs(body.decode("utf-8", "replace")).get("identity", [])), None)
    identity = value.strip() if isinstance(value, str) else ""
    if not identity or len(identity) > MAX_IDENTITY or not identity.isprintable():
        raise InvalidParameter("Identity", f"must be 1 to {MAX_IDENTITY} printable characters")
    check_token_identity(identity)  # a token the WebSocket would refuse is never minted
    return identity


def demo_routes() -> list[BaseRoute]:
    """/demo and its token endpoint; the caller mounts them only under `--demo`."""
    setup = DemoSetup()

    async def token(request: Request) -> Response:
        identity = await _identity(request)
        runtime: Runtime = request.app.state.runtime
        demo = await setup.get(runtime)
        body = {"identity": identity, "token": demo.mint(identity), "service_sid": demo.service_sid}
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def slash(request: Request) -> Response:
        return RedirectResponse("/demo", status_code=308)

    for line in BANNER:  # loud on purpose: this endpoint is open to anyone
        log.warning(line)
    return [
        Route("/demo", page, methods=["GET"]),
        Route("/demo/", slash, methods=["GET"]),
        Route("/demo/token", token, methods=["POST"]),
        Mount("/demo/static", StaticFiles(directory=STATIC), name="demo-static"),
    ]
