"""The webhooks' HTTP/1.1 client against a scripted server: keep-alive, framing, stale and
closed connections, timeouts, bad URLs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from chinwag.events.http import Client, HttpError, Request

Answer = Callable[[bytes], bytes]  # the raw request (head and body) -> the raw answer


@dataclass
class Server:
    """Answers each request on a connection with `answer`; closes after it if `close_after`."""

    answer: Answer
    close_after: bool = False
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                raw = head + await reader.readexactly(length)
                self.requests.append(raw)
                writer.write(self.answer(raw))
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def ok(body: bytes = b"fine") -> Answer:
    return lambda raw: b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def serve(server: Server, work: Callable[[Client, str], Awaitable[None]]) -> None:
    async def main() -> None:
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        server.port = listener.sockets[0].getsockname()[1]
        client = Client("chinwag-test")
        try:
            await work(client, f"http://127.0.0.1:{server.port}")
        finally:
            await client.aclose()
            listener.close()
            await listener.wait_closed()

    asyncio.run(main())


def test_keeps_the_connection_alive() -> None:
    """Three POSTs go over one connection, each with its headers, length and body."""
    server = Server(ok())

    async def work(client: Client, base: str) -> None:
        for n in range(3):
            request = Request("POST", f"{base}/hook?x=1", {"X-Test": str(n)}, b"a=%d" % n)
            response = await client.send(request, 5)
            assert (response.status, response.body) == (200, b"fine")

    serve(server, work)
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:" in first
    assert b"\r\nUser-Agent: chinwag-test\r\n" in first
    assert b"\r\nX-Test: 0\r\n" in first
    assert b"\r\nContent-Length: 3\r\n" in first
    assert first.endswith(b"\r\n\r\na=0")


def test_reads_a_chunked_answer() -> None:
    chunked = (
        b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nslow\r\n3\r\n...\r\n0\r\n\r\n"
    )
    server = Server(lambda raw: chunked)

    async def work(client: Client, base: str) -> None:
        for _ in range(2):
            response = await client.send(Request("GET", f"{base}/"), 5)
            assert (response.status, response.body) == (503, b"slow...")

    serve(server, work)
    assert server.connections == 1


def test_a_closed_connection_is_not_reused() -> None:
    """`Connection: close`, or a server that hung up while the connection was idle: the next
    request goes on a new connection."""
    server = Server(
        lambda raw: b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )

    async def work(client: Client, base: str) -> None:
        for _ in range(2):
            assert (await client.send(Request("POST", f"{base}/"), 5)).status == 200

    serve(server, work)
    assert server.connections == 2

    hangs_up = Server(ok(), close_after=True)  # keep-alive promised, then closed while idle

    async def again(client: Client, base: str) -> None:
        for _ in range(3):
            assert (await client.send(Request("POST", f"{base}/"), 5)).status == 200
            await asyncio.sleep(0.05)

    serve(hangs_up, again)
    assert hangs_up.connections == 3
    assert len(hangs_up.requests) == 3


def test_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()  # never answers; the client hangs up first
        finally:
            writer.close()

    async def main() -> None:
        listener = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        client = Client("chinwag-test")
        try:
            with pytest.raises(TimeoutError):
                await client.send(Request("POST", f"http://127.0.0.1:{port}/"), 0.2)
        finally:
            await client.aclose()
            listener.close()
            await listener.wait_closed()

    asyncio.run(main())


@pytest.mark.parametrize(
    "url",
    ["ftp://example.invalid/x", "/relative", "http://h:notaport/", "http://example.invalid/\u00e9"],
)
def test_refuses_what_is_not_an_http_url(url: str) -> None:
    async def main() -> None:
        with pytest.raises(HttpError):
            await Client("chinwag-test").send(Request("POST", url), 1)

    asyncio.run(main())


@pytest.mark.parametrize(
    "head",
    [b"SMTP ready", "HTTP/1.1 ²00 OK".encode("latin-1"), b"HTTP/1.1 2000 OK", b"HTTP/1.1"],
    ids=["not-http", "superscript-digit", "four-digits", "no-status"],
)
def test_a_garbled_answer_is_an_error(head: bytes) -> None:
    """A status line that is not HTTP's (a status "²00" passed `str.isdigit`, and `int` then
    raised ValueError) is the client's HttpError, which a delivery records as a failure."""
    server = Server(lambda raw: head + b"\r\n\r\n")

    async def work(client: Client, base: str) -> None:
        with pytest.raises(HttpError):
            await client.send(Request("POST", f"{base}/"), 5)

    serve(server, work)
