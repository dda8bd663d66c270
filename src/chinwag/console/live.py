"""A channel page's live messages and typing indicators: server-sent events fed by the hub.

The messages come from the same event log the client SDK follows (sync/engine.py): the page
subscribes to the process's `Hub` like an SDK connection, from the list's event id when the
page was rendered (or the browser's `Last-Event-ID` after a reconnect), so nothing is missed or
doubled. The hub is woken by every process's commits (PostgreSQL NOTIFY; SQLite's commit hook
and poll), so a message posted through any worker, REST, the SDK or the console arrives.
Typing indicators are not logged: the page follows the channel's roster as a member's SDK does
and hears them as they happen (a `typing` event, without an id), from any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator
from types import FrameType
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from chinwag.console.web import Visit
from chinwag.model.params import count
from chinwag.resources.channels import CHANNEL
from chinwag.runtime import Runtime
from chinwag.sync import queries
from chinwag.sync.chat import channel_names
from chinwag.sync.live import Hub

KEEPALIVE = 15.0  # seconds between comments that keep proxies from closing an idle stream
QUEUE_MAX = 1000  # events waiting for a slow browser; beyond, the stream ends (it reconnects)
RETRY_MS = 2000  # how soon a browser reconnects after the stream ends


class Listener:
    """A hub subscriber that queues, as server-sent events for one browser, the message
    list's events and the typing indicators of the channel's roster."""

    def __init__(self, messages_sid: str) -> None:
        self.messages_sid = messages_sid
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE_MAX)
        self.ended = False

    def deliver(self, object_sid: str, event_id: int, body: bytes) -> None:
        if object_sid == self.messages_sid:  # not the roster's own changes
            self._put(b"id: %d\ndata: %s\n\n" % (event_id, body))

    def typing(self, payload: dict[str, Any]) -> None:
        shown = {"identity": payload.get("identity"), "timeout": payload.get("typing_timeout")}
        self._put(b"event: typing\ndata: %s\n\n" % orjson.dumps(shown))

    def _put(self, frame: bytes) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.end()  # the browser resumes from its Last-Event-ID

    def end(self) -> None:
        """Stop streaming: overflowed, or the server is stopping."""
        self.ended = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(b"")  # wakes the stream if it waits


STREAMING: set[Listener] = set()  # this process's open streams


def end_streams_on_exit() -> None:
    """End every stream as soon as SIGTERM or SIGINT arrives, then let the server's own handler
    run. Without it uvicorn waits its whole graceful timeout for these endless responses.

    Called from the app's startup, when uvicorn's handlers are installed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue  # no server's handler to run after ours: leave the default alone

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            loop.call_soon_threadsafe(_end_all)
            previous(signum, frame)

        signal.signal(sig, handler)


def _end_all() -> None:
    for listener in list(STREAMING):
        listener.end()


async def position(runtime: Runtime, service_sid: str, channel_sid: str) -> int:
    """The last event id of the channel's message list (0 before it has one)."""
    async with runtime.db.read() as conn:
        found = await queries.find(
            conn, runtime.tables, service_sid, channel_names(channel_sid)["messages"]
        )
    return found.last_event_id if found else 0


def _resume_from(visit: Visit) -> int:
    raw = visit.request.headers.get("last-event-id") or visit.form.get("since") or "0"
    return count(raw) or 0


async def events(visit: Visit) -> Response:
    sid, ch = visit.params["sid"], visit.params["ch"]
    path = f"/v2/Services/{sid}/Channels/{ch}"
    outcome = await visit.perform(CHANNEL, "fetch", path, {"ServiceSid": sid, "Sid": ch})
    channel = outcome.row  # found by SID or unique name, in this account only (else 404)
    assert channel is not None  # noqa: S101  (a fetch has its row)
    names, service_sid = channel_names(channel["sid"]), channel["service_sid"]
    async with visit.runtime.db.read() as conn:
        found = await queries.find(conn, visit.runtime.tables, service_sid, names["messages"])
        roster = await queries.find(conn, visit.runtime.tables, service_sid, names["roster"])
    hub: Hub = visit.request.app.state.hub
    # A channel older than the Sync projection has no list until something touches it.
    if found is None:
        stream = _later()
    else:
        typists = None if roster is None else (roster.sid, roster.last_event_id)
        stream = _stream(hub, found.sid, _resume_from(visit), typists)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def _later() -> AsyncIterator[bytes]:
    """An empty stream: the browser asks again after a while."""
    yield f"retry: {RETRY_MS * 5}\n\n".encode()


async def _stream(
    hub: Hub, object_sid: str, since: int, roster: tuple[str, int] | None
) -> AsyncIterator[bytes]:
    """The list's events after `since`, and the typing indicators heard by the roster (SID,
    and its position now: none of its past events is replayed)."""
    listener = Listener(object_sid)
    STREAMING.add(listener)
    yield f"retry: {RETRY_MS}\n\n".encode()
    try:
        if roster is not None:
            await hub.subscribe(listener, *roster)
        await hub.subscribe(listener, object_sid, since)  # replays what came after `since`
        while not listener.ended:
            try:
                frame = await asyncio.wait_for(listener.queue.get(), KEEPALIVE)
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if frame:
                yield frame
    finally:
        STREAMING.discard(listener)
        hub.drop(listener)
