"""Who is connected: this process's SDK connections, counted on their users' rows under a lease.

Each connection is a `realtime_connections` row of this process and one step of its user's
`online_connections` counter (domain/reachability.py), moved together in one transaction with
the user-info map's `reachability` item (sync/reachability.py). A user is online while any of
their connections, in any process or server on the database, is up.

The rule for a process that dies without closing them (kill -9, a lost machine): every process
holds a lease, a `realtime_processes` row with an expiry `lease` seconds ahead, renewed every
third of that. Each renewal also reaps the processes whose lease has run out: their connection
rows are deleted and each deletion moves its user's counter down, so a dead process's users go
offline between `lease` and `lease * 4/3` seconds after it died, provided any chinwag process
still runs on the database (one restarted in its place will do). A deleted row moves the
counter once only, so a connection closing while it is reaped, or a stalled process reaped
while alive (it registers its connections again at its next renewal), keeps the count exact.
Peers that vanish without closing their socket are found by the WebSocket pings (uvicorn's
`ws_ping_interval`/`ws_ping_timeout`), which end the connection like a close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from sqlalchemy import and_, select

from chinwag import clock
from chinwag.domain import reachability
from chinwag.runtime import Runtime
from chinwag.sids import new_sid
from chinwag.store.db import Connection
from chinwag.store.errors import DatabaseError
from chinwag.sync.reachability import publish

log = logging.getLogger("chinwag.realtime")

REAP_BATCH = 20  # dead processes cleaned per renewal: bounded work per transaction


@dataclass(frozen=True)
class Link:
    """One SDK connection of this process: its user and service."""

    user_sid: str
    service_sid: str


class Presence:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.db = runtime.db
        self.tables = runtime.tables
        self.lease_ms = int(runtime.settings.reachability_lease * 1000)
        self.process_id = new_sid("PR")
        self.links: dict[str, Link] = {}  # connection id -> link
        self.registered = False  # whether this process's lease row exists
        self._task: asyncio.Task[None] | None = None

    # ---- connections
    async def connect(self, user_sid: str, service_sid: str) -> str:
        """A new SDK connection of the user: counted, and the user is online."""
        connection_id = new_sid("CN")
        link = Link(user_sid, service_sid)
        async with self.db.write() as conn:
            if not self.registered:  # no lease yet (the database refused it at start)
                await self._lease(conn, register=True)
            await self._insert(conn, connection_id, link)
        self.registered = True
        self.links[connection_id] = link
        return connection_id

    async def disconnect(self, connection_id: str) -> None:
        """The connection ended: offline once it was the user's last."""
        link = self.links.pop(connection_id, None)
        if link is None:
            return
        async with self.db.write() as conn:
            await self._remove(conn, connection_id, link)

    async def _insert(self, conn: Connection, connection_id: str, link: Link) -> None:
        c = self.tables.realtime_connections
        await conn.execute(
            c.insert().values(
                connection_id=connection_id,
                process_id=self.process_id,
                user_sid=link.user_sid,
                service_sid=link.service_sid,
            )
        )
        await reachability.connected(conn, self.tables["user"], link.user_sid)
        await publish(conn, self.tables, link.service_sid, link.user_sid)

    async def _remove(self, conn: Connection, connection_id: str, link: Link) -> None:
        c = self.tables.realtime_connections
        gone = await conn.execute(c.delete().where(c.c.connection_id == connection_id))
        if gone.rowcount:  # not already reaped: this deletion moves the counter
            await reachability.disconnected(conn, self.tables["user"], link.user_sid)
            await publish(conn, self.tables, link.service_sid, link.user_sid)

    # ---- the lease
    async def start(self) -> None:
        """Take the lease before the first connection is counted, then keep renewing it."""
        try:
            await self.renew(register=True)
        except (DatabaseError, OSError) as error:  # read-only or unreachable: serve reads anyway
            log.warning("no reachability lease yet (%s); retrying", error)
        self._task = asyncio.get_running_loop().create_task(self._heartbeat())

    async def stop(self) -> None:
        """A clean stop: this process's connections end now, not at its lease's expiry."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with self.db.write() as conn:
                for connection_id, link in list(self.links.items()):
                    await self._remove(conn, connection_id, link)
                p = self.tables.realtime_processes
                await conn.execute(p.delete().where(p.c.process_id == self.process_id))
        self.links.clear()

    async def _heartbeat(self) -> None:
        while True:
            try:
                await self.reap()
            except (DatabaseError, OSError) as error:
                log.warning("reaping stopped server processes failed (%s); retrying", error)
            except Exception:
                log.exception("reaping stopped server processes failed; retrying")
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self.renew()
            except (DatabaseError, OSError) as error:
                log.warning("reachability lease renewal failed (%s); retrying", error)
            except Exception:
                log.exception("reachability lease renewal failed; retrying")

    async def renew(self, register: bool = False) -> None:
        """Push this process's lease ahead; if it was reaped (a stall longer than the lease),
        take a new one and count this process's connections again."""
        async with self.db.write() as conn:
            await self._lease(conn, register)
        self.registered = True

    async def _lease(self, conn: Connection, register: bool) -> None:
        p = self.tables.realtime_processes
        renewed = await conn.execute(
            p.update().where(p.c.process_id == self.process_id).values(expires_at=self._expiry())
        )
        if not renewed.rowcount:
            if not register:
                log.warning("reachability lease had expired; counting connections again")
            await self._register(conn)

    def _expiry(self) -> int:
        return clock.now_ms() + self.lease_ms

    async def _register(self, conn: Connection) -> None:
        """A new lease row, and this process's open connections counted under it."""
        p = self.tables.realtime_processes
        await conn.execute(p.insert().values(process_id=self.process_id, expires_at=self._expiry()))
        for connection_id, link in list(self.links.items()):
            await self._insert(conn, connection_id, link)

    async def reap(self) -> int:
        """End the connections of processes whose lease ran out; how many processes."""
        p, c = self.tables.realtime_processes, self.tables.realtime_connections
        async with self.db.write() as conn:
            expired = select(p.c.process_id).where(p.c.expires_at < clock.now_ms())
            if conn.dialect.name == "postgresql":
                # Locked, so that a late renewal waits for this reap and then finds its lease
                # gone (and counts its connections again) instead of renewing a lease whose
                # connections this reap is removing.
                expired = expired.with_for_update(skip_locked=True)
            dead = (await conn.execute(expired.limit(REAP_BATCH))).all()
            for (process_id,) in dead:
                rows = await conn.execute(
                    select(c.c.connection_id, c.c.user_sid, c.c.service_sid).where(
                        c.c.process_id == process_id
                    )
                )
                for row in rows.all():
                    link = Link(row.user_sid, row.service_sid)
                    await self._remove(conn, row.connection_id, link)
                await conn.execute(
                    p.delete().where(
                        and_(p.c.process_id == process_id, p.c.expires_at < clock.now_ms())
                    )
                )
        if dead:
            log.info("reaped the SDK connections of %d stopped server process(es)", len(dead))
        return len(dead)
