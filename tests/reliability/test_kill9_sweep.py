"""kill -9 in the middle of a sweep: a deleted channel's messages are removed all the same.

A channel gets 100,000 messages (written straight into the tables, as `bench/preload.py`
does) and is deleted through the official client; while the server's sweeper removes them, a
batch at a time, the server gets SIGKILL. A new server on the same database finishes the
sweep from the `sweeps` row the delete wrote: no message of the channel is left, and
`/metrics` shows nothing left to sweep. The channel stays deleted throughout.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bench.preload import preload
from tests.conftest import make_client
from tests.reliability.helpers import wait_until
from tests.support.databases import messages_of
from tests.support.errors import rejected
from tests.support.servers import Server, nothing_to_sweep

MESSAGES = 100_000


def test_a_sweep_cut_by_kill9_is_finished_after_the_restart(
    fresh_database: str, tmp_path: Path, servers: list[Server]
) -> None:
    """SIGKILL lands with part of the channel's messages swept; the next server sweeps the
    rest, and the channel is gone for it too."""
    first = Server(fresh_database)
    servers.append(first)
    first.start(tmp_path / "first.log")
    chat = make_client(first).chat.v2
    service = chat.services.create(friendly_name="swept")
    room = chat.services(service.sid).channels.create(friendly_name="doomed")
    asyncio.run(preload(fresh_database, room.sid, MESSAGES, set()))
    assert messages_of(fresh_database, room.sid) == MESSAGES

    assert chat.services(service.sid).channels(room.sid).delete() is True
    wait_until(lambda: messages_of(fresh_database, room.sid) < MESSAGES, 30, step=0.01)
    assert first.stop(signal.SIGKILL) == -signal.SIGKILL
    cut = messages_of(fresh_database, room.sid)
    assert 0 < cut < MESSAGES, f"the kill did not land mid-sweep ({cut} left)"

    second = first.sibling()
    servers.append(second)
    second.start(tmp_path / "second.log")
    rejected(
        lambda: make_client(second).chat.v2.services(service.sid).channels(room.sid).fetch(),
        404,
        20404,
    )
    assert wait_until(lambda: messages_of(fresh_database, room.sid) == 0, 60) is not None
    assert wait_until(lambda: nothing_to_sweep(second), 30) is not None
