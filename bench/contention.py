"""`python -m bench.contention`: users deleted while their memberships are updated and removed,
on chinwag at a commit and on the working tree, in interleaved rounds.

A user's delete runs on its service's writer, a channel's writes on its channel's (by SID, or
by unique name: another), so on PostgreSQL they run at the same moment and take the same rows'
locks (the channel's, the user's, the member's, the channel's roster in Sync). Each round makes
`--users` users, each group of eight a member of `--channels` channels of its own, then for
one group at a time sends, all at once in a shuffled order on separate connections, each
user's delete and, for each of its memberships, an update (by the channel's unique name) and
a removal (by its SID). Figures per target: the time the round took, each group's time (p50,
p99, max), the answers by status (200 or 204, or 404 for one that found the member gone with
its user; anything else is a fault), the write transactions run again (`/metrics`, by
reason: `gave_way` to another writer's locks, `row_gone`), and on PostgreSQL the deadlocks the
database broke meanwhile (`pg_stat_database`). JSON on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import servers
from bench.client import Connection, basic_auth, form
from bench.load import percentile

GROUP = 8  # users whose deletes and removals race at once


async def _post(conn: Connection, path: str, params: list[tuple[str, str]]) -> Any:
    answer = await conn.request("POST", path, form(params))
    if answer.status not in (200, 201):
        raise RuntimeError(f"POST {path}: {answer.status} {answer.body[:200]!r}")
    return answer.json()


Request = tuple[str, str, bytes | None]  # method, path, form body


async def _setup(port: int, auth: str, channels: int, users: int) -> list[list[Request]]:
    """A service and `users` users, each group of GROUP in all of `channels` channels of
    their own (a channel's member limit is 100): for each user, its delete, and for each of
    its memberships an update (by the channel's unique name: another writer than by SID) and
    its removal."""
    conn = Connection(port, auth)
    try:
        service = (await _post(conn, "/v2/Services", [("FriendlyName", "contention")]))["sid"]
        base = f"/v2/Services/{service}"
        requests = []
        for n in range(users):
            if n % GROUP == 0:
                names = [f"group-{n}-{c}" for c in range(channels)]
                sids = [
                    (await _post(conn, f"{base}/Channels", [("UniqueName", name)]))["sid"]
                    for name in names
                ]
            user = (await _post(conn, f"{base}/Users", [("Identity", f"user-{n}")]))["sid"]
            mine: list[Request] = [("DELETE", f"{base}/Users/{user}", None)]
            for sid, name in zip(sids, names, strict=True):
                joined = f"{base}/Channels/{sid}/Members"
                member = (await _post(conn, joined, [("Identity", f"user-{n}")]))["sid"]
                update = form([("Attributes", '{"seen": true}')])
                mine.append(("POST", f"{base}/Channels/{name}/Members/{member}", update))
                mine.append(("DELETE", f"{joined}/{member}", None))
            requests.append(mine)
        return requests
    finally:
        conn.close()


async def _race(port: int, auth: str, requests: list[list[Request]]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    groups: list[float] = []
    order = random.Random(0)
    began = time.monotonic()
    for first in range(0, len(requests), GROUP):
        group = [request for user in requests[first : first + GROUP] for request in user]
        order.shuffle(group)  # a user's delete now before, now after its members' changes
        conns = [Connection(port, auth) for _ in group]  # new ones: a slow group's idle
        try:  # keep-alive connections may have been closed meanwhile
            await asyncio.gather(*(conn.open() for conn in conns))
            started = time.monotonic()
            answers = await asyncio.gather(
                *(conn.request(*request) for conn, request in zip(conns, group, strict=True))
            )
            groups.append((time.monotonic() - started) * 1000)
            statuses.update(answer.status for answer in answers)
        finally:
            for conn in conns:
                conn.close()
    groups.sort()
    return {
        "seconds": round(time.monotonic() - began, 2),
        "group_ms": {
            "p50": round(percentile(groups, 50), 1),
            "p99": round(percentile(groups, 99), 1),
            "max": round(max(groups), 1),
        },
        "statuses": dict(sorted(statuses.items())),
    }


def _deadlocks(url: str) -> int:
    if not url.startswith("postgresql"):
        return 0
    query = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    return int(servers._pg(url, query))


async def _retries(port: int) -> Counter[str]:
    """`/metrics`' write transactions run again so far, by reason (none from a server that
    does not count them)."""
    conn = Connection(port, None)
    try:
        text = (await conn.request("GET", "/metrics")).body.decode()
    finally:
        conn.close()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("chinwag_write_retries_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split('reason="', 1)[1].split('"', 1)[0]] += int(float(value))
    return counts


def run(
    kind: str, ref: str, rounds: int, users: int, channels: int, workdir: Path, admin: str
) -> dict[str, Any]:
    old_src = servers.export_ref(ref, workdir / "ref")
    targets: list[tuple[str, servers.Chinwag, str]] = []
    with contextlib.ExitStack() as stack:
        for tag, src in ((f"ref {ref}", old_src), ("working tree", None)):
            name = tag.split()[0]
            url = stack.enter_context(servers.fresh_database(kind, workdir, name, admin))
            server = servers.Chinwag(url, workdir / f"{name}.log", src=src)
            stack.callback(server.stop)
            server.start()
            targets.append((tag, server, url))
        results: dict[str, list[dict[str, Any]]] = {tag: [] for tag, _, _ in targets}
        for n in range(rounds):
            for tag, server, url in targets if n % 2 == 0 else targets[::-1]:
                auth = basic_auth(server.account_sid, server.auth_token)
                requests = asyncio.run(_setup(server.port, auth, channels, users))
                before, retried = _deadlocks(url), asyncio.run(_retries(server.port))
                figures = asyncio.run(_race(server.port, auth, requests))
                figures["deadlocks"] = _deadlocks(url) - before
                figures["retries"] = dict(asyncio.run(_retries(server.port)) - retried)
                results[tag].append(figures)
    figures = {"db": kind, "ref": ref, "rounds": rounds, "users": users, "channels": channels}
    return {**figures, **results}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.contention", description=__doc__)
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument("--ref", default="HEAD", help="the commit to compare the working tree with")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--users", type=int, default=200, help="users deleted per round")
    p.add_argument("--channels", type=int, default=4, help="channels each user is a member of")
    p.add_argument("--pg", default=servers.PG_DEFAULT, help="PostgreSQL admin URL on 127.0.0.1")
    args = p.parse_args(argv)
    servers.check_local(args.pg)
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-contention-") as tmp:
        figures = run(
            args.db,
            args.ref,
            max(1, args.rounds),
            max(GROUP, args.users),
            max(1, args.channels),
            Path(tmp),
            args.pg,
        )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
