"""The demo's own Chat service and the API key that signs its tokens, made once and reused.

The key is named after the service (`chinwag demo IS...`), so the pair is found again after a
restart without a table of its own. The key's secret never leaves the server, and every token
it signs here grants the demo service only: a visitor of /demo can reach nothing else.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass

import jwt

from chinwag.model.errors import ApiError
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.resources.services import SERVICE
from chinwag.runtime import Runtime
from chinwag.store import accounts

KEY_PREFIX = "chinwag demo "
SERVICE_NAME = "chinwag demo"
TOKEN_TTL = 3600  # seconds; the page asks for a new one when the SDK says it is about to expire


@dataclass(frozen=True)
class DemoService:
    account: accounts.Account
    service_sid: str
    key_sid: str
    secret: str

    def mint(self, identity: str) -> str:
        """An access token as Twilio's helper libraries make it: HS256, a ChatGrant."""
        now = int(time.time())
        claims = {
            "jti": f"{self.key_sid}-{now}",
            "iss": self.key_sid,
            "sub": self.account.sid,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_TTL,
            "grants": {"identity": identity, "chat": {"service_sid": self.service_sid}},
        }
        headers = {"cty": "twilio-fpa;v=1"}
        return jwt.encode(claims, self.secret, algorithm="HS256", headers=headers)


async def _account(runtime: Runtime) -> accounts.Account:
    """The account of TWILIO_ACCOUNT_SID when set, else the oldest (`chinwag serve` made one)."""
    async with runtime.db.read() as conn:
        found = await accounts.list_accounts(conn, runtime.tables)
    wanted = os.environ.get("TWILIO_ACCOUNT_SID")
    for account in found:
        if account.sid == wanted:
            return account
    if not found:
        raise RuntimeError("no account: `chinwag serve` creates one at start")
    return found[0]


async def _service_exists(runtime: Runtime, account: accounts.Account, sid: str) -> bool:
    path = f"/v2/Services/{sid}"
    try:
        await perform(runtime, Operation(SERVICE, "fetch", "v2", account, path, {"Sid": sid}))
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


async def _reuse(runtime: Runtime, account: accounts.Account) -> DemoService | None:
    """The demo key of an earlier run, if its service still exists and it can sign."""
    async with runtime.db.read() as conn:
        keys = await accounts.list_keys(conn, runtime.tables, account.sid)
    for key in keys:
        if not (key.friendly_name.startswith(KEY_PREFIX) and key.can_sign):
            continue
        service_sid = key.friendly_name.removeprefix(KEY_PREFIX)
        if not await _service_exists(runtime, account, service_sid):
            continue
        async with runtime.db.read() as conn:
            signing = await accounts.signing_secret(conn, runtime.tables, key.sid)
        if signing is not None:
            return DemoService(account, service_sid, key.sid, signing[1])
    return None


async def _create(runtime: Runtime, account: accounts.Account) -> DemoService:
    form = Form([("FriendlyName", SERVICE_NAME)])
    made = await perform(
        runtime, Operation(SERVICE, "create", "v2", account, "/v2/Services", {}, form)
    )
    assert made.row is not None  # noqa: S101  (a create returns its row)
    service_sid = str(made.row["sid"])
    async with runtime.db.write() as conn:
        key = await accounts.create_key(conn, runtime.tables, account.sid, KEY_PREFIX + service_sid)
    assert key.secret is not None  # noqa: S101  (a new key carries its secret)
    return DemoService(account, service_sid, key.sid, key.secret)


class DemoSetup:
    """Finds or makes the demo service on first use, once per process (the oldest demo key
    whose service exists wins, so every worker process signs for the same service)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._ready: DemoService | None = None

    async def get(self, runtime: Runtime) -> DemoService:
        async with self._lock:
            ready = self._ready
            if ready is not None and not await _service_exists(
                runtime, ready.account, ready.service_sid
            ):
                self._ready = None  # deleted over REST meanwhile: make another
            if self._ready is None:
                account = await _account(runtime)
                found = await _reuse(runtime, account)
                if found is None:
                    made = await _create(runtime, account)
                    # Several --workers may each have made one at once: all take the oldest.
                    found = await _reuse(runtime, account) or made
                self._ready = found
            return self._ready
