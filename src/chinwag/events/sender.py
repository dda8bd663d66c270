"""The sender: a child process of each server process, where its claimed deliveries are sent.

The server's thread is busy with requests. A send on its event loop waits its turn after every
answer, and a thread of its own shares the GIL with the requests, both threads paying for each
hand-over. The sender process has a core of its own: the server hands it a queue's batch (the
deliveries, in order, and their accounts' auth tokens) and gets back, per batch, what became of
each (`events/sending.judge`), as the deliverer's cycles claim and record them in the database.

The two talk over the child's stdin and stdout, in frames of a 4-byte length and a pickle (a
private pipe between two processes of the same code). The child logs each attempt to the
server's stderr. When its stdin closes (the server stopped, or died), it drops what it was
sending and exits: whatever it had not reported is sent again once its lease ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle  # frames between a server process and its own child (see _frame)
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chinwag import collector, logsetup
from chinwag.events.http import Client
from chinwag.events.sending import USER_AGENT, Attempt, Delivery, attempt, judge

log = logging.getLogger("chinwag.events")

RECORD_EVERY = 1.0  # seconds: a batch sending slowly reports its outcomes this often
RESTART_AFTER = 1.0  # seconds between a sender's exit and the next one's start
STOP_WITHIN = 5.0  # seconds a sender has to exit once its stdin is closed
# The sender's CPU priority below its server's (`nice` steps). Where the two contend for a core,
# the requests' work runs first and deliveries take what is left (a webhook may wait a few
# milliseconds more; a request holds its client and its channel's writer); an idle core
# still runs the sender at full speed.
NICER = 10
_HEADER = struct.Struct(">I")
# What the child reports: (index in the batch, status, error, retry_in, HTTP status) per attempt.
Report = tuple[int, str, str | None, float | None, int | None]


def _frame(message: Any) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
        body = await reader.readexactly(_HEADER.unpack(header)[0])
    except asyncio.IncompleteReadError:
        return None
    return pickle.loads(body)  # noqa: S301  (see _frame)


# -- the child ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    timeout: float  # seconds for one attempt
    backoff_base: float
    window: float  # seconds after a batch arrives during which a send may still start


@dataclass
class _Progress:
    """A batch's outcomes not yet written to the server, and how many deliveries have one."""

    reports: list[Report] = field(default_factory=list)
    tried: int = 0


@dataclass(frozen=True)
class _Child:
    """What the sender's batches share: its settings, its HTTP client and the pipe to the
    server."""

    config: _Config
    client: Client
    writer: asyncio.StreamWriter

    async def deliver(self, batch_id: int, batch: list[Delivery], tokens: dict[str, str]) -> None:
        """Send one queue's batch in order; report as it goes, and end with "done" and where
        the untried rest begins (None: all tried)."""
        progress = _Progress()
        untried: int | None = None
        try:
            untried = await self._send_in_order(batch_id, batch, tokens, progress)
        except Exception:  # a bug, not a failed send (those are outcomes): give back the rest
            log.exception("delivery sender: a batch failed")
            untried = progress.tried
        finally:
            self.writer.write(_frame(("done", batch_id, progress.reports, untried)))

    async def _send_in_order(
        self, batch_id: int, batch: list[Delivery], tokens: dict[str, str], progress: _Progress
    ) -> int | None:
        """The sends of `deliver`; where the untried rest begins. A send starts only if it ends
        (its timeout) before the lease does: past the lease, another worker may take the same
        delivery. The first delivery to be retried later ends the batch: the rest wait behind
        it."""
        config = self.config
        last_start = time.monotonic() + config.window
        reported = time.monotonic()
        for n, delivery in enumerate(batch):
            if time.monotonic() > last_start:
                return n
            auth_token = tokens.get(delivery.account_sid)
            outcome = await attempt(self.client, delivery, auth_token, config.timeout)
            judged = judge(delivery, outcome, config.backoff_base)
            progress.reports.append(
                (n, judged.status, judged.error, judged.retry_in, judged.http_status)
            )
            progress.tried = n + 1
            if judged.status == "pending":
                return n + 1
            if time.monotonic() - reported >= RECORD_EVERY:  # a slow queue: report as it goes
                self.writer.write(_frame(("progress", batch_id, progress.reports)))
                progress.reports = []
                reported = time.monotonic()
        return None


async def _serve(config: _Config) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout.buffer
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    child = _Child(config, Client(USER_AGENT), writer)
    collector.settle()
    sending: set[asyncio.Task[None]] = set()
    while (message := await _read_frame(reader)) is not None:
        _, batch_id, rows, tokens = message
        batch = [Delivery._make(row) for row in rows]
        task = asyncio.create_task(child.deliver(batch_id, batch, tokens))
        sending.add(task)
        task.add_done_callback(sending.discard)
    for task in sending:  # the server is gone or stopping: nobody would record the outcomes
        task.cancel()
    await asyncio.gather(*sending, return_exceptions=True)
    await child.client.aclose()


def main(argv: list[str]) -> None:
    """`python -m chinwag.events.sender TIMEOUT BACKOFF_BASE WINDOW LOG_FORMAT`, started by
    `Sender`, never by hand."""
    timeout, backoff_base, window, log_format = argv
    # Ctrl-C reaches the whole process group: the server stops first, then closes our stdin.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logsetup.configure(log_format)
    with contextlib.suppress(OSError, AttributeError):  # no priorities here: sent all the same
        os.nice(NICER)
    serving = _serve(_Config(float(timeout), float(backoff_base), float(window)))
    try:
        import uvloop  # the server's loop too, where installed: a cheaper socket round trip
    except ImportError:
        asyncio.run(serving)
    else:
        uvloop.run(serving)


# -- the server's side -------------------------------------------------------------------------


@dataclass
class _Batch:
    deliveries: list[Delivery]
    done: asyncio.Future[None]
    reported: int = 0  # how many of the deliveries have an outcome back


class Sender:
    """A server process's sender process, started again if it ends, and the batches it holds.

    `handed` gets the attempts as they come back, and `given_back` the deliveries a batch did not
    try (behind a retry, past its window, or in a sender that ended); both run on the server's
    event loop. Each `send` gives a future that resolves when its batch is over.
    """

    def __init__(
        self,
        *,
        timeout: float,
        backoff_base: float,
        window: float,
        log_format: str,
        handed: Callable[[list[Attempt]], None],
        given_back: Callable[[list[Delivery]], None],
    ) -> None:
        self._argv = [str(timeout), str(backoff_base), str(window), log_format]
        self._handed = handed
        self._given_back = given_back
        self._process: asyncio.subprocess.Process | None = None
        self._batches: dict[int, _Batch] = {}
        self._next_id = 0
        self._closing = False
        self._watch: asyncio.Task[None] | None = None
        self._started = asyncio.Event()

    async def start(self) -> None:
        """Start the sender, unless it runs already; it is started again after it ends, until
        `close`. The deliverer starts it with its first batch: a server that sends nothing
        runs no sender."""
        if self._watch is None and not self._closing:
            self._watch = asyncio.create_task(self._keep_running(), name="chinwag-sender")
        await self._started.wait()

    def send(self, batch: list[Delivery], tokens: dict[str, str]) -> asyncio.Future[None]:
        """Hand `batch` (one queue's, in order) to the sender (`start`ed)."""
        done = asyncio.get_running_loop().create_future()
        process = self._process
        if process is None or process.stdin is None or self._closing:
            self._given_back(batch)  # claimed again in a later cycle
            done.set_result(None)
            return done
        self._next_id += 1
        self._batches[self._next_id] = _Batch(batch, done)
        # A broken pipe means the sender ended: its watcher gives the batch back.
        with contextlib.suppress(ConnectionError, RuntimeError):
            rows = [tuple(d) for d in batch]  # plain tuples pickle in a sixth of the time
            process.stdin.write(_frame(("batch", self._next_id, rows, tokens)))
        return done

    async def close(self) -> None:
        """Stop the sender (batches it still holds are given back) and do not start another."""
        self._closing = True
        process = self._process
        if process is not None and process.stdin is not None:
            process.stdin.close()
        if self._watch is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._watch), STOP_WITHIN)
        except TimeoutError:
            if self._process is not None:
                with contextlib.suppress(ProcessLookupError):
                    self._process.kill()
            await self._watch

    async def _keep_running(self) -> None:
        while not self._closing:
            try:
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "chinwag.events.sender",
                    *self._argv,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
            except OSError as exc:
                log.warning("delivery sender did not start: %s (tried again)", exc)
                self._started.set()
                await asyncio.sleep(RESTART_AFTER)
                continue
            self._process = process
            self._started.set()
            try:
                await self._listen(process)
            except Exception:  # a report it cannot read: this sender is no use either
                log.exception("delivery sender: unreadable report")
            self._process = None
            with contextlib.suppress(ProcessLookupError):
                process.kill()  # an ended stdout with the process alive: it is no use
            code = await process.wait()
            self._end_batches()
            if not self._closing:
                log.warning("delivery sender exited (%s); starting another", code)
                await asyncio.sleep(RESTART_AFTER)

    async def _listen(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None  # noqa: S101  (started with a pipe)
        while (message := await _read_frame(process.stdout)) is not None:
            kind, batch_id, reports, *rest = message
            batch = self._batches.get(batch_id)
            if batch is None:
                continue
            attempts = [
                Attempt(batch.deliveries[n], status, error, retry_in, http_status)
                for n, status, error, retry_in, http_status in reports
            ]
            batch.reported += len(attempts)
            self._handed(attempts)
            if kind == "done":
                del self._batches[batch_id]
                untried = rest[0]
                if untried is not None:
                    self._given_back(batch.deliveries[untried:])
                if not batch.done.done():  # a stopping deliverer may have stopped waiting
                    batch.done.set_result(None)

    def _end_batches(self) -> None:
        """The sender ended: what it did not report is given back, and its batches are over."""
        for batch in self._batches.values():
            self._given_back(batch.deliveries[batch.reported :])
            if not batch.done.done():
                batch.done.set_result(None)
        self._batches.clear()


if __name__ == "__main__":
    main(sys.argv[1:])
