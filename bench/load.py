"""Load from separate processes: each runs an asyncio client with keep-alive connections.

A load is a bounded number of requests (and a time limit) split over worker processes; the
workers open their connections, warm up, meet at a barrier, then run. Throughput is successful
responses over the wall time from the barrier to the last response; latencies are measured per
request, end to end, by the client.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.client import Connection, form

BARRIER_TIMEOUT = 60.0


@dataclass(frozen=True)
class Load:
    """What every request of one load looks like."""

    name: str
    port: int
    auth: str | None
    method: str  # GET or POST
    paths: tuple[str, ...]  # each request picks one at random
    params: tuple[tuple[str, str], ...] = ()  # POST form; "{n}" in a value becomes a counter
    warmup: int = 1  # untimed requests per connection before the barrier


@dataclass(frozen=True)
class Share:
    """One worker process's part of a load."""

    load: Load
    connections: int
    requests: int
    time_limit: float
    seed: int


@dataclass
class WorkerResult:
    latencies: list[float] = field(default_factory=list)  # seconds, 2xx only
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    started: float = 0.0  # time.monotonic(), system-wide on Linux
    finished: float = 0.0
    cpu: float = 0.0  # this worker's CPU seconds in the timed part


@dataclass(frozen=True)
class LoadResult:
    name: str
    clients: int
    processes: int
    requests: int  # sent in the timed part
    ok: int
    seconds: float
    throughput: float  # 2xx responses per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    server_cpu_ms: float | None  # CPU the server process spent per request sent
    server_cpu_util: float | None  # its CPU seconds per wall second (1.0 = one core busy)
    client_cpu_ms: float  # CPU the load workers spent per request sent
    load_avg: float  # the machine's 1-minute load average as the load started
    statuses: dict[str, int]
    errors: dict[str, int]
    timed_out: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks; 0.0 for no values."""
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def _body(params: tuple[tuple[str, str], ...], n: str) -> bytes | None:
    if not params:
        return None
    return form((k, v.replace("{n}", n)) for k, v in params)


async def _run_share(share: Share, barrier: Any) -> WorkerResult:
    load = share.load
    rng = random.Random(share.seed)
    result = WorkerResult()
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    conns = [Connection(load.port, load.auth) for _ in range(share.connections)]
    tag = f"{share.seed}"

    async def warm(conn: Connection, k: int) -> None:
        for w in range(load.warmup):
            await conn.request(load.method, rng.choice(load.paths), _body(load.params, f"w{k}-{w}"))

    await asyncio.gather(*(warm(c, k) for k, c in enumerate(conns)))
    await asyncio.get_running_loop().run_in_executor(None, barrier.wait, BARRIER_TIMEOUT)
    result.started = time.monotonic()
    cpu = time.process_time()
    deadline = result.started + share.time_limit
    issued = 0

    async def client(conn: Connection) -> None:
        nonlocal issued
        while issued < share.requests and time.monotonic() < deadline:
            issued += 1
            body = _body(load.params, f"{tag}-{issued}")
            path = rng.choice(load.paths)
            began = time.perf_counter()
            try:
                response = await conn.request(load.method, path, body)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                errors[type(exc).__name__] += 1
                continue
            elapsed = time.perf_counter() - began
            statuses[response.status] += 1
            if 200 <= response.status < 300:
                result.latencies.append(elapsed)

    await asyncio.gather(*(client(c) for c in conns))
    result.finished = time.monotonic()
    result.cpu = time.process_time() - cpu
    for conn in conns:
        conn.close()
    result.statuses = dict(statuses)
    result.errors = dict(errors)
    return result


def _run(main: Coroutine[Any, Any, WorkerResult]) -> WorkerResult:
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover  (uvloop is a chinwag dependency off Windows)
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def _worker(share: Share, barrier: Any, results: Any) -> None:
    try:
        outcome: WorkerResult | str = _run(_run_share(share, barrier))
    except Exception as exc:  # noqa: BLE001  (reported to the parent, which fails the load)
        barrier.abort()
        outcome = f"{type(exc).__name__}: {exc}"
    results.put(outcome)


def family(pid: int) -> list[int]:
    """A process and its children (the worker processes of `chinwag serve --workers N`)."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            pids.append(int(entry))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its children, from /proc/<pid>/stat."""
    total = 0.0
    for member in family(pid):
        try:
            with open(f"/proc/{member}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run_load(
    load: Load,
    clients: int,
    requests: int,
    max_procs: int,
    time_limit: float,
    server_pid: int | None = None,
) -> LoadResult:
    """`requests` requests from `clients` connections spread over at most `max_procs` processes.

    With `server_pid`, the server's CPU time over the timed part is reported per request: a
    figure that other work on the machine disturbs far less than throughput.
    """
    procs = max(1, min(clients, max_procs))
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(procs + 1)  # the parent too: it reads the server's CPU at the start
    results = ctx.Queue()
    workers = []
    for p in range(procs):
        share = Share(
            load,
            connections=clients // procs + (1 if p < clients % procs else 0),
            requests=requests // procs + (1 if p < requests % procs else 0),
            time_limit=time_limit,
            seed=random.randrange(1 << 30),
        )
        worker = ctx.Process(target=_worker, args=(share, barrier, results), daemon=True)
        worker.start()
        workers.append(worker)
    outcomes: list[WorkerResult] = []
    failures: list[str] = []
    cpu_before = None
    load_avg = os.getloadavg()[0]
    try:
        barrier.wait(BARRIER_TIMEOUT)
        cpu_before = cpu_seconds(server_pid) if server_pid else None
    except threading.BrokenBarrierError:
        failures.append("the workers did not all start")
    wait_until = time.monotonic() + BARRIER_TIMEOUT + time_limit + 60
    for _ in workers:
        try:
            got = results.get(timeout=max(0.1, wait_until - time.monotonic()))
        except queue.Empty:
            failures.append("a worker did not report in time")
            break
        if isinstance(got, WorkerResult):
            outcomes.append(got)
        else:
            failures.append(str(got))
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
    server_cpu = None
    if cpu_before is not None and server_pid:
        server_cpu = cpu_seconds(server_pid) - cpu_before
    if failures:
        raise RuntimeError(f"load {load.name!r} failed: {'; '.join(failures)}")
    return _combine(load.name, clients, procs, outcomes, time_limit, server_cpu, load_avg)


def _combine(
    name: str,
    clients: int,
    procs: int,
    outcomes: list[WorkerResult],
    time_limit: float,
    server_cpu: float | None,
    load_avg: float,
) -> LoadResult:
    latencies = sorted(x for o in outcomes for x in o.latencies)
    statuses: Counter[int] = Counter()
    errors: Counter[str] = Counter()
    for o in outcomes:
        statuses.update(o.statuses)
        errors.update(o.errors)
    seconds = max(o.finished for o in outcomes) - min(o.started for o in outcomes)
    ok = len(latencies)
    sent = sum(statuses.values()) + sum(errors.values())
    return LoadResult(
        name=name,
        clients=clients,
        processes=procs,
        requests=sent,
        ok=ok,
        seconds=round(seconds, 3),
        throughput=round(ok / seconds, 1) if seconds > 0 else 0.0,
        p50_ms=round(percentile(latencies, 50) * 1000, 2),
        p95_ms=round(percentile(latencies, 95) * 1000, 2),
        p99_ms=round(percentile(latencies, 99) * 1000, 2),
        mean_ms=round(sum(latencies) / ok * 1000, 2) if ok else 0.0,
        max_ms=round(latencies[-1] * 1000, 2) if latencies else 0.0,
        server_cpu_ms=_per(server_cpu, sent),
        server_cpu_util=round(server_cpu / seconds, 2) if server_cpu and seconds > 0 else None,
        client_cpu_ms=_per(sum(o.cpu for o in outcomes), sent) or 0.0,
        load_avg=round(load_avg, 2),
        statuses={str(k): v for k, v in sorted(statuses.items())},
        errors=dict(errors),
        timed_out=seconds >= time_limit,
    )


def _per(cpu: float | None, requests: int) -> float | None:
    return round(cpu / requests * 1000, 3) if cpu is not None and requests else None
