"""A small HTTP/1.1 client on asyncio streams: keep-alive, Basic auth, form bodies.

It sends what the official `twilio` client sends (Basic auth, `Accept: application/json`,
form-encoded bodies with `Content-Type: application/x-www-form-urlencoded`) and costs far less
CPU than a general client, which matters when load and server share two cores.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

LOCALHOST = "127.0.0.1"
USER_AGENT = "twilio-python/9.13.0 (Linux x86_64) Python/3.11 (chinwag-bench)"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def basic_auth(username: str, password: str) -> str:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {token}"


def form(params: Iterable[tuple[str, str]]) -> bytes:
    """A body as `requests` encodes the twilio client's `data=` (repeated keys for lists)."""
    return urlencode(list(params)).encode()


def local_path(url: str) -> str:
    """The path and query of an absolute URL the server gave, refusing any other host."""
    parts = urlsplit(url)
    if parts.hostname not in (LOCALHOST, "localhost"):
        raise ValueError(f"refusing to follow {url!r}: the bench only talks to {LOCALHOST}")
    return parts.path + (f"?{parts.query}" if parts.query else "")


class Connection:
    """One keep-alive connection to 127.0.0.1:port; reopened after the server closes it."""

    def __init__(self, port: int, auth: str | None, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        lines = [
            f"Host: {LOCALHOST}:{port}",
            f"User-Agent: {USER_AGENT}",
            "Accept: application/json",
            "Accept-Charset: utf-8",
        ]
        if auth:
            lines.append(f"Authorization: {auth}")
        self._headers = ("\r\n".join(lines) + "\r\n").encode()

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            LOCALHOST, self.port, limit=MAX_HEAD
        )

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        """One exchange; a GET on a connection the server had closed is retried once."""
        for attempt in (1, 2):
            fresh = self.writer is None
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._exchange(method, path, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if fresh or attempt == 2 or method != "GET":
                    raise
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _exchange(self, method: str, path: str, body: bytes | None) -> Response:
        if self.writer is None:
            await self.open()
        reader, writer = self.reader, self.writer
        if reader is None or writer is None:
            raise HttpError("connection is not open")
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._headers
        if body is not None:
            head += f"Content-Type: {FORM_TYPE}\r\nContent-Length: {len(body)}\r\n".encode()
        writer.write(head + b"\r\n" + (body or b""))
        raw = await reader.readuntil(b"\r\n\r\n")
        status, headers = _parse_head(raw)
        if status in (204, 304) or 100 <= status < 200 or method == "HEAD":
            content = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            content = await _read_chunked(reader)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if length > MAX_BODY:
                raise HttpError(f"body of {length} bytes is too large")
            content = await reader.readexactly(length)
        else:
            content = await reader.read(MAX_BODY)
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, content)


def _parse_head(raw: bytes) -> tuple[int, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(chunks)
        total += size
        if total > MAX_BODY:
            raise HttpError("chunked body is too large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
