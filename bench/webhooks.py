"""Does webhook delivery keep pace? Creates with post-events off and on, deliveries, lag, drain.

One chinwag server with `--rest-webhooks post` on a fresh database, and the receiver of
`bench/receiver.py` in a process of its own. Two services: `quiet` has no webhook, `hooked`
sends `onMessageSent` to the receiver (`PostWebhookUrl`, `WebhookFilters=onMessageSent`). The same
create load (16 clients, one channel) runs on `quiet` (post-events off), then on `hooked`; then
the bench waits (bounded) until the outbox has nothing left to send.

Lag of a delivery = the receiver's clock right after it answered 200 - the outbox row's
`date_created` (written in the create's own transaction, just before its commit, so the figure
errs on the long side); both clocks are this machine's. The first 200 of each idempotency token
counts (delivery is at least once).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench import servers
from bench.client import Connection, basic_auth, form
from bench.load import Load, LoadResult, cpu_seconds, percentile, run_load
from chinwag.resources import TABLES
from chinwag.store.db import async_url

MESSAGE_PARAMS = (("Body", "bench message {n}"), ("From", "bench-user"))
EVENT = "onMessageSent"
POLL = 0.05


@dataclass(frozen=True)
class PaceOptions:
    clients: int = 16
    seconds: float = 8.0  # each create load runs this long...
    requests: int = 1_000_000  # ...or stops after this many requests
    drain_limit: float = 120.0  # the longest wait for the backlog to drain after the load
    procs: int = 2


async def _post(conn: Connection, path: str, params: list[tuple[str, str]]) -> Any:
    response = await conn.request("POST", path, form(params))
    if not 200 <= response.status < 300:
        raise RuntimeError(f"POST {path}: {response.status} {response.body[:300]!r}")
    return response.json()


async def _setup(port: int, auth: str, hook_url: str) -> tuple[str, str]:
    """Channel URLs of a service without webhooks and of one posting onMessageSent to the hook."""
    conn = Connection(port, auth)
    try:
        urls = []
        for name, hooked in (("quiet", False), ("hooked", True)):
            service = (await _post(conn, "/v1/Services", [("FriendlyName", name)]))["sid"]
            if hooked:
                params = [("PostWebhookUrl", hook_url), ("WebhookFilters", EVENT)]
                await _post(conn, f"/v1/Services/{service}", params)
            channel = (await _post(conn, f"/v1/Services/{service}/Channels", []))["sid"]
            urls.append(f"/v1/Services/{service}/Channels/{channel}/Messages")
        return urls[0], urls[1]
    finally:
        conn.close()


def _as_epoch(value: datetime) -> float:
    """SQLite gives naive datetimes: chinwag writes every one in UTC."""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


async def _drain(database: str, limit: float) -> tuple[bool, dict[str, float]]:
    """Wait until no delivery is pending or sending (at most `limit` s); then every row's
    token and creation time."""
    o = TABLES.outbox
    engine = create_async_engine(async_url(database))
    try:
        deadline = time.monotonic() + limit
        active = select(func.count()).select_from(o).where(o.c.status.in_(("pending", "sending")))
        drained = False
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                if not (await conn.execute(active)).scalar_one():
                    drained = True
                    break
            await asyncio.sleep(POLL)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(o.c.token, o.c.date_created))).all()
        return drained, {token: _as_epoch(created) for token, created in rows}
    finally:
        await engine.dispose()


def _hits(port: int) -> dict[str, float]:
    """The receiver's first 200 for each token."""
    import http.client

    conn = http.client.HTTPConnection(servers.LOCALHOST, port, timeout=60)
    try:
        conn.request("GET", "/__hits")
        data = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    first: dict[str, float] = {}
    for token, at in data["hits"]:
        first.setdefault(token, at)
    return first


def _load(name: str, port: int, auth: str, url: str, opts: PaceOptions, pid: int) -> LoadResult:
    load = Load(name, port, auth, "POST", (url,), MESSAGE_PARAMS)
    return run_load(load, opts.clients, opts.requests, opts.procs, opts.seconds, pid)


def _cpu_cost(off: LoadResult, on: LoadResult, drain_cpu: float | None) -> dict[str, Any]:
    """Server CPU per create without post-events, and with them counting the deliveries' CPU
    (during the load and while the backlog drained after it): a figure that other work on the
    machine moves far less than creates/s."""
    if off.server_cpu_ms is None or on.server_cpu_ms is None or drain_cpu is None:
        return {}
    total = on.server_cpu_ms + (drain_cpu * 1000 / on.requests if on.requests else 0.0)
    return {
        "cpu_ms_per_create_off": off.server_cpu_ms,
        "cpu_ms_per_create_on": round(total, 3),
        "post_events_cpu_cost": round(1 - off.server_cpu_ms / total, 3) if total else None,
    }


def summarize(
    off: LoadResult,
    on: LoadResult,
    created: dict[str, float],
    hits: dict[str, float],
    load_end: float,
    drained: bool,
    drain_cpu: float | None = None,
) -> dict[str, Any]:
    """The pace figures from the two loads, the outbox rows and the receiver's hits."""
    lags = sorted(max(0.0, hits[t] - c) for t, c in created.items() if t in hits)
    during = sum(1 for t in hits.values() if load_end - on.seconds <= t <= load_end)
    last = max(hits.values(), default=load_end)
    return {
        "creates_off_per_s": off.throughput,
        "creates_on_per_s": on.throughput,
        "creates_off_p99_ms": off.p99_ms,
        "creates_on_p99_ms": on.p99_ms,
        "post_events_cost": round(1 - on.throughput / off.throughput, 3)
        if off.throughput
        else None,
        "events": len(created),
        "delivered": len(lags),
        "undelivered": len(created) - len(lags),
        "deliveries_per_s": round(during / on.seconds, 1) if on.seconds else 0.0,
        "lag_p50_ms": round(percentile(lags, 50) * 1000, 1),
        "lag_p99_ms": round(percentile(lags, 99) * 1000, 1),
        "lag_max_ms": round(lags[-1] * 1000, 1) if lags else None,
        "drain_s": round(max(0.0, last - load_end), 2),
        "drained": drained,
        **_cpu_cost(off, on, drain_cpu),
    }


def run_pace(
    database: str, workdir: Path, opts: PaceOptions, tag: str, src: Path | None = None
) -> dict[str, Any]:
    """The webhook-pace figures for chinwag on `database` (a fresh one); with `src`, chinwag at
    another commit (`servers.export_ref`)."""
    receiver = servers.receiver(workdir / f"receiver-{tag}.log")
    server = servers.Chinwag(
        database,
        workdir / f"chinwag-webhooks-{tag}.log",
        extra_args=["--rest-webhooks", "post"],
        src=src,
    )
    try:
        receiver.start("/__hits")
        server.start()
        auth = basic_auth(server.account_sid, server.auth_token)
        hook = f"http://{servers.LOCALHOST}:{receiver.port}/hook"
        quiet, hooked = asyncio.run(_setup(server.port, auth, hook))
        off = _load("create, post-events off", server.port, auth, quiet, opts, server.pid)
        on = _load("create, post-events on", server.port, auth, hooked, opts, server.pid)
        load_end, cpu_at_end = time.time(), cpu_seconds(server.pid)
        drained, created = asyncio.run(_drain(database, opts.drain_limit))
        drain_cpu = cpu_seconds(server.pid) - cpu_at_end
        hits = _hits(receiver.port)
    finally:
        server.stop()
        receiver.stop()
    out = summarize(off, on, created, hits, load_end, drained, drain_cpu)
    out["loads"] = [off.as_dict(), on.as_dict()]
    out["options"] = {"clients": opts.clients, "seconds": opts.seconds}
    return out


COMPARED = (
    "post_events_cost",
    "post_events_cpu_cost",
    "creates_off_per_s",
    "creates_on_per_s",
    "lag_p50_ms",
    "lag_p99_ms",
    "undelivered",
)


def compare(
    kind: str, ref: str, rounds: int, workdir: Path, opts: PaceOptions, admin: str
) -> dict[str, Any]:
    """The pace at commit `ref` and in the working tree, in interleaved rounds (their order
    alternating), each on a fresh database: the before and after of one change on a busy
    machine. Per side: each round's figures and their means."""
    old_src = servers.export_ref(ref, workdir / "ref")
    sides: dict[str, Path | None] = {f"ref {ref}": old_src, "working tree": None}
    rows: dict[str, list[dict[str, Any]]] = {tag: [] for tag in sides}
    for n in range(rounds):
        for tag in sides if n % 2 == 0 else reversed(sides):
            label = f"{tag.split()[0]}-{n}"
            with servers.fresh_database(kind, workdir, label, admin) as url:
                figures = run_pace(url, workdir, opts, label, sides[tag])
            rows[tag].append({k: figures.get(k) for k in COMPARED})
    out: dict[str, Any] = {"db": kind, "ref": ref, "rounds": rounds}
    for tag, runs in rows.items():
        means = {
            k: round(sum(r[k] for r in runs) / len(runs), 3)
            for k in COMPARED
            if all(isinstance(r[k], int | float) for r in runs)
        }
        out[tag] = {"rounds": runs, "means": means}
    return out


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.webhooks`: the webhook-pace figures alone, as JSON on stdout; with
    `--ref`, that commit and the working tree in interleaved rounds."""
    import argparse
    import tempfile

    p = argparse.ArgumentParser(prog="python -m bench.webhooks", description=main.__doc__)
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--seconds", type=float, default=PaceOptions.seconds)
    p.add_argument("--clients", type=int, default=PaceOptions.clients)
    p.add_argument("--pg", default=servers.PG_DEFAULT, help="PostgreSQL admin URL on 127.0.0.1")
    p.add_argument("--ref", help="compare this commit with the working tree")
    p.add_argument("--rounds", type=int, default=3, help="rounds of each side, with --ref")
    args = p.parse_args(argv)
    servers.check_local(args.pg)
    options = PaceOptions(clients=args.clients, seconds=args.seconds)
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-pace-") as tmp:
        if args.ref:
            rounds = max(1, args.rounds)
            print(json.dumps(compare(args.db, args.ref, rounds, Path(tmp), options, args.pg)))
            return
        with servers.fresh_database(args.db, Path(tmp), "pace", args.pg) as url:
            figures = run_pace(url, Path(tmp), options, args.db)
    print(json.dumps({"db": args.db, **figures}, indent=2))


if __name__ == "__main__":
    main()
