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
from sqlalchemy import select

from chinwag.model.errors import ApiError
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.resources.services import SERVICE
from chinwag.runtime import Runtime
from chinwag.store import accounts
from chinwag.store.db import Connection
from chinwag.store.errors import RetryLater
from chinwag.store.tables import Tables

KEY_PREFIX = "chinwag demo "
SERVICE_NAME = "chinwag demo"
CLAIM_TRIES = 3  # a claim that gave way to another process's lock (RetryLater) runs again
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


async def _oldest(
    conn: Connection, tables: Tables, account: accounts.Account
) -> DemoService | None:
    """The oldest demo key that can sign and whose service still exists, with its service."""
    services = tables["service"]
    for key in await accounts.list_keys(conn, tables, account.sid):
        if not (key.friendly_name.startswith(KEY_PREFIX) and key.can_sign):
            continue
        sid = key.friendly_name.removeprefix(KEY_PREFIX)
        live = select(services.c.sid).where(
            services.c.account_sid == account.sid, services.c.sid == sid
        )
        signing = await accounts.signing_secret(conn, tables, key.sid)
        if signing is not None and (await conn.execute(live)).first() is not None:
            return DemoService(account, sid, key.sid, signing[1])
    return None


async def _reuse(runtime: Runtime, account: accounts.Account) -> DemoService | None:
    """The demo service of an earlier run or of another process, if there is one."""
    async with runtime.db.read() as conn:
        return await _oldest(conn, runtime.tables, account)


async def _create_service(runtime: Runtime, account: accounts.Account) -> str:
    form = Form([("FriendlyName", SERVICE_NAME)])
    made = await perform(
        runtime, Operation(SERVICE, "create", "v2", account, "/v2/Services", {}, form)
    )
    assert made.row is not None  # noqa: S101  (a create returns its row)
    return str(made.row["sid"])


async def _claim(runtime: Runtime, account: accounts.Account, made_sid: str) -> DemoService:
    """The oldest demo key whose service exists, or else a new one for `made_sid`, decided
    under the account's lock: of several processes that each made a service at once, the first
    to get here names its service in a key, and every later one finds that key. (Choosing the
    oldest key without the lock could not see a key whose transaction had yet to commit.)"""
    tables = runtime.tables
    for attempt in range(1, CLAIM_TRIES + 1):
        try:
            async with runtime.db.write() as conn:
                await accounts.lock(conn, tables, account.sid)
                found = await _oldest(conn, tables, account)
                if found is not None:
                    return found
                name = KEY_PREFIX + made_sid
                made = await accounts.create_key(conn, tables, account.sid, name)
                assert made.secret is not None  # noqa: S101  (a new key carries its secret)
                return DemoService(account, made_sid, made.sid, made.secret)
        except RetryLater:  # waited too long for another process's lock: it has decided now
            if attempt == CLAIM_TRIES:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _discard_service(runtime: Runtime, account: accounts.Account, sid: str) -> None:
    """Delete a service this process made for the demo and another process's won."""
    path = f"/v2/Services/{sid}"
    await perform(runtime, Operation(SERVICE, "delete", "v2", account, path, {"Sid": sid}))


class DemoSetup:
    """Finds or makes the demo service on first use, once per process (the oldest demo key
    whose service exists wins, decided under the account's lock, so every worker process signs
    for the same service)."""

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
                    # Several --workers may each make one at once: one key names the winner.
                    made_sid = await _create_service(runtime, account)
                    found = await _claim(runtime, account, made_sid)
                    if found.service_sid != made_sid:
                        await _discard_service(runtime, account, made_sid)
                self._ready = found
            return self._ready
