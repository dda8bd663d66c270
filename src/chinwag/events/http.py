"""A lean HTTP/1.1 client for webhooks: keep-alive connections per origin, on asyncio streams.

Webhooks are small requests answered with small bodies, sent by the thousand; a general client
costs milliseconds of CPU each (measured: about 2 ms per POST with httpx, 0.06 ms with this), so
webhooks take this one. It sends one request at a time on a connection, keeps idle connections
per scheme, host and port for the next request, never follows redirects, and reads a body of
any framing (Content-Length, chunked, or up to the close); https uses the default SSL context.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024  # read at most this much of an answer; a larger one closes the connection
_STATUS = re.compile(r"[0-9]{3}")  # `str.isdigit` takes "²", which `int` refuses
IDLE_PER_ORIGIN = 16

Origin = tuple[str, str, int]


class HttpError(Exception):
    """The answer could not be read as HTTP/1.1, or the URL cannot be sent to."""


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


class _Stale(Exception):
    """A kept-alive connection the server had closed: nothing was answered on it."""


@functools.lru_cache(maxsize=1024)  # webhooks go to a few URLs, each thousands of times
def _target(url: str) -> tuple[Origin, str, str]:
    """(scheme, host, port), the request target and the Host header of an absolute URL."""
    if not url.isascii():  # stored before URLs were checked for it: percent-encoding is the app's
        raise HttpError(f"cannot send to {url!r}: not ASCII")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpError(f"cannot send to {url!r}: not an absolute http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise HttpError(f"cannot send to {url!r}: {exc}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port), target, parts.netloc.rpartition("@")[2]


class Client:
    """Sends requests over kept-alive connections; `aclose()` closes the idle ones."""

    def __init__(self, user_agent: str) -> None:
        self.user_agent = user_agent
        self._idle: dict[Origin, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def send(self, request: Request, seconds: float) -> Response:
        """One exchange within `seconds` (TimeoutError after), on a kept-alive
        connection if one is idle (once more on a new one if the server had closed it)."""
        origin, target, host = _target(request.url)
        head = self._head(request, target, host)
        async with asyncio.timeout(seconds):
            while self._idle.get(origin):
                conn = self._idle[origin].pop()
                try:
                    return await self._exchange(origin, conn, head, request)
                except (_Stale, ConnectionError):
                    continue  # it was closed while idle: try the next, or a new one
            conn = await self._open(origin)
            try:
                return await self._exchange(origin, conn, head, request)
            except _Stale:
                raise ConnectionResetError("the server closed the connection unanswered") from None

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    def _head(self, request: Request, target: str, host: str) -> bytes:
        lines = [f"{request.method} {target} HTTP/1.1", f"Host: {host}"]
        lines.append(f"User-Agent: {self.user_agent}")
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.body or request.method not in ("GET", "HEAD"):
            lines.append(f"Content-Length: {len(request.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _open(self, origin: Origin) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            context = self._ssl = self._ssl or ssl.create_default_context()
        reader, writer = await asyncio.open_connection(host, port, ssl=context, limit=MAX_HEAD)
        return _Connection(reader, writer)

    async def _exchange(
        self, origin: Origin, conn: _Connection, head: bytes, request: Request
    ) -> Response:
        try:
            conn.writer.write(head + request.body)
            await conn.writer.drain()
            status, keep, body = await _read_response(conn.reader, request.method)
        except BaseException:
            conn.close()
            raise
        idle = self._idle.setdefault(origin, [])
        if keep and len(idle) < IDLE_PER_ORIGIN:
            idle.append(conn)
        else:
            conn.close()
        return Response(status, body)


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[int, bool, bytes]:
    """Status, whether the connection may be reused, and the body (at most MAX_BODY)."""
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if not exc.partial:
                raise _Stale from None
            raise HttpError("the answer ended inside its head") from None
        except asyncio.LimitOverrunError:
            raise HttpError("the answer's head is too large") from None
        status, version, headers = _parse_head(raw)
        if not 100 <= status < 200:
            break  # 1xx are interim answers; the real one follows
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if status in (204, 304) or method == "HEAD":
        return status, keep, b""
    body, keep = await _read_body(reader, headers, keep)
    return status, keep, body


async def _read_body(
    reader: asyncio.StreamReader, headers: dict[str, str], keep: bool
) -> tuple[bytes, bool]:
    """The body as its headers frame it, and whether the connection may still be reused."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, complete = await _read_chunked(reader)
        return body, keep and complete
    if "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise HttpError("bad Content-Length") from None
        if length > MAX_BODY:
            return await reader.read(MAX_BODY), False
        return await reader.readexactly(length), keep
    return await reader.read(MAX_BODY), False  # up to the close


def _parse_head(raw: bytes) -> tuple[int, str, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _STATUS.fullmatch(parts[1]):
        raise HttpError(f"bad status line {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[0], headers


async def _read_chunked(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """The body, and False if it was too large to read whole (the connection is then spent)."""
    chunks: list[bytes] = []
    total = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpError("bad chunk size") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(chunks), True
        if total + size > MAX_BODY:
            return b"".join(chunks), False
        chunks.append(await reader.readexactly(size))
        total += size
        await reader.readexactly(2)
