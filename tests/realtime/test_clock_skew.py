"""Servers on machines whose clocks disagree, on one PostgreSQL database (SQLite's processes share
one machine and its clock): each keeps the database's time (chinwag/clock.py). A server whose
clock runs two minutes ahead (Debian's libfaketime) neither ends another server's live
connections by reaping its reachability lease nor dates what it writes in the future."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.conftest import make_client
from tests.realtime.conftest import make_key, mint, reachable_service_with_bob, ws_url
from tests.realtime.test_protocol import WAIT, init
from tests.support.databases import fresh
from tests.support.servers import Server

SKEW = 120  # seconds ahead: far past the lease below
# Seconds; a heartbeat renews it, and reaps others' expired ones, every third. Long enough that
# a loaded machine never stalls `honest` past its own lease.
LEASE = 6.0


def clock_ahead(seconds: int) -> dict[str, str]:
    """The environment that runs a process with its clock `seconds` ahead."""
    libraries = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    assert libraries, "libfaketime is missing: `make test` installs Debian's faketime package"
    return {"LD_PRELOAD": str(libraries[0]), "FAKETIME": f"+{seconds}s"}


@pytest.fixture
def pg_database(tmp_path: Path) -> Iterator[str]:
    with fresh("postgresql", tmp_path) as url:
        yield url


def test_a_server_whose_clock_is_ahead_keeps_the_database_time(
    pg_database: str, tmp_path: Path
) -> None:
    """Bob is connected to a server with a true clock. Another server, its clock two minutes
    ahead, renews its own lease and reaps expired ones several times: bob stays online all
    along, and a message written through it is dated now."""
    lease = ["--reachability-lease", str(LEASE)]
    honest = Server(pg_database, extra_args=lease)
    honest.start(tmp_path / "honest.log")
    with ExitStack() as stack:
        stack.callback(honest.stop)
        ahead = honest.sibling(extra_args=lease, extra_env=clock_ahead(SKEW))
        ahead.start(tmp_path / "ahead.log")
        stack.callback(ahead.stop)
        told = re.search(r"clock is ([0-9.]+) s ahead of", (tmp_path / "ahead.log").read_text())
        assert told is not None, "libfaketime did not take, or the server did not notice"
        assert abs(float(told.group(1)) - SKEW) < 5

        key = make_key(honest)
        chat = make_client(ahead).chat.v2
        service = reachable_service_with_bob(chat, "skew")
        bob = stack.enter_context(connect(ws_url(honest), open_timeout=WAIT, close_timeout=WAIT))
        init(bob, mint(key, service.sid, "bob"))
        assert chat.services(service.sid).users("bob").fetch().is_online is True

        # About five heartbeats of `ahead`, each reaping expired leases; a reaped lease would
        # show bob offline until `honest` renews its own and counts him again.
        seen = set()
        deadline = time.monotonic() + LEASE * 1.5
        while time.monotonic() < deadline:
            seen.add(chat.services(service.sid).users("bob").fetch().is_online)
            time.sleep(0.05)
        assert seen == {True}
        assert "reaped" not in (tmp_path / "ahead.log").read_text()
        assert "lease had expired" not in (tmp_path / "honest.log").read_text()

        channel = chat.services(service.sid).channels.create(friendly_name="now")
        message = chat.services(service.sid).channels(channel.sid).messages.create(body="hi")
        assert abs((message.date_created - datetime.now(UTC)).total_seconds()) < 10
