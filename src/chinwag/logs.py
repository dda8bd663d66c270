"""One log line per request (method, path, status, duration; never headers, bodies or secrets),
and the same observation for /metrics."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chinwag.metrics import Metrics

log = logging.getLogger("chinwag.access")


class RequestLog:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.metrics.observe_request(scope["method"], template, status, seconds)
            self._line(scope, status, seconds * 1000)

    def _line(self, scope: Scope, status: int, ms: float) -> None:
        path = printable(scope["path"])
        fields = {"method": scope["method"], "path": path, "status": status, "ms": round(ms, 2)}
        log.info("%s %s %d %.1fms", scope["method"], path, status, ms, extra={"fields": fields})


def printable(text: str) -> str:
    """`text` with control characters escaped, so a request cannot forge a log line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
