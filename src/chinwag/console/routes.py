"""The console as one Starlette `Mount` at /console: sign-in, every registered page, files."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from chinwag.console import signin
from chinwag.console.html import render
from chinwag.console.layout import page
from chinwag.console.pages import PAGES
from chinwag.console.web import PREFIX, secure

STATIC = {"console.css": "text/css", "console.js": "text/javascript"}


async def home(request: Request) -> Response:
    return secure(RedirectResponse(PREFIX + PAGES[0].href, 303))


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC:
        return await not_found(request)
    body = files("chinwag.console").joinpath("static", name).read_bytes()
    response = Response(body, media_type=STATIC[name])
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


async def not_found(request: Request) -> Response:
    body = render("<h1>Not found</h1><p><a href='/console/'>The console</a></p>")
    return secure(HTMLResponse(page("Not found", body), 404))


def console_mount() -> Mount:
    routes: list[BaseRoute] = [
        Route("/", home, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        *signin.ROUTES,
    ]
    for p in PAGES:
        routes += p.routes
    routes.append(Route("/{rest:path}", not_found))  # an HTML 404, not REST's JSON one
    return Mount(PREFIX, routes=routes)
