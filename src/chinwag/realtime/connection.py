"""One twilsock session: the handshake, a reply to every request, pushes, token expiry.

Transport-free: the WebSocket route (realtime/route.py) feeds it frames and drains `outgoing`,
a bounded queue. A client that does not read fast enough fills it and is disconnected (the SDK
reconnects and replays what it missed from the Sync logs), so no connection waits on another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select

from chinwag import times
from chinwag.domain.permissions import visible
from chinwag.realtime import tokens
from chinwag.realtime.follows import ChannelFollows
from chinwag.realtime.framing import Frame, FrameError, encode
from chinwag.realtime.presence import Presence
from chinwag.realtime.upstream import REASONS, ROUTER, Reply, parse
from chinwag.runtime import Runtime
from chinwag.sids import new_sid
from chinwag.store import accounts
from chinwag.store.db import Database
from chinwag.store.queries import insert_ignoring_conflicts
from chinwag.store.tables import Tables
from chinwag.sync.chat import UserObjects, ensure_user_objects
from chinwag.sync.live import Hub

log = logging.getLogger("chinwag.realtime")

QUEUE = 1000  # frames waiting for a slow client before it is disconnected
IN_FLIGHT = 16  # tunnelled requests one connection may have running at once
WARN_BEFORE = 180  # seconds before expiry the SDK hears `token_about_to_expire`, as on Twilio
INIT_TIMEOUT = 30.0  # seconds a new connection has to send `init`
CAPABILITIES = ("client_update",)  # of those the client offers, what we confirm
TYPING = "twilio.ipmsg.typing_indicator"
# The notifications a client registers for that we send (Sync events go to every client).
# Only these are kept: a client registering again and again must not grow the set forever.
REGISTRABLE = frozenset({TYPING})

# WebSocket close codes
NORMAL, GOING_AWAY, POLICY, TRY_AGAIN = 1000, 1001, 1008, 1013


@dataclass(frozen=True)
class Identity:
    """Who a connection acts as: the token's grant, and the user it names."""

    grant: tokens.Grant
    account: accounts.Account
    user: dict[str, Any]
    service: dict[str, Any]
    objects: UserObjects

    @property
    def identity(self) -> str:
        return self.grant.identity


class Closed(Exception):
    """The session is over; `code` is the WebSocket close code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def status(code: int, **extra: Any) -> dict[str, Any]:
    return {"code": code, "status": REASONS.get(code, "Error"), **extra}


def registrable(registrations: Any) -> set[str]:
    """Of the message types `registrations` (the SDK's list of `{message_types: [...]}`) names,
    those we send; anything else in it, of any shape, is ignored."""
    if not isinstance(registrations, list):
        return set()
    named = set()
    for entry in registrations:
        if isinstance(entry, dict) and isinstance(entry.get("message_types"), list):
            named |= {t for t in entry["message_types"] if isinstance(t, str)}
    return named & REGISTRABLE


class Session:
    def __init__(
        self, runtime: Runtime, hub: Hub, base: str, presence: Presence | None = None
    ) -> None:
        self.runtime = runtime
        self.presence = presence  # counts the connection for reachability once signed in
        self.connection_id: str | None = None
        self.db: Database = runtime.db
        self.tables: Tables = runtime.tables
        self.hub = hub
        self.base = base  # the http(s) root our Sync and Chat links name
        self.outgoing: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE)
        self.who: Identity | None = None
        self.message_types: set[str] = set()
        self.close_code: int | None = None
        self._timers: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._follows: ChannelFollows | None = None

    # ---- sending
    def push(self, frame: bytes) -> None:
        """Queue a frame; a client that lets QUEUE frames pile up is disconnected."""
        if self.close_code is not None:
            return
        try:
            self.outgoing.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing a connection that does not keep up (%s)", self._who())
            self.end(TRY_AGAIN)

    def end(self, code: int) -> None:
        """Finish: the writer sends what is queued, then closes with `code`."""
        if self.close_code is None:
            self.close_code = code
            # On a full queue the writer sees close_code and stops without the backlog.
            with contextlib.suppress(asyncio.QueueFull):
                self.outgoing.put_nowait(None)

    def reply(self, frame: Frame, code: int = 200, payload: Any = None, **extra: Any) -> None:
        header = {"method": "reply", "id": frame.id, "status": status(code), **extra}
        self.push(encode(header, payload))

    def notify(self, message_type: str, payload: Any) -> None:
        header = {"method": "notification", "id": "TM" + secrets.token_hex(16)}
        self.push(encode({**header, "message_type": message_type}, payload))

    def deliver(self, object_sid: str, event_id: int, body: bytes) -> None:
        """A Sync event for a subscribed object (called by the hub, in order per object)."""
        header = {"method": "notification", "id": "TM" + secrets.token_hex(16)}
        header |= {"message_type": "twilio.sync.event", "payload_type": "application/json"}
        frame = encode(header, body)
        if self._follows is None:
            self.push(frame)
        else:
            self._follows.send(object_sid, frame)

    def follows(self) -> ChannelFollows:
        """The channels this signed-in connection's subscriptions belong to (realtime/follows.py)."""
        if self._follows is None:
            assert self.who is not None  # noqa: S101  (subscriptions come after sign-in)
            mine = self.who.objects.my_channels
            self._follows = ChannelFollows(
                self.hub,
                self,
                (mine.sid, mine.last_event_id),
                self._sees,
                self.spawn,
                lambda: self.end(TRY_AGAIN),
            )
        return self._follows

    async def _sees(self, channel_sid: str) -> bool:
        assert self.who is not None  # noqa: S101
        async with self.db.read() as conn:
            return await visible(
                conn,
                self.tables,
                self.who.grant.service_sid,
                self.who.identity,
                channel_sid,
            )

    def typing(self, payload: dict[str, Any]) -> None:
        """Another member types in a channel we follow (not our own, and only if registered)."""
        if self.who is None or payload.get("identity") == self.who.identity:
            return
        if TYPING in self.message_types:
            self.notify(TYPING, payload)

    def _who(self) -> str:
        return self.who.identity if self.who else "not signed in"

    # ---- receiving
    async def receive(self, frame: Frame) -> None:
        """Handle one client frame; raises FrameError for protocol faults."""
        method = frame.method
        if self.who is None and method != "init":
            self._close_frame(406, "init expected")
            raise Closed(POLICY)
        if method == "init":
            await self._init(frame)
        elif method == "message":
            await self._slots.acquire()
            self.spawn(self._message(frame))
        elif method in ("put_notification_ctx", "delete_notification_ctx"):
            self._notification_ctx(frame)
        elif method == "update":
            await self._update(frame)
        elif method == "close":
            raise Closed(NORMAL)
        elif method == "reply":
            pass  # the client's receipt of a frame we sent
        elif method == "telemetry.v1":
            pass  # only sent when confirmed; we do not confirm it
        else:
            self.reply(frame, 400)

    def _close_frame(self, code: int, why: str, **extra: Any) -> None:
        header = {"method": "close", "id": "TM" + secrets.token_hex(16)}
        self.push(encode({**header, "status": status(code, description=why, **extra)}))

    # ---- the handshake
    async def _init(self, frame: Frame) -> None:
        if self.who is not None:
            self.reply(frame, 400)
            return
        try:
            self.who = await self._sign_in(frame.header.get("token"))
        except tokens.TokenError as error:
            refused = status(401, errorCode=error.code, description=error.message)
            self.push(encode({"method": "reply", "id": frame.id, "status": refused}))
            raise Closed(POLICY) from error
        offered = frame.header.get("capabilities")
        confirmed = [c for c in CAPABILITIES if isinstance(offered, list) and c in offered]
        registrations = frame.header.get("registrations") or []
        self._register(registrations)
        if self.presence is not None:
            user = self.who.user
            self.connection_id = await self.presence.connect(user["sid"], user["service_sid"])
        self.reply(
            frame,
            200,
            capabilities=confirmed,
            continuation_token="CT" + secrets.token_hex(16),
            continuation_token_status={"reissued": True},
            init_registrations=registrations,
        )
        self._schedule_expiry()

    def _register(self, registrations: Any) -> None:
        self.message_types |= registrable(registrations)

    def _notification_ctx(self, frame: Frame) -> None:
        """5.x registers its message types after connecting, instead of in `init`."""
        if frame.method == "put_notification_ctx":
            payload = frame.json() if frame.is_json() else None
            if isinstance(payload, dict):
                self._register([payload])
        self.reply(frame, 200)

    async def _lookup(self, key_sid: str) -> tuple[str, str] | None:
        async with self.db.read() as conn:
            return await accounts.signing_secret(conn, self.tables, key_sid)

    async def _sign_in(self, token: Any) -> Identity:
        grant = await tokens.verify(token if isinstance(token, str) else "", self._lookup)
        s, u = self.tables["service"], self.tables["user"]
        async with self.db.write() as conn:
            found = (
                await conn.execute(
                    select(s).where(
                        and_(s.c.sid == grant.service_sid, s.c.account_sid == grant.account_sid)
                    )
                )
            ).first()
            if found is None:
                raise tokens.TokenError(
                    tokens.GRANTS, "Invalid Access Token grants: no such service"
                )
            service = dict(found._mapping)
            account = await accounts.get_account(conn, self.tables, grant.account_sid)
            assert account is not None  # noqa: S101  (the service's account)
            user = await self._ensure_user(conn, u, grant, service)
            objects = await ensure_user_objects(
                conn, self.tables, user, reachability=bool(service["reachability_enabled"])
            )
        return Identity(grant, account, user, service, objects)

    @staticmethod
    async def _ensure_user(
        conn: Any, u: Any, grant: tokens.Grant, service: dict[str, Any]
    ) -> dict[str, Any]:
        """The identity's User, created on first connect with the service's default role."""
        values = {
            "sid": new_sid("US"),
            "account_sid": grant.account_sid,
            "service_sid": grant.service_sid,
            "identity": grant.identity,
            "role_sid": service["default_service_role_sid"],
            "attributes": "{}",
            "joined_channels_count": 0,
            "date_created": times.now(),
        }
        await conn.execute(insert_ignoring_conflicts(conn, u, values))
        where = and_(u.c.service_sid == grant.service_sid, u.c.identity == grant.identity)
        row = (await conn.execute(select(u).where(where))).first()
        return dict(row._mapping)

    # ---- token lifetime
    def _schedule_expiry(self) -> None:
        for timer in self._timers:
            timer.cancel()
        assert self.who is not None  # noqa: S101
        left = self.who.grant.expires - time.time()
        loop = asyncio.get_running_loop()
        self._timers = [loop.create_task(self._warn(max(0.0, left - WARN_BEFORE)))]
        self._timers.append(loop.create_task(self._expire(max(0.0, left))))

    async def _warn(self, delay: float) -> None:
        await asyncio.sleep(delay)
        header = {"method": "client_update", "id": "TM" + secrets.token_hex(16)}
        self.push(encode({**header, "client_update_type": "token_about_to_expire"}))

    async def _expire(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._close_frame(410, "Token expired", errorCode=tokens.EXPIRED)
        self.end(POLICY)

    async def _update(self, frame: Frame) -> None:
        """A new token for this connection: same user, later expiry."""
        assert self.who is not None  # noqa: S101
        try:
            grant = await tokens.verify(str(frame.header.get("token") or ""), self._lookup)
        except tokens.TokenError as error:
            self.reply(frame, 401, None)
            log.info("token update refused: %s", error.message)
            return
        old = self.who.grant
        same = (grant.identity, grant.service_sid, grant.account_sid)
        if same != (old.identity, old.service_sid, old.account_sid):
            self.push(
                encode(
                    {
                        "method": "reply",
                        "id": frame.id,
                        "status": status(403, description="another identity or service"),
                    }
                )
            )
            return
        self.who = Identity(
            grant, self.who.account, self.who.user, self.who.service, self.who.objects
        )
        self.reply(frame, 200)
        self._schedule_expiry()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` for this connection; cancelled when it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- tunnelled requests
    async def _message(self, frame: Frame) -> None:
        try:
            try:
                request = parse(frame)
            except FrameError:
                answer = Reply(400, {"status": 400, "code": 20001, "message": "Bad request"})
            else:
                answer = await ROUTER.dispatch(self, request)
        except Exception:
            log.exception("tunnelled request failed")
            answer = Reply(500, {"status": 500, "code": 20500, "message": "Internal server error"})
        finally:
            self._slots.release()
        self.reply(
            frame,
            200,
            answer.body,
            http_status=status(answer.status),
            http_headers=answer.headers,
        )

    async def finish(self) -> None:
        """The connection is gone: stop timers, requests and subscriptions."""
        self.hub.drop(self)
        if self._follows is not None:
            self._follows.close()
        for task in [*self._timers, *self._tasks]:
            task.cancel()
        for task in [*self._timers, *self._tasks]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.presence is not None and self.connection_id is not None:
            connection_id, self.connection_id = self.connection_id, None
            try:
                await self.presence.disconnect(connection_id)
            except Exception:  # the lease's reaper ends it later (realtime/presence.py)
                log.exception("could not record the end of a connection")
