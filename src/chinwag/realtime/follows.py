"""Which channel each of a connection's subscriptions belongs to, and ending them when the user
may no longer see that channel.

A user removed from a private channel (or an invitee who declined) must stop hearing it. The
SDK cancels its own subscriptions when its channel list says the channel is gone, but a client
that does not would go on receiving the channel's messages. So each connection that follows a
channel's objects also watches its user's my-channels map in the hub (whether or not the client
subscribed to it): when the map loses a channel, the connection holds back that channel's
events, asks the database whether the user still sees the channel (a public one: yes), and then
either sends what it held, in order, or drops it and ends the channel's subscriptions.

The hold starts when the map's `item_removed` reaches the watcher; an event of the channel that
the hub delivers before it (a different object, read by a different task) still goes out, so
the window is the few milliseconds between the removal's commit and its delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

import orjson

from chinwag.sync.live import Hub, Subscriber

log = logging.getLogger("chinwag.realtime")

Sees = Callable[[str], Awaitable[bool]]  # whether the user still sees a channel (by SID)
Spawn = Callable[[Coroutine[Any, Any, None]], None]  # runs work for the connection


class Connection(Subscriber, Protocol):
    def push(self, frame: bytes) -> None:
        """Queue a frame for the client."""


class ChannelFollows:
    """Also the hub's subscriber of the user's my-channels map (`deliver`, `typing`)."""

    def __init__(
        self,
        hub: Hub,
        connection: Connection,
        my_channels: tuple[str, int],  # the map's SID, and an event id to watch it from
        sees: Sees,
        spawn: Spawn,
        end: Callable[[], None],  # ends the connection: it reconnects and is checked again
    ) -> None:
        self.hub = hub
        self.connection = connection
        self.my_channels, self._since = my_channels
        self._sees = sees
        self._spawn = spawn
        self._end = end
        self._objects: dict[str, set[str]] = {}  # channel SID -> subscribed object SIDs
        self._channel_of: dict[str, str] = {}  # object SID -> channel SID
        self._held: dict[str, list[bytes]] = {}  # channel SID -> frames waiting for the check
        self._watching = False

    async def follow(self, channel_sid: str, object_sid: str) -> None:
        self._objects.setdefault(channel_sid, set()).add(object_sid)
        self._channel_of[object_sid] = channel_sid
        if not self._watching:
            self._watching = True
            await self.hub.subscribe(self, self.my_channels, self._since)

    def unfollow(self, object_sid: str) -> None:
        channel_sid = self._channel_of.pop(object_sid, None)
        if channel_sid is not None:
            objects = self._objects.get(channel_sid, set())
            objects.discard(object_sid)
            if not objects:
                self._objects.pop(channel_sid, None)

    def send(self, object_sid: str, frame: bytes) -> None:
        """Send the connection's `frame` (an event of `object_sid`) now, or hold it for a check."""
        held = self._held.get(self._channel_of.get(object_sid, ""))
        if held is None:
            self.connection.push(frame)
        else:
            held.append(frame)

    def close(self) -> None:
        self.hub.drop(self)

    # ---- the hub's subscriber of the my-channels map
    def deliver(self, object_sid: str, event_id: int, body: bytes) -> None:
        event = orjson.loads(body)
        if event.get("event_type") != "map_item_removed":
            return
        channel_sid = event.get("event", {}).get("item_key")
        if channel_sid not in self._objects or channel_sid in self._held:
            return
        self._held[channel_sid] = []
        self._spawn(self._check(channel_sid))

    def typing(self, payload: dict[str, Any]) -> None:
        """Not a roster: no typing reaches a map of channels."""

    async def _check(self, channel_sid: str) -> None:
        try:
            still = await self._sees(channel_sid)
        except Exception:
            # Unknown: neither send nor silently drop; the client reconnects and re-subscribes,
            # and each subscription is checked then.
            log.exception("could not check a user's access to channel %s", channel_sid)
            self._end()
            return
        held = self._held.pop(channel_sid, [])
        if still:
            for frame in held:
                self.connection.push(frame)
            return
        for object_sid in self._objects.pop(channel_sid, set()):
            self._channel_of.pop(object_sid, None)
            self.hub.unsubscribe(self.connection, object_sid)
