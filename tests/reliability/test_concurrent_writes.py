"""Clients racing on the same few rows: never a 5xx, never a traceback, counters that agree.

Eight official clients, each its own thread, create, rename, join, leave, post, edit and delete
in two channels (addressed by SID and by unique name, which PostgreSQL writes on different
writers) and for four identities (whose deletes remove memberships from the service's writer),
all at once. Each request may lose its race (404, 409, 403 at a limit), never with a 5xx; the
server logs no traceback; and afterwards every channel's and user's counts match the rows the
API lists. Races found this way answered 500 (a row gone between read and write) and 503 (a
user's delete that gave way three times): `test_row_gone`, `test_pg_writer` pin them down.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.conftest import make_client
from tests.support import contract
from tests.support.servers import Server

CLIENTS = 8
REQUESTS = 120  # per client
NAMES = ["lobby", "garden"]
IDENTITIES = ["ann", "bob", "cid", "dee"]


def one_request(svc: Any, sids: dict[str, str], r: random.Random) -> None:
    """A random write (or read) on the shared rows; the channel by SID or by unique name."""
    name, who = r.choice(NAMES), r.choice(IDENTITIES)
    ch = svc.channels(r.choice([name, sids.get(name, name)]))
    choices: list[Callable[[], Any]] = [
        lambda: sids.__setitem__(name, svc.channels.create(unique_name=name).sid),
        lambda: ch.delete(),
        lambda: ch.update(friendly_name=f"renamed {r.random()}"),
        lambda: ch.members.create(identity=who),
        lambda: ch.members(who).delete(),
        lambda: ch.members(who).update(last_consumed_message_index=r.randrange(5)),
        lambda: ch.messages.create(body="hi", from_=who),
        lambda: ch.messages.create(body="hi", from_=who),
        lambda: [m.delete() for m in ch.messages.list(limit=1)],
        lambda: [m.update(body="edited") for m in ch.messages.list(limit=1)],
        lambda: ch.invites.create(identity=who),
        lambda: svc.users.create(identity=who),
        lambda: svc.users(who).delete(),
        lambda: svc.users(who).update(friendly_name=f"{who} {r.random()}"),
        lambda: svc.users(who).user_channels(name).update(notification_level="muted"),
        lambda: svc.users(who).user_channels(name).delete(),
    ]
    r.choice(choices)()


def race(server: Server, service_sid: str, seed: int, failures: list[str]) -> None:
    svc = make_client(server).chat.v2.services(service_sid)
    r, sids = random.Random(seed), {}
    for _ in range(REQUESTS):
        try:
            one_request(svc, sids, r)
        except TwilioRestException as exc:
            if exc.status >= 500:
                failures.append(f"{exc.method} {exc.uri}: {exc.status} {exc.msg}")
        except TwilioException as exc:  # a list's page: ("Unable to fetch page", response)
            response = exc.args[1] if len(exc.args) > 1 else None
            if getattr(response, "status_code", 500) >= 500:
                failures.append(repr(exc))


def test_racing_clients_get_no_5xx_and_leave_consistent_counts(
    fresh_database: str, servers: list[Server], tmp_path: Path
) -> None:
    contract.require_spec()
    server = Server(fresh_database)
    servers.append(server)
    server.start(tmp_path / "server.log")
    client = make_client(server)
    service = client.chat.v2.services.create(friendly_name="race")
    failures: list[str] = []
    threads = [
        threading.Thread(target=race, args=(server, service.sid, seed, failures))
        for seed in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:10]
    assert server.log_path is not None
    assert "Traceback" not in server.log_path.read_text(errors="replace")

    svc = client.chat.v2.services(service.sid)
    for channel in svc.channels.list():
        members = svc.channels(channel.sid).members.list()
        messages = svc.channels(channel.sid).messages.list()
        assert channel.members_count == len(members), channel.unique_name
        assert channel.messages_count == len(messages), channel.unique_name
        indexes = [m.index for m in messages]
        assert len(set(indexes)) == len(indexes)
    for user in svc.users.list():
        joined = [c for c in svc.users(user.sid).user_channels.list() if c.status == "joined"]
        assert user.joined_channels_count == len(joined), user.identity
