"""Does webhook delivery keep pace? Creates with post-events off and on, deliveries, lag, drain.

One chinwag server with `--rest-webhooks post` on a fresh database, and the receiver of
`bench/receiver.py` in a process of its own. Two services: `quiet` has no webhook, `hooked`
sends `onMessageSent` to the receiver (`PostWebhookUrl`, `WebhookFilters=onMessageSent`). The same
create load (16 clients, one channel) runs on `quiet` (post-events off) and on `hooked` (on), in
pairs whose order alternates (off, on, on, off, ...), so that the machine's drift over the run
falls on both sides alike; after each load on `hooked` the bench waits (bounded) until the
outbox has nothing left to send, so every load starts without a backlog.

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
    pairs: int = 2  # loads of each side: off, on, on, off for 2


def order(pairs: int) -> list[bool]:
    """Whether each load has post-events: off, on, then on, off, and so on."""
    return [hooked != (n % 2 == 1) for n in range(pairs) for hooked in (False, True)]


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


async def _drain(database: str, limit: float) -> bool:
    """Wait until no delivery is pending or sending (at most `limit` s): whether none is."""
    o = TABLES.outbox
    engine = create_async_engine(async_url(database))
    active = select(func.count()).select_from(o).where(o.c.status.in_(("pending", "sending")))
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            async with engine.connect() as conn:
                if not (await conn.execute(active)).scalar_one():
                    return True
            await asyncio.sleep(POLL)
        return False
    finally:
        await engine.dispose()


async def _created(database: str) -> dict[str, float]:
    """Every outbox row's token and creation time."""
    o = TABLES.outbox
    engine = create_async_engine(async_url(database))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(o.c.token, o.c.date_created))).all()
        return {token: _as_epoch(created) for token, created in rows}
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


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _cpu_cost(
    offs: list[LoadResult], ons: list[LoadResult], drain_cpu: float | None
) -> dict[str, Any]:
    """Server CPU per create without post-events, and with them counting the deliveries' CPU
    (during the loads and while the backlog drained after each): a figure that other work on
    the machine moves far less than creates/s."""
    off_cpu = [r.server_cpu_ms for r in offs]
    on_cpu = [r.server_cpu_ms for r in ons]
    if not offs or not ons or drain_cpu is None or None in off_cpu or None in on_cpu:
        return {}
    off = _mean([c for c in off_cpu if c is not None])
    requests = sum(r.requests for r in ons)
    spent = sum((r.server_cpu_ms or 0.0) * r.requests for r in ons) + drain_cpu * 1000
    total = spent / requests if requests else 0.0
    return {
        "cpu_ms_per_create_off": round(off, 3),
        "cpu_ms_per_create_on": round(total, 3),
        "post_events_cpu_cost": round(1 - off / total, 3) if total else None,
    }


def _cost(off: float, on: float) -> float | None:
    return round(1 - on / off, 3) if off else None


def summarize(
    offs: list[LoadResult],
    ons: list[LoadResult],
    created: dict[str, float],
    hits: dict[str, float],
    windows: list[tuple[float, float]],
    drained: bool,
    drain_cpu: float | None = None,
) -> dict[str, Any]:
    """The pace figures from the loads (`offs` and `ons` in the order they ran, `windows` the
    wall-clock start, warm-up included, and end of each of `ons`), the outbox rows and the
    receiver's hits. The cost compares the sides' mean rates; `post_events_costs` is each
    pair's own."""
    lags = sorted(max(0.0, hits[t] - c) for t, c in created.items() if t in hits)
    # Deliveries during each load's timed part (its `seconds`, up to its end)...
    during = sum(
        1
        for (_, end), on in zip(windows, ons, strict=True)
        for t in hits.values()
        if end - on.seconds <= t <= end
    )
    seconds = sum(on.seconds for on in ons)
    drains = []
    for start, end in windows:  # ...and the last 200 of the events it made, after its end
        mine = [hits[t] for t, c in created.items() if t in hits and start <= c <= end]
        drains.append(max(0.0, max(mine, default=end) - end))
    off_rate, on_rate = _mean([r.throughput for r in offs]), _mean([r.throughput for r in ons])
    return {
        "creates_off_per_s": round(off_rate, 1),
        "creates_on_per_s": round(on_rate, 1),
        "creates_off_p99_ms": max((r.p99_ms for r in offs), default=0.0),
        "creates_on_p99_ms": max((r.p99_ms for r in ons), default=0.0),
        "post_events_cost": _cost(off_rate, on_rate),
        "post_events_costs": [
            _cost(off.throughput, on.throughput) for off, on in zip(offs, ons, strict=False)
        ],
        "events": len(created),
        "delivered": len(lags),
        "undelivered": len(created) - len(lags),
        "deliveries_per_s": round(during / seconds, 1) if seconds else 0.0,
        "lag_p50_ms": round(percentile(lags, 50) * 1000, 1),
        "lag_p99_ms": round(percentile(lags, 99) * 1000, 1),
        "lag_max_ms": round(lags[-1] * 1000, 1) if lags else None,
        "drain_s": round(max(drains, default=0.0), 2),
        "drained": drained,
        **_cpu_cost(offs, ons, drain_cpu),
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
        loads: list[LoadResult] = []
        offs: list[LoadResult] = []
        ons: list[LoadResult] = []
        windows: list[tuple[float, float]] = []
        drained, drain_cpu = True, 0.0
        for n, on in enumerate(order(opts.pairs)):
            name = f"create, post-events {'on' if on else 'off'} ({n + 1})"
            start = time.time()
            result = _load(name, server.port, auth, hooked if on else quiet, opts, server.pid)
            loads.append(result)
            if not on:
                offs.append(result)
                continue
            ons.append(result)
            windows.append((start, time.time()))
            cpu_at_end = cpu_seconds(server.pid)
            drained = asyncio.run(_drain(database, opts.drain_limit)) and drained
            drain_cpu += cpu_seconds(server.pid) - cpu_at_end
        created = asyncio.run(_created(database))
        hits = _hits(receiver.port)
    finally:
        server.stop()
        receiver.stop()
    out = summarize(offs, ons, created, hits, windows, drained, drain_cpu)
    out["loads"] = [r.as_dict() for r in loads]
    out["options"] = {"clients": opts.clients, "seconds": opts.seconds, "pairs": opts.pairs}
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
    p.add_argument(
        "--pairs", type=int, default=PaceOptions.pairs, help="loads of each side, alternating"
    )
    p.add_argument("--pg", default=servers.PG_DEFAULT, help="PostgreSQL admin URL on 127.0.0.1")
    p.add_argument("--ref", help="compare this commit with the working tree")
    p.add_argument("--rounds", type=int, default=3, help="rounds of each side, with --ref")
    args = p.parse_args(argv)
    servers.check_local(args.pg)
    options = PaceOptions(clients=args.clients, seconds=args.seconds, pairs=max(1, args.pairs))
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
