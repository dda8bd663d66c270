"""Live delivery: this process's subscriptions, woken when any process commits events.

Events are rows (engine.py), so a wake-up only says "object X has news": the hub then reads
X's events above the lowest position of its local subscribers and hands each subscriber those
above its own. A lost wake-up therefore delays nothing for long and loses nothing.

Wake-ups: on PostgreSQL the writer's `pg_notify` (sent at commit, to every server on the
database) reaches a LISTEN connection here. On SQLite a commit hook wakes this process at once,
and a poll of the log's high-water mark (`max(pk)`, every POLL seconds) finds what the other
`--workers` wrote; SQLite commits one writer at a time, so `pk` order is commit order.

Typing indicators are not changes and are never logged: NOTIFY on PostgreSQL; on SQLite a row
in `realtime_signals` that the same poll reads (the other workers' rows only: this process
has already delivered its own), deleted SIGNAL_TTL seconds later by the next writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Any, Protocol

import orjson
from sqlalchemy import and_, func, select

from chinwag import clock
from chinwag.store.db import Database
from chinwag.store.tables import Tables
from chinwag.sync.engine import CHANNEL, LOCAL_LISTENERS
from chinwag.sync.queries import events_after

log = logging.getLogger("chinwag.sync")

POLL = 0.1  # seconds between high-water checks on SQLite
BATCH = 200  # events read per query while catching up
KEEPALIVE = 10.0  # seconds between checks that the LISTEN connection is alive
TYPING = "chinwag_typing"  # PostgreSQL NOTIFY channel of typing indicators (not logged)
SIGNAL_TTL = 10.0  # seconds a SQLite typing signal row lives (polls read it within POLL)


class Subscriber(Protocol):
    def deliver(self, object_sid: str, event_id: int, body: bytes) -> None:
        """Queue one `twilio.sync.event` payload; never blocks (a full queue closes)."""

    def typing(self, payload: dict[str, Any]) -> None:
        """Queue a typing indicator of a channel whose roster this subscriber follows."""


def notification_body(event_type: str, event_id: int, payload: str) -> bytes:
    event = orjson.loads(payload)
    event["id"] = event_id
    return orjson.dumps({"event_type": event_type, "event": event})


class Hub:
    """Who in this process is subscribed to which object, and at which event id."""

    def __init__(self, db: Database, tables: Tables) -> None:
        self.db = db
        self.tables = tables
        self.positions: dict[str, dict[Subscriber, int]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._high_water = 0
        self._signal_water = 0
        self.origin = secrets.token_hex(8)  # tells this process's typing signals from others'

    # ---- subscriptions
    async def subscribe(self, sub: Subscriber, sid: str, last_event_id: int) -> None:
        """Follow `sid` from just after `last_event_id`; replays what was logged since."""
        self.positions.setdefault(sid, {})[sub] = max(0, last_event_id)
        await self.catch_up(sid)

    def unsubscribe(self, sub: Subscriber, sid: str) -> None:
        subs = self.positions.get(sid)
        if subs is not None:
            subs.pop(sub, None)
            if not subs:
                del self.positions[sid]

    def drop(self, sub: Subscriber) -> None:
        for sid in [s for s, subs in self.positions.items() if sub in subs]:
            self.unsubscribe(sub, sid)

    def position(self, sub: Subscriber, sid: str) -> int:
        return self.positions.get(sid, {}).get(sub, 0)

    # ---- wake-ups
    def kick(self, sids: set[str] | list[str]) -> None:
        """Objects with news: catch their local subscribers up (one reader per object)."""
        for sid in sids:
            if sid not in self.positions:
                continue
            if sid in self._running:
                self._again.add(sid)
                continue
            self._running[sid] = asyncio.get_running_loop().create_task(self._run(sid))

    async def _run(self, sid: str) -> None:
        try:
            while True:
                self._again.discard(sid)
                await self._deliver(sid)
                if sid not in self._again:
                    return
        except Exception:
            log.exception("sync delivery of %s failed", sid)
        finally:
            self._running.pop(sid, None)

    async def catch_up(self, sid: str) -> None:
        """Deliver everything logged for `sid` that a local subscriber has not had."""
        running = self._running.get(sid)
        if running is not None:
            self._again.add(sid)
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(running)
            return
        task = asyncio.get_running_loop().create_task(self._run(sid))
        self._running[sid] = task
        await asyncio.shield(task)

    async def _deliver(self, sid: str) -> None:
        while self.positions.get(sid):
            after = min(self.positions[sid].values())
            async with self.db.read() as conn:
                batch = await events_after(conn, self.tables, sid, after, BATCH)
            for ev in batch:
                body = notification_body(ev.event_type, ev.event_id, ev.payload)
                for sub, at in list(self.positions.get(sid, {}).items()):
                    # Only those this read covers: one that subscribed below `after` while it
                    # ran would skip the events in between; the next round reads for it.
                    if after <= at < ev.event_id:
                        self.positions[sid][sub] = ev.event_id
                        sub.deliver(sid, ev.event_id, body)
            if len(batch) < BATCH:
                return
            if self.positions.get(sid) and min(self.positions[sid].values()) <= after:
                return  # only subscribers ahead of the log remain: nothing more to read

    # ---- typing: not a change, so not logged; only connected members hear it
    async def typing(self, roster_sid: str, payload: dict[str, Any]) -> None:
        """Tell the followers of a channel's roster, in every process, that someone types.

        On PostgreSQL through NOTIFY (every server); on SQLite to this process's connections
        at once and to the other workers' through a short-lived signal row."""
        if self.db.dialect == "postgresql":
            message = orjson.dumps({"roster": roster_sid, "payload": payload}).decode()
            async with self.db.read() as conn:
                await conn.execute(select(func.pg_notify(TYPING, message)))
            return
        self._typing_here(roster_sid, payload)
        signals = self.tables.realtime_signals
        now = clock.now_ms()
        body = orjson.dumps({"origin": self.origin, "payload": payload}).decode()
        async with self.db.write() as conn:
            await conn.execute(signals.delete().where(signals.c.at < now - SIGNAL_TTL * 1000))
            await conn.execute(signals.insert().values(topic=roster_sid, payload=body, at=now))

    def _typing_here(self, roster_sid: str, payload: dict[str, Any]) -> None:
        for sub in list(self.positions.get(roster_sid, {})):
            sub.typing(payload)

    def _typing_heard(self, text: str) -> None:
        try:
            message = orjson.loads(text)
            self._typing_here(str(message["roster"]), dict(message["payload"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed typing notification")

    # ---- process lifetime
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.db.dialect == "postgresql":
            self._tasks.append(loop.create_task(self._listen()))
        else:
            LOCAL_LISTENERS.append(self.kick)  # woken by this process's commits at once
            self._tasks.append(loop.create_task(self._poll()))

    async def stop(self) -> None:
        if self.kick in LOCAL_LISTENERS:
            LOCAL_LISTENERS.remove(self.kick)
        for task in [*self._tasks, *self._running.values()]:
            task.cancel()
        for task in [*self._tasks, *self._running.values()]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _poll(self) -> None:
        e, signals = self.tables.sync_events, self.tables.realtime_signals
        tops = select(
            select(func.max(e.c.pk)).scalar_subquery(),
            select(func.max(signals.c.pk)).scalar_subquery(),
        )
        async with self.db.read() as conn:
            first = (await conn.execute(tops)).one()
        self._high_water, self._signal_water = int(first[0] or 0), int(first[1] or 0)
        while True:
            await asyncio.sleep(POLL)
            try:
                async with self.db.read() as conn:
                    top, signal_top = (await conn.execute(tops)).one()
                    top, signal_top = int(top or 0), int(signal_top or 0)
                    changed: set[str] = set()
                    if top > self._high_water and self.positions:
                        window = and_(e.c.pk > self._high_water, e.c.pk <= top)
                        rows = await conn.execute(select(e.c.object_sid).where(window).distinct())
                        changed = {r.object_sid for r in rows}
                    heard = []
                    if signal_top > self._signal_water and self.positions:
                        window = and_(signals.c.pk > self._signal_water, signals.c.pk <= signal_top)
                        query = select(signals.c.topic, signals.c.payload).where(window)
                        heard = (await conn.execute(query.order_by(signals.c.pk))).all()
                self._high_water, self._signal_water = top, signal_top
                self.kick(changed)
                for row in heard:
                    self._signal_heard(str(row.topic), str(row.payload))
            except Exception:
                log.exception("sync poll failed; retrying")

    def _signal_heard(self, topic: str, text: str) -> None:
        """Another SQLite worker's typing indicator (our own were delivered when sent)."""
        try:
            signal = orjson.loads(text)
            if signal["origin"] != self.origin:
                self._typing_here(topic, dict(signal["payload"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed typing signal")

    async def _listen(self) -> None:
        import asyncpg  # type: ignore[import-untyped]

        dsn = self.db.url.replace("postgresql+asyncpg://", "postgresql://")
        delay = 0.5
        while True:
            try:
                conn = await asyncpg.connect(dsn, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            try:
                await conn.add_listener(CHANNEL, lambda _c, _pid, _ch, sid: self.kick({sid}))
                await conn.add_listener(
                    TYPING, lambda _c, _pid, _ch, text: self._typing_heard(text)
                )
                self.kick(list(self.positions))  # what was sent while we were not listening
                while True:
                    await asyncio.sleep(KEEPALIVE)
                    await conn.fetchval("SELECT 1", timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                log.warning("sync LISTEN connection lost; reconnecting")
            finally:
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
