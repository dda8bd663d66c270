"""Reachability: `is_online` and `is_notifiable` as Twilio's User page defines them.

"This value is only returned by Fetch actions that return a single resource and `null` is always
returned by a Read action. This value is `null` if the Service's `reachability_enabled` is
`false`, if the User has never been online [never had a notification registration] ..."

Here connections are made through the counter functions the real-time front door calls
(`chinwag.domain.reachability`), on the server's own database (tests/realtime/
test_sdk_reachability.py connects real SDK clients); push registrations through the bindings
endpoint. Every value is read through the official client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from chinwag.domain import reachability
from chinwag.resources import TABLES
from chinwag.store.db import Database
from tests.api.v2.test_bindings import Devices
from tests.support.servers import Server


def on_database(url: str, action: Callable[[AsyncConnection, Table], Awaitable[None]]) -> None:
    """Run `action` in one write transaction on the server's database, as the server would."""

    async def run() -> None:
        db = Database(url)
        try:
            async with db.write() as conn:
                await action(conn, TABLES["user"])
        finally:
            await db.close()

    asyncio.run(run())


@pytest.fixture
def devices(server: Server, auth: tuple[str, str], service2: Any) -> Devices:
    return Devices(server, auth, service2.sid)


@pytest.fixture
def reachable(svc2: Any) -> Any:
    """The v2 service with reachability enabled."""
    svc2.update(reachability_enabled=True)
    return svc2


def connect(url: str, user_sid: str) -> None:
    on_database(url, lambda conn, users: reachability.connected(conn, users, user_sid))


def disconnect(url: str, user_sid: str) -> None:
    on_database(url, lambda conn, users: reachability.disconnected(conn, users, user_sid))


class TestIsOnline:
    def test_null_until_first_online(self, reachable: Any, unique: Any) -> None:
        """Reachability on, never connected: null (the page is explicit), on fetch and in lists."""
        user = reachable.users.create(identity=unique("never"))
        assert user.is_online is None
        assert reachable.users(user.sid).fetch().is_online is None
        assert [u.is_online for u in reachable.users.list()] == [None]

    def test_online_then_offline(
        self, reachable: Any, database_url: str, chat: Any, service2: Any, unique: Any
    ) -> None:
        """A connection makes the user online; once it closes the user is offline, not null."""
        user = reachable.users.create(identity=unique("alice"))
        connect(database_url, user.sid)
        assert reachable.users(user.sid).fetch().is_online is True
        assert chat.services(service2.sid).users(user.sid).fetch().is_online is True  # v1 too
        (listed,) = reachable.users.list()
        assert listed.is_online is None  # "null is always returned by a Read action"
        disconnect(database_url, user.sid)
        assert reachable.users(user.sid).fetch().is_online is False

    def test_two_connections(self, reachable: Any, database_url: str, unique: Any) -> None:
        """Online while any of the user's connections is open; a stray disconnect stays at 0."""
        user = reachable.users.create(identity=unique("tabs"))
        connect(database_url, user.sid)
        connect(database_url, user.sid)
        disconnect(database_url, user.sid)
        assert reachable.users(user.sid).fetch().is_online is True
        disconnect(database_url, user.sid)
        disconnect(database_url, user.sid)
        assert reachable.users(user.sid).fetch().is_online is False
        connect(database_url, user.sid)
        assert reachable.users(user.sid).fetch().is_online is True

    def test_null_while_reachability_disabled(
        self, svc2: Any, database_url: str, unique: Any
    ) -> None:
        """A connected user of a service without reachability reports null."""
        user = svc2.users.create(identity=unique("quiet"))
        connect(database_url, user.sid)
        assert svc2.users(user.sid).fetch().is_online is None
        svc2.update(reachability_enabled=True)
        assert svc2.users(user.sid).fetch().is_online is True


class TestIsNotifiable:
    def test_null_until_first_registration(self, reachable: Any, unique: Any) -> None:
        user = reachable.users.create(identity=unique("nodevice"))
        assert reachable.users(user.sid).fetch().is_notifiable is None

    def test_true_with_a_binding_false_after(
        self, reachable: Any, devices: Devices, unique: Any
    ) -> None:
        """A binding makes the user notifiable; deleting the last one makes it false."""
        identity = unique("bob")
        user = reachable.users.create(identity=identity)
        first = devices.register(unique("phone"), identity, "apn")
        second = devices.register(unique("tablet"), identity, "fcm")
        fetched = reachable.users(user.sid).fetch()
        assert fetched.is_notifiable is True
        assert [u.is_notifiable for u in reachable.users.list()] == [None]  # read: null
        reachable.users(user.sid).user_bindings(first["sid"]).delete()
        assert reachable.users(user.sid).fetch().is_notifiable is True
        reachable.bindings(second["sid"]).delete()
        assert reachable.users(user.sid).fetch().is_notifiable is False

    def test_registration_creates_the_user(
        self, reachable: Any, devices: Devices, unique: Any
    ) -> None:
        """Registering an unknown identity creates a user who is notifiable."""
        identity = unique("fresh")
        devices.register(unique("phone"), identity)
        assert reachable.users(identity).fetch().is_notifiable is True

    def test_re_registering_moves_the_device(
        self, reachable: Any, devices: Devices, unique: Any
    ) -> None:
        """The same endpoint registered again replaces the binding, also for another user."""
        alice, carol = unique("alice"), unique("carol")
        for identity in (alice, carol):
            reachable.users.create(identity=identity)
        endpoint = unique("shared-phone")
        devices.register(endpoint, alice)
        devices.register(endpoint, alice)  # a restart re-registers: still one registration
        assert reachable.users(alice).fetch().is_notifiable is True
        moved = devices.register(endpoint, carol)
        assert reachable.users(alice).fetch().is_notifiable is False
        assert reachable.users(carol).fetch().is_notifiable is True
        reachable.bindings(moved["sid"]).delete()
        assert reachable.users(carol).fetch().is_notifiable is False

    def test_null_while_reachability_disabled(
        self, svc2: Any, devices: Devices, unique: Any
    ) -> None:
        identity = unique("dave")
        devices.register(unique("phone"), identity)
        assert svc2.users(identity).fetch().is_notifiable is None
