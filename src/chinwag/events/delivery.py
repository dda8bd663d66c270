"""Sending webhooks and push notifications, and the worker that drains the outbox.

Every server process runs one `Deliverer`. It claims due deliveries a queue's batch at a time,
sends each with a timeout over kept-alive connections, and records the outcomes: delivered,
retried later with exponential backoff and jitter, or failed and kept. Only a timeout, a
connection failure, 429, 503 or 504 is retried, as Twilio did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from chinwag import __version__
from chinwag.events import outbox
from chinwag.events.http import Client, HttpError, Request
from chinwag.events.signing import json_url, signature, with_query
from chinwag.metrics import Metrics
from chinwag.store.accounts import get_account
from chinwag.store.db import Connection, Database
from chinwag.store.errors import DatabaseError
from chinwag.store.tables import Tables

log = logging.getLogger("chinwag.events")

USER_AGENT = f"chinwag/{__version__} (Twilio Chat webhooks)"
RETRYABLE = frozenset({429, 503, 504})
DEPTH_REPORT_EVERY = 60.0  # seconds between outbox depth log lines
MAX_BACKOFF = 300.0
LEASE_MARGIN = 5.0  # seconds: no send starts this close to its lease's end
PRUNE_ROUNDS = 20  # batches of finished deliveries removed per status, each DEPTH_REPORT_EVERY
RECORD_EVERY = 1.0  # seconds: a batch sending slowly has its outcomes recorded this often


@dataclass(frozen=True)
class Outcome:
    status: int | None  # HTTP status, None when no answer came
    body: bytes = b""
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        return self.status is None or self.status in RETRYABLE


def form_request(
    auth_token: str, url: str, method: str, params: dict[str, str], token: str
) -> Request:
    """A signed webhook request: form POST, or GET with the parameters in the URL."""
    headers = {"I-Twilio-Idempotency-Token": token}
    if method == "GET":
        full = with_query(url, params)
        headers["X-Twilio-Signature"] = signature(auth_token, full)
        return Request("GET", full, headers)
    headers["X-Twilio-Signature"] = signature(auth_token, url, params)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return Request("POST", url, headers, urlencode(params).encode())


def json_request(auth_token: str, url: str, payload: dict[str, Any], token: str) -> Request:
    body = orjson.dumps(payload)
    signed_url = json_url(url, body)
    headers = {
        "I-Twilio-Idempotency-Token": token,
        "Content-Type": "application/json",
        "X-Twilio-Signature": signature(auth_token, signed_url),
    }
    return Request("POST", signed_url, headers, body)


async def send(client: Client, request: Request, seconds: float) -> Outcome:
    """One attempt: the answer, or why there was none within `seconds`."""
    try:
        response = await client.send(request, seconds)
        return Outcome(response.status, response.body[:65536])
    except TimeoutError:
        return Outcome(None, error=f"timed out after {seconds:g}s")
    except (OSError, HttpError) as exc:
        return Outcome(None, error=f"{type(exc).__name__}: {exc}")


def backoff(base: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): doubling, with +-50% jitter."""
    delay = min(base * 2.0 ** (attempt - 1), MAX_BACKOFF)
    return delay * random.uniform(0.5, 1.5)  # noqa: S311  (jitter, not security)


class SendLoop:
    """A thread with an event loop of its own, where deliveries are sent.

    The server's loop is saturated when requests keep both cores busy; a send waiting there
    for its turn after every answer managed about 10 round trips a second to one queue, far
    fewer than the creates that fill it. On its own loop a send waits only for the GIL, which
    the server's thread gives up at each SQLite statement and socket write.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="chinwag-deliveries", daemon=True
        )
        self._thread.start()

    def run(self, work: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        """`work` on this loop, as a future of the calling loop."""
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    async def close(self, client: Client) -> None:
        with contextlib.suppress(Exception):
            await self.run(client.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join, 10)
        if not self._thread.is_alive():
            self.loop.close()


class Deliverer:
    """Drains the outbox of one database: claims, sends, records. One per server process.

    It works in cycles, each one write transaction that records the outcomes of the sends since
    the last cycle and claims the due head of up to `concurrency` free queues with up to
    `batch - 1` deliveries behind each. A task per claimed queue sends its batch one at a time,
    in order, over kept-alive connections, and hands the outcomes back for the next cycle; the
    first delivery to be retried later ends its batch, and those behind it are given back
    untried. A commit wakes the worker (`notify`), and cycles start at least `gather` seconds
    apart, so that a burst of commits costs one transaction rather than one each.
    """

    def __init__(
        self,
        db: Database,
        tables: Tables,
        *,
        timeout: float,
        backoff_base: float,
        metrics: Metrics | None = None,
        concurrency: int = 32,
        batch: int = 200,
        poll: float = 0.5,
        gather: float = 0.05,
    ) -> None:
        self.metrics = metrics
        self.db = db
        self.tables = tables
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.concurrency = concurrency
        self.batch = batch
        self.poll = poll
        self.gather = gather
        self.lease = timeout * 2 + 30
        self.client = Client(USER_AGENT)  # the server loop's: pre-event hooks ask with it
        self._sending = Client(USER_AGENT)  # the send loop's
        self._sender: SendLoop | None = None
        self._home: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Future[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._attempts: list[outbox.Attempt] = []  # sent, to record in the next cycle
        self._released: list[outbox.Delivery] = []  # claimed, not sent: to give back

    def start(self) -> None:
        self._home = asyncio.get_running_loop()
        self._sender = SendLoop()
        self._loop_task = asyncio.create_task(self._run(), name="chinwag-deliverer")

    def notify(self) -> None:
        """New deliveries were committed: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        # Sends in flight get a moment to finish; an unfinished one is re-sent after its lease.
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=self.timeout)
        for task in self._inflight:
            task.cancel()
        await self._cycle(claim=False)
        await self.client.aclose()
        if self._sender is not None:
            await self._sender.close(self._sending)

    async def _run(self) -> None:
        next_report = 0.0
        while True:
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + DEPTH_REPORT_EVERY
                await self._report_depth()
                await self._prune()
            self._wake.clear()  # before the cycle: a commit during it wakes the next one
            began = time.monotonic()
            for batch, tokens in await self._cycle():
                assert self._sender is not None  # noqa: S101  (set by start)
                task = self._sender.run(self._deliver(batch, tokens))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
            await asyncio.sleep(max(0.0, began + self.gather - time.monotonic()))

    async def _report_depth(self) -> None:
        """Log how many deliveries wait, while any do (also in /metrics)."""
        try:
            async with self.db.read() as conn:
                waiting = await outbox.depth(conn, self.tables)
        except (DatabaseError, OSError, TimeoutError):
            return
        if waiting:
            log.info(
                "outbox: %d deliveries pending, %d queues in flight here",
                waiting,
                len(self._inflight),
            )

    async def _prune(self) -> None:
        """Remove finished deliveries past their retention (outbox.KEPT), a bounded batch per
        transaction so the write lock is never held long; at most PRUNE_ROUNDS per status."""
        try:
            for status, kept in outbox.KEPT.items():
                for _ in range(PRUNE_ROUNDS):
                    async with self.db.write() as conn:
                        removed = await outbox.prune(conn, self.tables, status, kept)
                    if removed < outbox.PRUNE_BATCH:
                        break
        except (DatabaseError, OSError, TimeoutError) as exc:
            log.warning("outbox prune failed: %s (tried again later)", exc)

    def _done(self, task: asyncio.Future[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # its outcomes wait to be recorded, and its queue may go on

    # -- called on the send loop; what changes the deliverer's state runs on the server's --

    def _home_call(self, *call: Any) -> None:
        assert self._home is not None  # noqa: S101  (set by start)
        self._home.call_soon_threadsafe(*call)

    def _handed(self, attempt: outbox.Attempt) -> None:
        if self.metrics is not None:
            status = "retried" if attempt.retry_in else attempt.status
            self.metrics.observe_delivery(attempt.delivery.kind, status)
        self._attempts.append(attempt)

    def _given_back(self, deliveries: list[outbox.Delivery]) -> None:
        self._released += deliveries

    async def _cycle(
        self, claim: bool = True
    ) -> list[tuple[list[outbox.Delivery], dict[str, str]]]:
        """One transaction: record what was sent, then claim batches for the free queues (with
        their accounts' auth tokens)."""
        attempts, released = self._attempts, self._released
        self._attempts, self._released = [], []
        free = self.concurrency - len(self._inflight) if claim else 0
        if not attempts and not released and free <= 0:
            return []
        try:
            async with self.db.write() as conn:
                await outbox.record(conn, self.tables, attempts, released)
                if free <= 0:
                    return []
                batches = await outbox.claim(conn, self.tables, free, self.batch, self.lease)
                sids = {d.account_sid for batch in batches for d in batch}
                tokens = await self._auth_tokens(conn, sids)
        except (DatabaseError, OSError, TimeoutError) as exc:
            log.warning("outbox cycle failed: %s (outcomes kept for the next)", exc)
            self._attempts[:0], self._released[:0] = attempts, released
            if claim:
                await asyncio.sleep(self.poll)
            return []
        return [(batch, tokens) for batch in batches]

    async def _auth_tokens(self, conn: Connection, account_sids: set[str]) -> dict[str, str]:
        """Each account's auth token, read with every claim (a token may change at any time)."""
        tokens = {}
        for sid in account_sids:
            account = await get_account(conn, self.tables, sid)
            if account is not None:
                tokens[sid] = account.auth_token
        return tokens

    async def _deliver(self, batch: list[outbox.Delivery], tokens: dict[str, str]) -> None:
        """Send one queue's batch in order (on the send loop); hand the outcomes and what was
        not sent back."""
        # A send starts only if it ends (timeout) well before the lease does: past the lease,
        # another worker may take the same delivery.
        last_start = time.monotonic() + self.lease - self.timeout - LEASE_MARGIN
        handed = time.monotonic()
        for n, delivery in enumerate(batch):
            if time.monotonic() > last_start:
                self._home_call(self._given_back, batch[n:])
                return
            attempt = self._judge(delivery, await self._send(delivery, tokens))
            self._home_call(self._handed, attempt)
            if attempt.status == "pending":  # a retry later: the rest wait behind it
                self._home_call(self._given_back, batch[n + 1 :])
                return
            if time.monotonic() - handed >= RECORD_EVERY:  # a slow queue: record as it goes
                handed = time.monotonic()
                self._home_call(self._wake.set)

    def _judge(self, delivery: outbox.Delivery, outcome: Outcome) -> outbox.Attempt:
        attempt = delivery.attempts + 1
        if outcome.ok:
            status, retry_in = "delivered", None
        elif outcome.retryable and delivery.attempts < delivery.retry_limit:
            status, retry_in = "pending", backoff(self.backoff_base, attempt)
        else:
            status, retry_in = "failed", None
        error = outcome.error or (None if outcome.ok else f"HTTP {outcome.status}")
        log.info(
            "%s %s -> %s: %s (attempt %d%s)",
            delivery.kind,
            delivery.event,
            delivery.url,
            status,
            attempt,
            f", {error}" if error else "",
        )
        return outbox.Attempt(delivery, status, error, retry_in, outcome.status)

    async def _send(self, delivery: outbox.Delivery, tokens: dict[str, str]) -> Outcome:
        auth_token = tokens.get(delivery.account_sid)
        if auth_token is None:
            return Outcome(410, error="the account no longer exists")
        if delivery.kind == "push":
            request = json_request(auth_token, delivery.url, delivery.params, delivery.token)
        else:
            params = {**delivery.params, "RetryCount": str(delivery.attempts)}
            request = form_request(
                auth_token, delivery.url, delivery.method, params, delivery.token
            )
        return await send(self._sending, request, self.timeout)
