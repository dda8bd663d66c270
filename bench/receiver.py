"""A webhook receiver for the bench: answers every request 200 at once and notes when it did.

Run as its own process (`python -m bench.receiver --port P`) so that its CPU is not chinwag's.
For each webhook it records the `I-Twilio-Idempotency-Token` and the wall clock (`time.time()`)
right after the 200 was written; `GET /__hits` answers them as JSON `[[token, seconds], ...]`
and `POST /__reset` forgets them. HTTP/1.1 with keep-alive, on 127.0.0.1 only, asyncio streams
(and uvloop when installed): it costs far less CPU a request than the sender it measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

LOCALHOST = "127.0.0.1"
MAX_HITS = 2_000_000  # a bound on memory: hits beyond it are counted, not kept
MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n"
TOKEN = b"i-twilio-idempotency-token:"


class Hits:
    def __init__(self) -> None:
        self.kept: list[tuple[str, float]] = []
        self.dropped = 0

    def add(self, token: str) -> None:
        if len(self.kept) < MAX_HITS:
            self.kept.append((token, time.time()))
        else:
            self.dropped += 1


async def _serve(hits: Hits, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.split(b"\r\n")
            method, _, rest = lines[0].partition(b" ")
            path = rest.partition(b" ")[0]
            length, token = 0, ""
            for line in lines[1:]:
                lower = line.lower()
                if lower.startswith(b"content-length:"):
                    length = min(int(line.split(b":", 1)[1]), MAX_BODY)
                elif lower.startswith(TOKEN):
                    token = line[len(TOKEN) :].strip().decode("latin-1")
            if length:
                await reader.readexactly(length)
            if path == b"/__hits" and method == b"GET":
                body = json.dumps({"hits": hits.kept, "dropped": hits.dropped}).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            elif path == b"/__reset" and method == b"POST":
                hits.kept, hits.dropped = [], 0
                writer.write(OK)
            else:
                writer.write(OK)
                await writer.drain()
                hits.add(token)
                continue
            await writer.drain()
    finally:
        writer.close()


async def main(port: int) -> None:
    hits = Hits()
    server = await asyncio.start_server(
        lambda r, w: _serve(hits, r, w), LOCALHOST, port, limit=MAX_HEAD
    )
    async with server:
        await server.serve_forever()


def run(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.receiver")
    p.add_argument("--port", type=int, required=True)
    port = p.parse_args(argv).port
    try:
        import uvloop

        uvloop.run(main(port))
    except ImportError:  # pragma: no cover  (uvloop is a chinwag dependency off Windows)
        asyncio.run(main(port))


if __name__ == "__main__":
    run()
