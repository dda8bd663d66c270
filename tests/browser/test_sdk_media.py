"""A page on another origin sends a picture through chinwag's media service with the SDK's
browser bundle: Chromium's own CORS checks (the preflight for X-Twilio-Token) must pass, and
the picture's temporary URL loads in an <img> and through fetch().
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.realtime.conftest import _install, make_key, mint, ws_url
from tests.support.browser import chromium_path, new_page
from tests.support.servers import Server

PAGE = b"""<!doctype html><meta charset=utf-8><title>media</title>
<script src="/twilio-chat.min.js"></script><body><p id=status>ready</p></body>"""


def png(size: int = 8) -> bytes:
    """A small red square, as a real PNG an <img> decodes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    """A web server on another port (so another origin) serving the page and the SDK bundle."""
    bundle = (
        _install("6.0.0") / "node_modules" / "twilio-chat" / "builds" / "twilio-chat.min.js"
    ).read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = (
                (bundle, "text/javascript") if self.path.endswith(".js") else (PAGE, "text/html")
            )
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()
    http.server_close()


SEND = """async ([url, aliceToken, bobToken, name, hex]) => {
  const options = { Twilsock: { uri: url }, logLevel: 'silent' };
  const alice = await Twilio.Chat.Client.create(aliceToken, options);
  const bob = await Twilio.Chat.Client.create(bobToken, options);
  const joined = (client, channel) => new Promise((resolve) => {
    if (channel.status === 'joined') resolve(); else client.once('channelJoined', () => resolve());
  });
  const mine = await alice.createChannel({ uniqueName: name });
  await mine.join();
  await joined(alice, mine);
  const theirs = await bob.getChannelByUniqueName(name);
  await theirs.join();
  await joined(bob, theirs);
  const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/png' }), 'square.png');
  const arrived = new Promise((resolve) => theirs.once('messageAdded', resolve));
  await mine.sendMessage(form);
  const message = await arrived;
  const link = await message.media.getContentTemporaryUrl();
  const fetched = new Uint8Array(await (await fetch(link)).arrayBuffer());
  const img = document.createElement('img');
  img.id = 'picture';
  img.style.width = '160px';
  img.style.imageRendering = 'pixelated';
  const loaded = new Promise((resolve, reject) => { img.onload = resolve; img.onerror = reject; });
  img.src = link;
  document.body.appendChild(img);
  await loaded;
  document.getElementById('status').textContent = `${message.author}: ${message.media.filename}`;
  await alice.shutdown();
  await bob.shutdown();
  return {
    origin: location.origin,
    type: message.type,
    filename: message.media.filename,
    contentType: message.media.contentType,
    size: message.media.size,
    fetched: Array.from(fetched).map((b) => b.toString(16).padStart(2, '0')).join(''),
    width: img.naturalWidth,
  };
}"""


@pytest.fixture
def own_browser() -> Iterator[Browser]:
    """Chromium for this test alone: Playwright's loop must not outlive it, or the next
    database's set-up (which runs its own asyncio loop) finds a loop running."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


def test_page_on_another_origin_sends_a_picture(
    server: Server, service: Any, other_origin: str, own_browser: Browser, artifacts: Path
) -> None:
    """FormData upload from a page on another origin, shown back through its temporary URL."""
    browser = own_browser
    key = make_key(server)
    picture = png()
    page = new_page(browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(other_origin + "/")
    args = [
        ws_url(server),
        mint(key, service.sid, "alice"),
        mint(key, service.sid, "bob"),
        "pictures",
        picture.hex(),
    ]
    seen = page.evaluate(SEND, args)
    page.screenshot(path=str(artifacts / "picture.png"))
    page.context.close()
    assert seen["origin"] != server.url
    assert seen["type"] == "media"
    assert seen["filename"] == "square.png"
    assert seen["contentType"] == "image/png"
    assert seen["size"] == len(picture)
    assert seen["fetched"] == picture.hex()
    assert seen["width"] == 8
    assert not [e for e in errors if "CORS" in e or "Access-Control" in e], errors
