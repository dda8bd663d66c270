"""Sending webhooks and push notifications, and the worker that drains the outbox.

Every server process runs one `Deliverer`. It claims due deliveries, sends each with a timeout,
and records the outcome: delivered, retried later with exponential backoff and jitter, or failed
and kept. Only a timeout, a connection failure, 429, 503 or 504 is retried, as Twilio did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from chinwag import __version__
from chinwag.events import outbox
from chinwag.events.signing import json_url, signature, with_query
from chinwag.metrics import Metrics
from chinwag.store.accounts import get_account
from chinwag.store.db import Database
from chinwag.store.errors import DatabaseError
from chinwag.store.tables import Tables

log = logging.getLogger("chinwag.events")

USER_AGENT = f"chinwag/{__version__} (Twilio Chat webhooks)"
RETRYABLE = frozenset({429, 503, 504})
DEPTH_REPORT_EVERY = 60.0  # seconds between outbox depth log lines
MAX_BACKOFF = 300.0


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
) -> httpx.Request:
    """A signed webhook request: form POST, or GET with the parameters in the URL."""
    headers = {"User-Agent": USER_AGENT, "I-Twilio-Idempotency-Token": token}
    if method == "GET":
        full = with_query(url, params)
        headers["X-Twilio-Signature"] = signature(auth_token, full)
        return httpx.Request("GET", full, headers=headers)
    headers["X-Twilio-Signature"] = signature(auth_token, url, params)
    return httpx.Request("POST", url, data=params, headers=headers)


def json_request(auth_token: str, url: str, payload: dict[str, Any], token: str) -> httpx.Request:
    body = orjson.dumps(payload)
    signed_url = json_url(url, body)
    headers = {
        "User-Agent": USER_AGENT,
        "I-Twilio-Idempotency-Token": token,
        "Content-Type": "application/json",
        "X-Twilio-Signature": signature(auth_token, signed_url),
    }
    return httpx.Request("POST", signed_url, content=body, headers=headers)


async def send(client: httpx.AsyncClient, request: httpx.Request, seconds: float) -> Outcome:
    """One attempt: the answer, or why there was none within `seconds`."""
    request.extensions["timeout"] = httpx.Timeout(seconds).as_dict()
    try:
        response = await client.send(request)
        return Outcome(response.status_code, response.content[:65536])
    except httpx.TimeoutException:
        return Outcome(None, error=f"timed out after {seconds:g}s")
    except httpx.HTTPError as exc:
        return Outcome(None, error=f"{type(exc).__name__}: {exc}")


def backoff(base: float, attempt: int) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): doubling, with +-50% jitter."""
    delay = min(base * 2.0 ** (attempt - 1), MAX_BACKOFF)
    return delay * random.uniform(0.5, 1.5)  # noqa: S311  (jitter, not security)


class Deliverer:
    """Drains the outbox of one database: claims, sends, records. One per server process."""

    def __init__(
        self,
        db: Database,
        tables: Tables,
        *,
        timeout: float,
        backoff_base: float,
        metrics: Metrics | None = None,
        concurrency: int = 32,
        poll: float = 0.5,
    ) -> None:
        self.metrics = metrics
        self.db = db
        self.tables = tables
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.concurrency = concurrency
        self.poll = poll
        self.client = httpx.AsyncClient(follow_redirects=False)
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None

    def start(self) -> None:
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
        await self.client.aclose()

    async def _run(self) -> None:
        next_report = 0.0
        while True:
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + DEPTH_REPORT_EVERY
                await self._report_depth()
            claimed = await self._claim()
            for delivery in claimed:
                task = asyncio.create_task(self._deliver(delivery))
                self._inflight.add(task)
                task.add_done_callback(self._done)
            if not claimed:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll)

    async def _report_depth(self) -> None:
        """Log how many deliveries wait, while any do (also in /metrics)."""
        try:
            async with self.db.read() as conn:
                waiting = await outbox.depth(conn, self.tables)
        except (DatabaseError, OSError, TimeoutError):
            return
        if waiting:
            log.info(
                "outbox: %d deliveries pending, %d in flight here", waiting, len(self._inflight)
            )

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # the next delivery of its queue may now go

    async def _claim(self) -> list[outbox.Delivery]:
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return []
        try:
            async with self.db.write() as conn:
                return await outbox.claim(conn, self.tables, free, lease=self.timeout * 2 + 30)
        except (DatabaseError, OSError, TimeoutError) as exc:
            log.warning("outbox claim failed: %s", exc)
            await asyncio.sleep(self.poll)
            return []

    async def _deliver(self, delivery: outbox.Delivery) -> None:
        outcome = await self._send(delivery)
        attempt = delivery.attempts + 1
        if outcome.ok:
            status, retry_in = "delivered", None
        elif outcome.retryable and delivery.attempts < delivery.retry_limit:
            status, retry_in = "pending", backoff(self.backoff_base, attempt)
        else:
            status, retry_in = "failed", None
        error = outcome.error or (None if outcome.ok else f"HTTP {outcome.status}")
        if self.metrics is not None:
            self.metrics.observe_delivery(delivery.kind, "retried" if retry_in else status)
        log.info(
            "%s %s -> %s: %s (attempt %d%s)",
            delivery.kind,
            delivery.event,
            delivery.url,
            status,
            attempt,
            f", {error}" if error else "",
        )
        try:
            async with self.db.write() as conn:
                await outbox.finish(
                    conn, self.tables, delivery, status=status, error=error, retry_in=retry_in
                )
        except (DatabaseError, OSError, TimeoutError) as exc:
            log.warning(
                "could not record delivery %d: %s (it will be sent again)", delivery.pk, exc
            )

    async def _send(self, delivery: outbox.Delivery) -> Outcome:
        async with self.db.read() as conn:
            account = await get_account(conn, self.tables, delivery.account_sid)
        if account is None:
            return Outcome(410, error="the account no longer exists")
        if delivery.kind == "push":
            request = json_request(
                account.auth_token, delivery.url, delivery.params, delivery.token
            )
        else:
            params = {**delivery.params, "RetryCount": str(delivery.attempts)}
            request = form_request(
                account.auth_token, delivery.url, delivery.method, params, delivery.token
            )
        return await send(self.client, request, self.timeout)
