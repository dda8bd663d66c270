"""One log line per request: method, path, status, duration. Never headers, bodies or secrets."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("chinwag.access")


class RequestLog:
    def __init__(self, app: ASGIApp, json: bool = False) -> None:
        self.app = app
        self.json = json

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
            self._line(scope, status, (time.perf_counter() - started) * 1000)

    def _line(self, scope: Scope, status: int, ms: float) -> None:
        if self.json:
            record: dict[str, Any] = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round(ms, 2),
            }
            log.info(json.dumps(record))
        else:
            log.info("%s %s %d %.1fms", scope["method"], scope["path"], status, ms)
