"""Tunnelled HTTP ("upstream" frames): the request, the reply, and the route to its handler.

The SDK names a host in each request (aim… for Chat, cds… for Sync), but it is only a label:
chinwag routes on the path, so apiUri/cdsUri may point anywhere or stay at Twilio's defaults.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from chinwag.model.errors import ApiError, InvalidParameter
from chinwag.realtime.framing import Frame, FrameError

if TYPE_CHECKING:
    from chinwag.realtime.connection import Session

REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request"}
REASONS |= {401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}
REASONS |= {409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error"}


@dataclass(frozen=True)
class Request:
    method: str
    path: list[str]  # unquoted segments
    params: dict[str, str]
    body: Any  # JSON, form fields (dict) or None

    def param(self, name: str) -> str | None:
        return self.params.get(name)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @classmethod
    def error(cls, error: ApiError) -> Reply:
        return cls(error.status, error.body())


class PathMatch:
    """A route's match: its groups are path segments as sent, unquoted. The route matched the
    segments joined with `/`, each with its own `/` (an identity may hold one: chinwag's own
    links quote it as %2F) and `%` quoted, so a segment is never taken for two."""

    def __init__(self, match: re.Match[str]) -> None:
        self._match = match
        self.re = match.re

    def group(self, n: int) -> str:
        return _unescaped(self._match.group(n))


def _escaped(segment: str) -> str:
    return segment.replace("%", "%25").replace("/", "%2F")


def _unescaped(text: str) -> str:
    return text.replace("%2F", "/").replace("%25", "%")


Handler = Callable[["Session", Request, PathMatch], Awaitable[Reply]]


def parse(frame: Frame) -> Request:
    """The tunnelled request of a `message` frame; FrameError if it has none."""
    http = frame.header.get("http_request")
    if not isinstance(http, dict):
        raise FrameError("message without http_request")
    method, raw_path = http.get("method"), http.get("path")
    if not isinstance(method, str) or not isinstance(raw_path, str):
        raise FrameError("http_request without method or path")
    path, _, query = raw_path.partition("?")
    params = dict(parse_qsl(query))
    extra = http.get("params") or {}
    if not isinstance(extra, dict):
        raise FrameError("http_request params not an object")
    for key, value in extra.items():
        if isinstance(value, str | int | float | bool):
            params[str(key)] = unquote(str(value)) if isinstance(value, str) else str(value)
    body: Any = None
    if frame.body:
        body = frame.json() if frame.is_json() else dict(parse_qsl(frame.text()))
    segments = [unquote(p) for p in path.strip("/").split("/") if p]
    return Request(method.upper(), segments, params, body)


class Router:
    """Handlers by method and path pattern (a regular expression over `/`-joined segments)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append((method, re.compile(pattern), handler))
            return handler

        return register

    async def dispatch(self, session: Session, request: Request) -> Reply:
        path = "/".join(_escaped(segment) for segment in request.path)
        if "\x00" in path:  # names nothing: no SID, name or identity holds a NUL (and
            # PostgreSQL refuses one as text), as a REST path with one is not found
            return Reply.error(ApiError(404, 20404, "The requested resource was not found"))
        held = next((name for name, value in request.params.items() if "\x00" in value), None)
        if held is not None:  # as a REST parameter with one: no column holds it
            return Reply.error(InvalidParameter(held, "contains a NUL character"))
        allowed = False
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            try:
                return await handler(session, request, PathMatch(match))
            except ApiError as error:
                return Reply.error(error)
        if allowed:
            return Reply.error(ApiError(405, 20004, "Method not allowed"))
        named = "/".join(request.path)
        return Reply.error(ApiError(404, 20404, f"The requested resource /{named} was not found"))


ROUTER = Router()
