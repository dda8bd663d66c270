"""Reachability through the SDK: a user is online while any of their connections is up, in any
server process, and REST `is_online` agrees; a killed process's connections expire with its
lease (realtime/presence.py)."""

from __future__ import annotations

import signal
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from tests.conftest import make_client
from tests.realtime.conftest import (
    Key,
    NodeScript,
    make_key,
    mint,
    reachable_service_with_bob,
    ws_url,
)
from tests.realtime.test_protocol import WAIT, init
from tests.support.servers import Server


def test_online_while_any_tab_is_open(
    server: Server, sdk: Path, api_key: Key, service: Any, chat: Any, unique: Any
) -> None:
    """Two tabs make one `online` update; closing one changes nothing; closing the last makes
    bob offline for alice (userUpdated with `online`) and for REST."""
    svc = chat.services(service.sid)
    svc.update(reachability_enabled=True)
    alice, bob = unique("alice"), unique("bob")
    svc.users.create(identity=bob)  # made by the app's backend before bob ever connects
    script = NodeScript(
        sdk,
        "presence.js",
        ws_url(server),
        mint(api_key, service.sid, alice),
        mint(api_key, service.sid, bob),
        bob,
    )
    try:
        two = script.line()
        assert two == {"step": "two tabs", "online": True, "updates": 1}, two
        assert svc.users(bob).fetch().is_online is True
        one = script.line()
        assert one == {"step": "one tab", "online": True, "updates": 1}, one
        seen = script.line()
    finally:
        code = script.close()
    assert code == 0, seen
    assert seen["reachabilityEnabled"] is True
    assert seen["initial"] == {"online": False, "notifiable": False}
    assert seen["updates"] == [
        {"reasons": ["online"], "online": True, "notifiable": False},
        {"reasons": ["online"], "online": False, "notifiable": False},
    ]
    assert seen["descriptor"] == {"online": False, "notifiable": None}
    user = svc.users(bob).fetch()
    assert (user.is_online, user.is_notifiable) == (False, None)


def test_a_killed_process_lets_its_users_go_offline(
    fresh_database: str, tmp_path: Path, sdk: Path
) -> None:
    """Bob is connected to one server process, alice to another on the same database. After
    bob's process is killed with SIGKILL, its lease runs out and alice's process reaps it: alice
    hears bob go offline and REST says so."""
    lease = ["--reachability-lease", "2"]
    watcher_side = Server(fresh_database, extra_args=lease)
    watcher_side.start(tmp_path / "a.log")
    with ExitStack() as stack:
        stack.callback(watcher_side.stop)
        doomed = watcher_side.sibling(extra_args=lease)
        doomed.start(tmp_path / "b.log")
        stack.callback(doomed.stop)
        key = make_key(watcher_side)
        chat = make_client(watcher_side).chat.v2
        service = reachable_service_with_bob(chat, "presence")
        bob = stack.enter_context(connect(ws_url(doomed), open_timeout=WAIT, close_timeout=WAIT))
        init(bob, mint(key, service.sid, "bob"))
        script = NodeScript(
            sdk, "watch.js", ws_url(watcher_side), mint(key, service.sid, "alice"), "bob"
        )
        stack.callback(script.close)
        stack.callback(script.process.kill)
        assert script.line() == {"online": True, "notifiable": False, "reasons": []}
        assert chat.services(service.sid).users("bob").fetch().is_online is True
        assert doomed.process is not None
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait()
        assert script.line() == {"online": False, "notifiable": False, "reasons": ["online"]}
        assert chat.services(service.sid).users("bob").fetch().is_online is False


def test_a_push_registration_makes_a_user_notifiable(
    server: Server, sdk: Path, api_key: Key, service: Any, unique: Any
) -> None:
    """A binding registered and removed over REST: the SDK hears `notifiable` change both
    ways, and REST agrees."""
    svc = make_client(server).chat.v2.services(service.sid)
    svc.update(reachability_enabled=True)
    bob = unique("bob")
    svc.users.create(identity=bob)

    def register(identity: str) -> requests.Response:
        registered = requests.post(
            f"{server.url}/v2/Services/{service.sid}/Bindings",
            data={"Endpoint": "phone", "Identity": identity, "BindingType": "fcm", "Address": "t"},
            auth=(server.account_sid, server.auth_token),
            timeout=30,
        )
        assert registered.status_code == 201, registered.text
        return registered

    script = NodeScript(sdk, "watch.js", ws_url(server), mint(api_key, service.sid, "alice"), bob)
    try:
        assert script.line() == {"online": False, "notifiable": False, "reasons": []}
        registered = register(bob)
        assert script.line() == {"online": False, "notifiable": True, "reasons": ["notifiable"]}
        assert svc.users(bob).fetch().is_notifiable is True
        svc.bindings(registered.json()["sid"]).delete()
        assert script.line() == {"online": False, "notifiable": False, "reasons": ["notifiable"]}
        assert svc.users(bob).fetch().is_notifiable is False
        register(bob)
        assert script.line() == {"online": False, "notifiable": True, "reasons": ["notifiable"]}
        register(unique("carol"))  # the same device, now another user's: not bob's any more
        assert script.line() == {"online": False, "notifiable": False, "reasons": ["notifiable"]}
        assert svc.users(bob).fetch().is_notifiable is False
    finally:
        script.process.kill()
        script.close()
