"""One delivery attempt: the claimed delivery, its signed request, the send, and the verdict on
what came back.

Used where deliveries are sent (the sender process, `events/sender.py`, which imports only what
it needs to start quickly) and by the pre-event hooks, which ask within a request. Nothing here
touches the database: the outbox (`events/outbox.py`) makes `Delivery`s of its rows and records
`Attempt`s.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from chinwag import __version__
from chinwag.events.http import Client, HttpError, Request
from chinwag.events.signing import json_url, signature, with_query
from chinwag.urlencoding import urlencode

log = logging.getLogger("chinwag.events")

USER_AGENT = f"chinwag/{__version__} (Twilio Chat webhooks)"
RETRYABLE = frozenset({429, 503, 504})
MAX_BACKOFF = 300.0


class Delivery(NamedTuple):
    """One claimed delivery of the outbox (`events/outbox.py`), as it is sent. A tuple, its
    parameters the JSON text they are stored as: the server makes one per delivery and hands
    it to its sender process (`events/sender.py`), which alone reads the parameters."""

    pk: int
    token: str
    account_sid: str
    kind: str  # webhook | push
    event: str
    url: str
    method: str
    params: str  # a JSON object
    retry_limit: int
    attempts: int


class Attempt(NamedTuple):
    """The outcome of one attempt: delivered, failed for good, or pending after `retry_in` s."""

    delivery: Delivery
    status: str
    error: str | None = None
    retry_in: float | None = None
    http_status: int | None = None  # the receiver's answer; None when none came


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


async def attempt(
    client: Client, delivery: Delivery, auth_token: str | None, seconds: float
) -> Outcome:
    """Send `delivery` once, signed with its account's `auth_token` (None: the account is gone)."""
    if auth_token is None:
        return Outcome(410, error="the account no longer exists")
    values = orjson.loads(delivery.params)
    if delivery.kind == "push":
        request = json_request(auth_token, delivery.url, values, delivery.token)
    else:
        params = {**values, "RetryCount": str(delivery.attempts)}
        request = form_request(auth_token, delivery.url, delivery.method, params, delivery.token)
    return await send(client, request, seconds)


def judge(delivery: Delivery, outcome: Outcome, backoff_base: float) -> Attempt:
    """What `outcome` makes of `delivery`: delivered, pending (retried later) or failed; logged."""
    attempt = delivery.attempts + 1
    if outcome.ok:
        status, retry_in = "delivered", None
    elif outcome.retryable and delivery.attempts < delivery.retry_limit:
        status, retry_in = "pending", backoff(backoff_base, attempt)
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
    return Attempt(delivery, status, error, retry_in, outcome.status)
