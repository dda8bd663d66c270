"""`python -m bench.sidebyside`: message creates against the bare stack, chinwag at a commit and
chinwag's working tree, in interleaved rounds: the before/after of one change on a busy machine.

Each round runs the same create load (16 clients unless `--clients` says, one channel unless
`--channels` says; the bare stack has one channel) against the bare stack, then against the two chinwags, their order alternating from round to round, so
both see the same machine as nearly as a shared machine allows. The commit's `src` is exported with `git archive`
and put first on the server's `PYTHONPATH`. Figures per target: mean creates/s over the rounds,
x bare (the means' ratio), mean server CPU per create and each round's p99; JSON on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import servers
from bench.client import basic_auth
from bench.load import Load, LoadResult, run_load
from bench.scenarios import BARE_AUTH, BARE_PATHS, MESSAGE_PARAMS, _setup


@dataclass(frozen=True)
class Target:
    tag: str
    port: int
    auth: str
    paths: tuple[str, ...]
    pid: int


def _chinwag(
    tag: str, database: str, log: Path, src: Path | None, n_channels: int
) -> tuple[Any, Target]:
    server = servers.Chinwag(database, log, src=src)
    server.start()
    auth = basic_auth(server.account_sid, server.auth_token)
    service, channels, _, _ = asyncio.run(_setup(server.port, auth, n_channels))
    paths = tuple(f"/v1/Services/{service}/Channels/{ch}/Messages" for ch in channels)
    return server, Target(tag, server.port, auth, paths, server.pid)


def _summary(results: dict[str, list[LoadResult]]) -> dict[str, Any]:
    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    bare = mean([r.throughput for r in results["bare"]])
    out = {}
    for tag, runs in results.items():
        rate = mean([r.throughput for r in runs])
        cpus = [r.server_cpu_ms for r in runs if r.server_cpu_ms is not None]
        out[tag] = {
            "creates_per_s": round(rate, 1),
            "x_bare": round(rate / bare, 3) if bare else None,
            "server_cpu_ms": round(mean(cpus), 3) if cpus else None,
            "p99_ms": [round(r.p99_ms, 1) for r in runs],
            "failed": sum(r.requests - r.ok for r in runs),
        }
    return out


def run(
    kind: str,
    ref: str,
    rounds: int,
    requests: int,
    workdir: Path,
    admin: str,
    clients: int = 16,
    channels: int = 1,
) -> dict[str, Any]:
    """The side-by-side figures on `kind` ("sqlite" or "postgresql"), fresh databases each."""
    created: list[str] = []

    def database(tag: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{workdir / tag}.db"
        url = servers.pg_create(admin)
        created.append(url)
        return url

    old_src = servers.export_ref(ref, workdir / "ref")
    running: list[Any] = []
    try:
        bare = servers.bare_stack(database("bare"), workdir / "bare.log")
        bare.start()
        running.append(bare)
        targets = [Target("bare", bare.port, BARE_AUTH, BARE_PATHS, bare.pid)]
        for tag, src in ((f"ref {ref}", old_src), ("working tree", None)):
            log = workdir / f"{tag}.log"
            server, target = _chinwag(tag, database(tag.split()[0]), log, src, channels)
            running.append(server)
            targets.append(target)
        results: dict[str, list[LoadResult]] = {t.tag: [] for t in targets}
        for n in range(rounds):
            order = targets if n % 2 == 0 else [targets[0], *targets[:0:-1]]
            for t in order:
                load = Load(f"create {t.tag}", t.port, t.auth, "POST", t.paths, MESSAGE_PARAMS)
                procs = min(2, clients)
                results[t.tag].append(run_load(load, clients, requests, procs, 60.0, t.pid))
    finally:
        for process in running:
            process.stop()
        for url in created:
            servers.pg_drop(url, admin)
    figures = {"db": kind, "ref": ref, "clients": clients, "channels": channels}
    figures.update(rounds=rounds, requests=requests)
    return {**figures, **_summary(results)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.sidebyside", description=__doc__)
    p.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    p.add_argument("--ref", default="HEAD", help="the commit to compare the working tree with")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--clients", type=int, default=16, help="keep-alive clients of each load")
    p.add_argument("--channels", type=int, default=1, help="chinwag's channels the creates go to")
    p.add_argument("--requests", type=int, default=1500, help="requests per load")
    p.add_argument("--pg", default=servers.PG_DEFAULT, help="PostgreSQL admin URL on 127.0.0.1")
    args = p.parse_args(argv)
    servers.check_local(args.pg)
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-sidebyside-") as tmp:
        rounds, clients = max(1, args.rounds), max(1, args.clients)
        workdir, channels = Path(tmp), max(1, args.channels)
        figures = run(args.db, args.ref, rounds, args.requests, workdir, args.pg, clients, channels)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
