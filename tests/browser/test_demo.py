"""`chinwag serve --demo`: two people chat in headless Chromium through the page at /demo (the
SDK's own browser bundle), with a bot posting over REST; typing and read positions show."""

from __future__ import annotations

import re
import shutil
import signal
import struct
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import make_client
from tests.support.browser import ARTIFACTS, new_page
from tests.support.databases import KINDS, require_postgresql
from tests.support.demo import token_for
from tests.support.servers import Server, pg_create_database, pg_drop_database

DOCS_SHOT = ARTIFACTS / "demo.png"  # the README's docs/demo.png is a copy of this one
T = TypeVar("T")
expect.set_options(timeout=15_000)  # a bound on each wait, not a measure


def off_the_loop(work: Callable[[], T]) -> T:
    """Run `work` in a thread: Playwright's sync API keeps an event loop running in this one,
    and the PostgreSQL helpers start loops of their own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


@contextmanager
def database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'demo.db'}"
        return
    off_the_loop(require_postgresql)
    url = off_the_loop(pg_create_database)
    try:
        yield url
    finally:
        off_the_loop(lambda: pg_drop_database(url))


@pytest.fixture(params=KINDS)
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """`chinwag serve --demo` on a fresh database of each kind."""
    with database(request.param, tmp_path) as url:
        srv = Server(url, extra_args=["--demo", "--media-dir", str(tmp_path / "media")])
        srv.start(tmp_path / "server.log")
        try:
            yield srv
        finally:
            srv.stop()


def sign_in(page: Page, server: Server, identity: str) -> None:
    page.goto(server.url + "/demo")
    page.fill("#identity", identity)
    page.click("#connect")
    expect(page.locator("#status")).to_have_text(f"connected as {identity}")


def open_channel(page: Page, name: str) -> None:
    page.fill("#new-channel", name)
    page.press("#new-channel", "Enter")
    expect(page.locator("#room-name")).to_have_text(name)


def two_in(browser: Browser, demo: Server, name: str) -> tuple[Page, Page]:
    """Alice's and Bob's pages, both in the public channel `name` that Alice opened (Bob by
    picking it from the list before he has joined it)."""
    alice, bob = new_page(browser), new_page(browser)
    sign_in(alice, demo, "alice")
    open_channel(alice, name)
    sign_in(bob, demo, "bob")
    bob.click(f"#channels li[data-name={name}]")
    expect(bob.locator("#room-name")).to_have_text(name)
    return alice, bob


def test_two_people_and_a_bot_chat_through_the_demo_page(
    demo: Server, browser: Browser, artifacts: Path
) -> None:
    alice, bob = two_in(browser, demo, "lobby")
    expect(alice.locator("#channels li[data-name=lobby]")).to_have_class("joined open")

    # A bot posts over REST with the twilio package, knowing the demo service as any app would.
    bot = token_for(demo, "bot")
    channels = make_client(demo).chat.v2.services(bot["service_sid"]).channels
    lobby = next(c for c in channels.list() if c.unique_name == "lobby")
    channels(lobby.sid).messages.create(body="welcome to the lobby", from_="bot")
    for page in (alice, bob):
        expect(page.locator(".message[data-index='0']")).to_contain_text("welcome to the lobby")
    # Each page shows the message, so it has read it; each sees the other's read position (and
    # so both follow the channel's roster, where typing is heard).
    expect(alice.locator(".message[data-index='0'] .reads")).to_have_text("seen by bob")
    expect(bob.locator(".message[data-index='0'] .reads")).to_have_text("seen by alice")

    bob.click("#body")
    bob.keyboard.type("hi alice")
    expect(alice.locator("#typing")).to_have_text("bob is typing…")
    alice.screenshot(path=str(artifacts / "1-alice-sees-bob-typing.png"))
    bob.press("#body", "Enter")
    expect(alice.locator(".message[data-index='1']")).to_contain_text("bobhi alice")
    expect(alice.locator("#typing")).to_have_text("")  # his message ends his typing

    alice.click("#body")
    alice.keyboard.type("hello bob")
    expect(bob.locator("#typing")).to_have_text("alice is typing…")
    alice.press("#body", "Enter")
    expect(bob.locator(".message[data-index='2']")).to_contain_text("alicehello bob")
    expect(alice.locator(".message[data-index='2']")).to_have_class("message mine")
    expect(alice.locator(".message[data-index='2'] .reads")).to_have_text("seen by bob")
    expect(bob.locator(".message[data-index='2'] .reads")).to_have_text("seen by alice")

    channels(lobby.sid).messages.create(body="beep", from_="bot")
    expect(alice.locator(".message[data-index='3']")).to_contain_text("botbeep")
    expect(bob.locator(".message[data-index='3']")).to_contain_text("botbeep")
    for page in (alice, bob):
        bodies = [m.text_content() for m in page.locator(".message .body").all()]
        assert bodies == ["welcome to the lobby", "hi alice", "hello bob", "beep"]

    shot = artifacts / "2-alice.png"
    alice.screenshot(path=str(shot))
    bob.screenshot(path=str(artifacts / "2-bob.png"))
    assert shot.read_bytes().startswith(b"\x89PNG")
    shutil.copy(shot, DOCS_SHOT)
    alice.context.close()
    bob.context.close()


def test_the_pages_come_back_after_kill9_and_miss_nothing(
    demo: Server, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    """The SDK in the page reconnects by itself to a restarted server and replays what was
    posted while it was away."""
    alice, bob = new_page(browser), new_page(browser)
    sign_in(alice, demo, "alice")
    open_channel(alice, "crash")
    sign_in(bob, demo, "bob")
    open_channel(bob, "crash")
    alice.click("#body")
    alice.keyboard.type("before")
    alice.press("#body", "Enter")
    expect(bob.locator(".message[data-index='0']")).to_contain_text("alicebefore")

    assert demo.stop(signal.SIGKILL) == -signal.SIGKILL
    demo.start(tmp_path / "restarted.log")
    service = token_for(demo, "bot")["service_sid"]
    channels = make_client(demo).chat.v2.services(service).channels
    crash = next(c for c in channels.list() if c.unique_name == "crash")
    channels(crash.sid).messages.create(body="while you were away", from_="bot")
    for page in (alice, bob):  # the SDK's own reconnection, with its backoff
        expect(page.locator(".message[data-index='1']")).to_contain_text(
            "botwhile you were away", timeout=60_000
        )
    expect(bob.locator("#status")).to_have_text("connected as bob")
    bob.click("#body")
    bob.keyboard.type("after")
    bob.press("#body", "Enter")
    expect(alice.locator(".message[data-index='2']")).to_contain_text("bobafter")
    bodies = [m.text_content() for m in alice.locator(".message .body").all()]
    assert bodies == ["before", "while you were away", "after"]
    alice.screenshot(path=str(artifacts / "alice-after-restart.png"))
    alice.context.close()
    bob.context.close()


def tiny_png() -> bytes:
    """A 2x2 red PNG, made here (no file in the repository)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_an_image_sent_from_the_page_shows_on_the_other(
    demo: Server, browser: Browser, artifacts: Path
) -> None:
    alice, bob = two_in(browser, demo, "pictures")
    alice.set_input_files(
        "#file", files=[{"name": "red.png", "mimeType": "image/png", "buffer": tiny_png()}]
    )
    image = bob.locator(".message[data-index='0'] img")
    expect(image).to_have_attribute("alt", "red.png")
    expect(image).to_have_attribute("src", re.compile(r"^https?://"))
    bob.wait_for_function(
        "document.querySelector(\".message[data-index='0'] img\").naturalWidth === 2"
    )
    bob.screenshot(path=str(artifacts / "bob-sees-the-image.png"))
    alice.context.close()
    bob.context.close()
