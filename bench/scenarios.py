"""The measurements: message creates, reads, deep paging, scale, and the same load on Prism."""

from __future__ import annotations

import asyncio
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench import servers, webhooks
from bench.client import Connection, basic_auth, form, local_path
from bench.load import Load, LoadResult, cpu_seconds, run_load
from bench.preload import preload
from chinwag.resources import TABLES
from chinwag.store.db import async_url

PAGE = 50
CPU_BLOCK = 50  # requests per URL over which deep paging's server CPU is measured
MILESTONES = (100_000, 1_000_000)
SETUP_CONNECTIONS = 8
READER = "bench-reader"
MESSAGE_PARAMS = (("Body", "bench message {n}"), ("From", "bench-user"))
BARE_CLIENTS = 16  # the bare stack runs the create load at this many clients
BARE_PATHS = ("/v1/Services/IS1/Channels/CH1/Messages",)  # the one channel it has
BARE_AUTH = basic_auth("AC1", "tok")


@dataclass(frozen=True)
class Options:
    quick: bool
    requests: int  # per load
    clients: tuple[int, ...]
    channels: tuple[int, ...]
    read_clients: int
    messages: int  # deep-paging depth to reach (the channel gets one more page)
    procs: int
    time_limit: float  # per load, seconds
    tries: int
    pg_admin: str
    workers: int = 1  # chinwag serve --workers
    pace_seconds: float = 8.0  # the length of each of the webhook pace's create loads...
    pace_pairs: int = 4  # ...of which it runs this many pairs (off, on, on, off, ...)
    pace_drain: float = 120.0  # the longest wait for its backlog to drain


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def _brief(r: LoadResult) -> str:
    bad = r.requests - r.ok
    cpu = f"  cpu {r.server_cpu_ms:.2f} ms/req" if r.server_cpu_ms is not None else ""
    failed = f"  ({bad} failed: {r.statuses} {r.errors})" if bad else ""
    return f"{r.throughput:8.1f} req/s  p50 {r.p50_ms:6.1f}  p99 {r.p99_ms:6.1f} ms{cpu}{failed}"


async def _call(
    conn: Connection, method: str, path: str, params: Sequence[tuple[str, str]] | None = None
) -> Any:
    body = form(params) if params is not None else None
    response = await conn.request(method, path, body)
    if not 200 <= response.status < 300:
        raise RuntimeError(f"{method} {path}: {response.status} {response.body[:300]!r}")
    return response.json()


# Fixtures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    """The paths every load uses, on chinwag (real SIDs) or on Prism (made-up ones)."""

    service: str
    channels: tuple[str, ...]  # channel URLs, for the create loads
    messages: tuple[str, ...]  # single-message URLs, for fetches
    list_messages: str
    list_channels: str
    user_channels: str

    @classmethod
    def build(
        cls, service: str, channels: Sequence[str], messages: Sequence[str], user: str
    ) -> Paths:
        base = f"/v1/Services/{service}"
        return cls(
            service=service,
            channels=tuple(f"{base}/Channels/{ch}" for ch in channels),
            messages=tuple(f"{base}/Channels/{channels[0]}/Messages/{im}" for im in messages),
            list_messages=f"{base}/Channels/{channels[0]}/Messages?PageSize={PAGE}",
            list_channels=f"{base}/Channels?PageSize={PAGE}",
            user_channels=f"{base}/Users/{user}/Channels?PageSize={PAGE}",
        )


def fake_paths(channels: int) -> Paths:
    """Valid-looking SIDs for Prism, which keeps no state."""

    def sid(prefix: str) -> str:
        return prefix + secrets.token_hex(16)

    return Paths.build(
        sid("IS"),
        [sid("CH") for _ in range(channels)],
        [sid("IM") for _ in range(PAGE)],
        sid("US"),
    )


async def _setup(port: int, auth: str, n_channels: int) -> tuple[str, list[str], str, str]:
    """A service, its channels, a reader who joined up to 50 of them, and the deep channel."""
    conns = [Connection(port, auth) for _ in range(SETUP_CONNECTIONS)]
    try:
        service = (await _call(conns[0], "POST", "/v1/Services", [("FriendlyName", "bench")]))[
            "sid"
        ]
        base = f"/v1/Services/{service}"
        channels: list[str] = [""] * n_channels
        todo = list(range(n_channels - 1, -1, -1))

        async def make_channels(conn: Connection) -> None:
            while todo:
                i = todo.pop()
                params = [("FriendlyName", f"bench {i}"), ("UniqueName", f"bench-{i}")]
                channels[i] = (await _call(conn, "POST", f"{base}/Channels", params))["sid"]

        await asyncio.gather(*(make_channels(c) for c in conns))
        user = (await _call(conns[0], "POST", f"{base}/Users", [("Identity", READER)]))["sid"]
        joins = list(channels[:PAGE])

        async def join(conn: Connection) -> None:
            while joins:
                ch = joins.pop()
                await _call(conn, "POST", f"{base}/Channels/{ch}/Members", [("Identity", READER)])

        await asyncio.gather(*(join(c) for c in conns))
        params = [("FriendlyName", "deep"), ("UniqueName", "bench-deep")]
        deep = (await _call(conns[0], "POST", f"{base}/Channels", params))["sid"]
        return service, channels, user, deep
    finally:
        for c in conns:
            c.close()


async def _message_sids(port: int, auth: str, channel_url: str) -> list[str]:
    conn = Connection(port, auth)
    try:
        page = await _call(conn, "GET", f"{channel_url}/Messages?PageSize={PAGE}")
    finally:
        conn.close()
    return [m["sid"] for m in page["messages"]]


# Loads ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A server under load: its name in the output, port, credentials and process id."""

    tag: str
    port: int
    auth: str
    pid: int


@dataclass(frozen=True)
class Twin:
    """Prism, loaded right after chinwag with the same load, so both see the same machine."""

    target: Target
    paths: Paths
    started_s: float


def _create(target: Target, paths: Paths, opts: Options, clients: int, n: int) -> dict[str, Any]:
    urls = tuple(f"{url}/Messages" for url in paths.channels[:n])
    name = f"create c={clients} ch={n}"
    load = Load(name, target.port, target.auth, "POST", urls, MESSAGE_PARAMS)
    result = run_load(load, clients, opts.requests, opts.procs, opts.time_limit, target.pid)
    say(f"[{target.tag}] create {clients:3d} clients x {n:4d} channels: {_brief(result)}")
    return {"clients": clients, "channels": n, **result.as_dict()}


def _read(target: Target, opts: Options, name: str, urls: tuple[str, ...]) -> dict[str, Any]:
    load = Load(name, target.port, target.auth, "GET", urls)
    c = opts.read_clients
    result = run_load(load, c, opts.requests, opts.procs, opts.time_limit, target.pid)
    say(f"[{target.tag}] {name:<20} {c} clients: {_brief(result)}")
    return {"read": name, "clients": c, **result.as_dict()}


def _reads(paths: Paths) -> dict[str, tuple[str, ...]]:
    return {
        "fetch message": paths.messages,
        "list 50 messages": (paths.list_messages,),
        "list channels": (paths.list_channels,),
        "list user channels": (paths.user_channels,),
    }


def create_loads(
    target: Target, paths: Paths, opts: Options, twin: Twin | None, bare: Target | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Creates at every clients x channels; Prism's twin of each load on the fewest channels,
    and the bare stack's of the load at 16 clients on the fewest channels (it has one)."""
    rows, twins, bares = [], [], []
    for n in opts.channels:
        for c in opts.clients:
            rows.append(_create(target, paths, opts, c, n))
            if twin is not None and n == opts.channels[0]:
                twins.append(_create(twin.target, twin.paths, opts, c, n))
            if bare is not None and n == opts.channels[0] and c == BARE_CLIENTS:
                bares.append(bare_create(bare, opts, c))
    return rows, twins, bares


def bare_create(bare: Target, opts: Options, clients: int) -> dict[str, Any]:
    load = Load(
        f"bare create c={clients}", bare.port, bare.auth, "POST", BARE_PATHS, MESSAGE_PARAMS
    )
    result = run_load(load, clients, opts.requests, opts.procs, opts.time_limit, bare.pid)
    say(f"[{bare.tag}] create {clients:3d} clients x    1 channels: {_brief(result)}")
    return {"clients": clients, "channels": 1, **result.as_dict()}


def read_loads(
    target: Target, paths: Paths, opts: Options, twin: Twin | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows, twins = [], []
    theirs = _reads(twin.paths) if twin is not None else {}
    for name, urls in _reads(paths).items():
        rows.append(_read(target, opts, name, urls))
        if twin is not None:
            twins.append(_read(twin.target, opts, name, theirs[name]))
    return rows, twins


# Deep paging ---------------------------------------------------------------------------------


def depths_for(messages: int) -> list[int]:
    deep = [d for d in MILESTONES if d <= messages]
    if messages not in deep and messages >= PAGE:
        deep.append(messages)
    return deep


async def _timed_get(conn: Connection, path: str) -> tuple[float, Any]:
    began = time.perf_counter()
    response = await conn.request("GET", path)
    elapsed = time.perf_counter() - began
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.body[:300]!r}")
    return elapsed, response.json()


def _first_index(page: Any) -> int | None:
    return page["messages"][0]["index"] if page["messages"] else None


async def _deep_targets(
    conn: Connection, channel_url: str, depths: list[int], sids: dict[int, str]
) -> tuple[dict[str, str], dict[str, int]]:
    """URL of every figure, and the index each page must start at."""
    list_url = f"{channel_url}/Messages?PageSize={PAGE}"
    targets = {"first": list_url, "fetch 0": f"{channel_url}/Messages/{sids[0]}"}
    checks = {"first": 0}
    for d in depths:
        targets[f"token {d}"] = f"{list_url}&Page={d // PAGE}&PageToken=PA{d - 1}"
        before = f"{list_url}&Page={d // PAGE - 1}&PageToken=PA{d - PAGE - 1}"
        _, near = await _timed_get(conn, before if d > PAGE else list_url)
        targets[f"follow {d}"] = local_path(near["meta"]["next_page_url"])
        targets[f"fetch {d}"] = f"{channel_url}/Messages/{sids[d]}"
        checks[f"token {d}"] = checks[f"follow {d}"] = d
    for name, path in targets.items():  # warm up, and check each page starts where it should
        _, body = await _timed_get(conn, path)
        if name in checks and _first_index(body) != checks[name]:
            raise RuntimeError(f"{name}: page starts at {_first_index(body)}, not {checks[name]}")
    return targets, checks


async def _cpu_per_request(conn: Connection, targets: dict[str, str], pid: int) -> dict[str, float]:
    cpu: dict[str, float] = {}
    for name, path in targets.items():
        before = cpu_seconds(pid)
        for _ in range(CPU_BLOCK):
            await _timed_get(conn, path)
        cpu[name] = (cpu_seconds(pid) - before) / CPU_BLOCK * 1000
    return cpu


async def _measure_depths(
    port: int,
    auth: str,
    channel_url: str,
    depths: list[int],
    sids: dict[int, str],
    tries: int,
    pid: int | None = None,
) -> dict[str, Any]:
    """Times of the first page and of pages `depths` deep.

    Wall time: the median of `tries`, interleaved try by try so that a burst of other work
    hits every figure alike. Server CPU (with `pid`): per request over a block of CPU_BLOCK
    requests to each URL, a figure other work on the machine moves far less.
    """
    conn = Connection(port, auth)
    try:
        targets, _ = await _deep_targets(conn, channel_url, depths, sids)
        times: dict[str, list[float]] = {name: [] for name in targets}
        for _ in range(tries):
            for name, path in targets.items():
                elapsed, _ = await _timed_get(conn, path)
                times[name].append(elapsed * 1000)
        cpu = await _cpu_per_request(conn, targets, pid) if pid else {}
    finally:
        conn.close()
    med = {name: statistics.median(v) for name, v in times.items()}
    out: dict[str, Any] = {
        "tries": tries,
        "first_page_ms": round(med["first"], 2),
        "fetch_first_ms": round(med["fetch 0"], 2),
        "depths": [],
    }
    if cpu:
        out["first_page_cpu_ms"] = round(cpu["first"], 3)
        out["cpu_block"] = CPU_BLOCK
    for d in depths:
        row = {
            "depth": d,
            "token_ms": round(med[f"token {d}"], 2),
            "follow_ms": round(med[f"follow {d}"], 2),
            "fetch_ms": round(med[f"fetch {d}"], 2),
            "ratio_token": round(med[f"token {d}"] / med["first"], 3),
            "ratio_follow": round(med[f"follow {d}"] / med["first"], 3),
            "ratio_fetch": round(med[f"fetch {d}"] / med["fetch 0"], 3),
            "follow_url": targets[f"follow {d}"],
        }
        if cpu:
            row["token_cpu_ms"] = round(cpu[f"token {d}"], 3)
            row["ratio_cpu"] = round(cpu[f"token {d}"] / cpu["first"], 3) if cpu["first"] else None
        out["depths"].append(row)
    return out


async def _count_messages(database: str) -> int:
    engine = create_async_engine(async_url(database))
    try:
        async with engine.connect() as conn:
            messages = TABLES["message"]
            return int(
                (await conn.execute(select(func.count()).select_from(messages))).scalar_one()
            )
    finally:
        await engine.dispose()


# One database, end to end ---------------------------------------------------------------------


def run_database(kind: str, opts: Options, twin: Twin | None) -> dict[str, Any]:
    """Every chinwag measurement on fresh databases of `kind` (sqlite or postgresql): the main
    one, the bare stack's, and (SQLite) the synchronous=FULL and the webhook-pace servers'."""
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-") as tmp:
        workdir = Path(tmp)
        made: list[str] = []  # PostgreSQL databases to drop

        def database(name: str) -> str:
            if kind == "sqlite":
                return f"sqlite:///{workdir / name}.db"
            made.append(servers.pg_create(opts.pg_admin))
            return made[-1]

        server = servers.Chinwag(database("bench"), workdir / "chinwag.log", workers=opts.workers)
        bare = servers.bare_stack(database("bare"), workdir / "bare.log")
        try:
            started = bare.start()
            say(f"[bare-{kind}] the bare stack is ready in {started:.2f}s")
            bare_target = Target(f"bare-{kind}", bare.port, BARE_AUTH, bare.pid)
            out = _run_on(
                kind, server.database, server, workdir / "bench.db", opts, twin, bare_target
            )
            bare.stop()
            # The measurements below run servers of their own on fresh databases: this one,
            # and its database of a million messages, must not share the machine with them.
            server.stop()
            if kind == "sqlite":
                out["synchronous_full"] = _full_run(database("full"), workdir, opts)
            out["webhooks"] = _pace(kind, database("pace"), workdir, opts)
            return out
        except BaseException:
            _show_log_tail(server.log_path)
            raise
        finally:
            server.stop()
            bare.stop()
            for url in made:
                servers.pg_drop(url, opts.pg_admin)


def _full_run(database: str, workdir: Path, opts: Options) -> dict[str, Any]:
    """The create load at 16 clients on a server with --sqlite-synchronous FULL."""
    server = servers.Chinwag(
        database, workdir / "chinwag-full.log", extra_args=["--sqlite-synchronous", "FULL"]
    )
    try:
        server.start()
        auth = basic_auth(server.account_sid, server.auth_token)
        service, channels, user, _ = asyncio.run(_setup(server.port, auth, 1))
        paths = Paths.build(service, channels, ["IM" + "0" * 32], user)
        target = Target("sqlite FULL", server.port, auth, server.pid)
        return _create(target, paths, opts, BARE_CLIENTS, 1)
    finally:
        server.stop()


def _pace(kind: str, database: str, workdir: Path, opts: Options) -> dict[str, Any]:
    pace = webhooks.PaceOptions(
        clients=BARE_CLIENTS,
        seconds=opts.pace_seconds,
        pairs=opts.pace_pairs,
        drain_limit=opts.pace_drain,
        procs=opts.procs,
    )
    result = webhooks.run_pace(database, workdir, pace, kind)
    cost = result["post_events_cost"]
    pairs = ", ".join("-" if c is None else f"{c:.0%}" for c in result["post_events_costs"])
    say(
        f"[{kind}] webhook pace: creates {result['creates_off_per_s']:.0f}/s without post-events, "
        f"{result['creates_on_per_s']:.0f}/s with (cost {cost if cost is None else f'{cost:.0%}'}, "
        f"each pair {pairs}); "
        f"{result['deliveries_per_s']:.0f} deliveries/s, lag p50 {result['lag_p50_ms']:.0f} ms "
        f"p99 {result['lag_p99_ms']:.0f} ms, drained at most {result['drain_s']:.1f}s after a load"
    )
    return result


def _show_log_tail(path: Path) -> None:
    if path.exists():
        lines = path.read_text(errors="replace").splitlines()[-20:]
        say(f"last lines of {path}:\n  " + "\n  ".join(lines))


def _run_on(
    kind: str,
    database: str,
    server: servers.Chinwag,
    sqlite_file: Path,
    opts: Options,
    twin: Twin | None,
    bare: Target | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"db": kind, "load_avg_before": os.getloadavg()}
    out["start_empty_s"] = round(server.start(), 3)
    say(f"[{kind}] chinwag ready in {out['start_empty_s']:.2f}s on an empty database")
    auth = basic_auth(server.account_sid, server.auth_token)
    began = time.monotonic()
    service, channels, user, deep = asyncio.run(_setup(server.port, auth, max(opts.channels)))
    say(f"[{kind}] set up {len(channels)} channels in {time.monotonic() - began:.1f}s")
    paths = Paths.build(service, channels, ["IM" + "0" * 32], user)
    target = Target(kind, server.port, auth, server.pid)
    out["create"], prism_creates, out["bare_create"] = create_loads(target, paths, opts, twin, bare)
    sids = asyncio.run(_message_sids(server.port, auth, paths.channels[0]))
    paths = Paths.build(service, channels, sids, user)
    out["reads"], prism_reads = read_loads(target, paths, opts, twin)
    if twin is not None:
        out["prism"] = {
            "package": servers.PRISM_PACKAGE,
            "start_s": twin.started_s,
            "rss_mb": servers.proc_memory(twin.target.pid)["VmRSS"],
            "create": prism_creates,
            "reads": prism_reads,
        }

    # Deep paging: one channel, preloaded through chinwag's own tables.
    depths = depths_for(opts.messages)
    total = opts.messages + PAGE
    say(f"[{kind}] preloading {total:,} messages into one channel...")
    marks = [total * k // 5 for k in range(1, 6)]

    def progress(done: int) -> None:
        while marks and done >= marks[0]:
            marks.pop(0)
            say(f"[{kind}]   {done:,} / {total:,}")

    kept, seconds = asyncio.run(preload(database, deep, total, {0, *depths}, progress))
    deep_url = f"/v1/Services/{service}/Channels/{deep}"
    measured = asyncio.run(
        _measure_depths(server.port, auth, deep_url, depths, kept, opts.tries, server.pid)
    )
    out["deep_paging"] = {
        "messages_in_channel": total,
        "preload_s": round(seconds, 1),
        "preload_per_s": round(total / seconds),
        **measured,
    }
    for row in measured["depths"]:
        say(
            f"[{kind}] page at depth {row['depth']:,}: {row['token_ms']:.2f} ms by token, "
            f"{row['follow_ms']:.2f} ms by next_page_url, first page {measured['first_page_ms']:.2f}"
            f" ms: ratio {row['ratio_token']:.2f} / {row['ratio_follow']:.2f}"
        )

    # Scale: memory after all of the above, size on disk, and a restart on the full database.
    scale: dict[str, Any] = {"messages_total": asyncio.run(_count_messages(database))}
    memory = servers.proc_memory(server.pid)
    scale["rss_mb"], scale["peak_rss_mb"] = memory["VmRSS"], memory["VmHWM"]
    if kind == "sqlite":
        sizes = servers.sqlite_size(sqlite_file)
        scale["db_bytes"] = sum(sizes.values())
        scale["db_files"] = sizes
    else:
        scale["db_bytes"] = servers.pg_size(database)
    server.stop()
    scale["start_s"] = round(server.start(), 3)
    asyncio.run(_measure_depths(server.port, auth, deep_url, depths[-1:], kept, 1))
    scale["rss_after_restart_mb"] = servers.proc_memory(server.pid)["VmRSS"]
    out["scale"] = scale
    say(
        f"[{kind}] {scale['messages_total']:,} messages: RSS {scale['rss_mb']} MiB "
        f"(peak {scale['peak_rss_mb']}), database {scale['db_bytes'] / 2**20:.1f} MiB, "
        f"restart {scale['start_s']:.2f}s"
    )
    server.stop()
    out["load_avg_after"] = os.getloadavg()
    return out


# Prism ---------------------------------------------------------------------------------------


def start_prism(opts: Options, workdir: Path) -> tuple[servers.Prism | None, Twin | str]:
    """Prism mocking the spec, ready for twin loads; or None and why it cannot run."""
    if not servers.SPEC.exists():  # part of the repository: its absence is a broken checkout
        raise FileNotFoundError(f"Twilio's spec is missing: {servers.SPEC}")
    binary, how = servers.prism_binary()
    if binary is None:
        return None, f"Prism unavailable ({how})"
    prism = servers.Prism(binary, workdir / "prism.log")
    paths = fake_paths(opts.channels[0])
    auth = basic_auth("AC" + secrets.token_hex(16), secrets.token_hex(16))
    try:
        started = prism.start(f"/v1/Services/{paths.service}", auth)
    except RuntimeError as exc:
        return None, str(exc)
    say(f"[prism] ready in {started:.2f}s")
    return prism, Twin(Target("prism", prism.port, auth, prism.pid), paths, round(started, 3))
