"""The sender process: each server's deliveries are sent from a child process of its own, started
with its first delivery, replaced when it ends, and ending with the server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from chinwag.events.sender import NICER
from tests.conftest import make_client
from tests.events.conftest import (
    Chinwag,
    Cluster,
    Hooks,
    Reply,
    channel_with,
    wait_for,
)
from tests.support.servers import Server

SENDER = "chinwag.events.sender"


def senders_of(pid: int) -> list[int]:
    """The live sender processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        # stat: "pid (name) state ppid ...": the name may hold spaces, so split after it.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z" and SENDER.encode() in command:
            found.append(int(entry.name))
    return found


def the_sender(chinwag: Chinwag) -> int:
    pid = chinwag.server.pid
    return wait_for(lambda: (senders_of(pid) or [0])[0], what="the server's sender process")


def one_delivery(chinwag: Chinwag, hooks: Hooks, name: str) -> None:
    """A message whose post-event reaches `hooks` at `name`: the server has a sender then."""
    svc = chinwag.new_service(post_webhook_url=hooks.url(name), webhook_filters=["onMessageSent"])
    room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
    room.messages.create(body="hello", from_="alice")
    hooks.wait(name, 1)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_sender_is_replaced_and_what_it_held_is_sent(
    cluster: Cluster, hooks: Hooks
) -> None:
    """kill -9 of the sender mid-batch: the server starts another, and every event still
    arrives, first deliveries in index order (at least once: the one in flight may repeat)."""
    chinwag = cluster.start("--rest-webhooks", "post", "--webhook-backoff", "0.05")
    svc = chinwag.new_service(post_webhook_url=hooks.url("held"), webhook_filters=["onMessageSent"])
    room = chinwag.chat.services(svc.sid).channels(channel_with(chinwag, svc.sid).sid)
    hooks.reply("held", then=Reply(200, delay=0.3))  # slow: the batch is still being sent
    assert senders_of(chinwag.server.pid) == [], "a sender before anything was to be sent"
    for n in range(6):
        room.messages.create(body=f"h{n}", from_="alice")
    hooks.wait("held", 1)
    first = the_sender(chinwag)
    os.kill(first, signal.SIGKILL)

    hooks.reply("held", then=Reply(200))
    got = wait_for(
        lambda: {h.params["Body"] for h in hooks.hits("held")} >= {f"h{n}" for n in range(6)},
        timeout=30,
        what="all six events after the sender was killed",
    )
    assert got
    firsts: list[str] = []
    for hit in hooks.hits("held"):
        if hit.params["Body"] not in firsts:
            firsts.append(hit.params["Body"])
    assert firsts == [f"h{n}" for n in range(6)]
    second = the_sender(chinwag)
    assert second != first
    assert "delivery sender exited" in chinwag.log()
    wait_for(
        lambda: all(r.status == "delivered" for r in chinwag.outbox(service=svc.sid)),
        what="every delivery recorded as delivered",
    )


def test_the_sender_ends_with_its_server(cluster: Cluster, hooks: Hooks) -> None:
    """A server killed with -9 leaves no sender behind: its stdin closes and it exits."""
    chinwag = cluster.start("--rest-webhooks", "post")
    one_delivery(chinwag, hooks, "orphan")
    sender = the_sender(chinwag)
    assert chinwag.server.stop(signal.SIGKILL) == -signal.SIGKILL
    wait_for(lambda: not alive(sender), timeout=15, what="the orphaned sender to exit")


def test_the_sender_yields_the_cpu_to_its_server(cluster: Cluster, hooks: Hooks) -> None:
    """The sender runs NICER steps below its server's priority: requests win a contended core."""
    chinwag = cluster.start("--rest-webhooks", "post")
    one_delivery(chinwag, hooks, "nice")
    sender = the_sender(chinwag)
    server_nice = os.getpriority(os.PRIO_PROCESS, chinwag.server.pid)
    assert os.getpriority(os.PRIO_PROCESS, sender) == min(server_nice + NICER, 19)


def test_ctrl_c_stops_the_server_and_its_sender_cleanly(
    cluster: Cluster, hooks: Hooks, tmp_path: Path
) -> None:
    """Ctrl-C at `make serve` reaches the whole process group: the sender ignores it, and ends
    once the server, stopping cleanly, closes its stdin."""
    server = Server(cluster.database())
    log_path = tmp_path / "ctrl-c.log"
    command = [sys.executable, "-m", "chinwag", "serve", "--port", str(server.port)]
    command += ["--database", server.database, "--rest-webhooks", "post"]
    with open(log_path, "ab") as log:
        server.process = subprocess.Popen(
            command, env=server.env(), stdout=log, stderr=log, start_new_session=True
        )
    server.log_path = log_path
    try:
        server.wait_ready()
        chinwag = Chinwag(server, make_client(server))
        one_delivery(chinwag, hooks, "ctrl-c")
        pid = server.process.pid
        sender = the_sender(chinwag)
        os.killpg(pid, signal.SIGINT)
        assert server.process.wait(timeout=30) == 0
        wait_for(lambda: not alive(sender), timeout=15, what="the sender to exit")
        assert "stopped cleanly" in log_path.read_text()
    finally:
        server.stop(signal.SIGKILL)
