"""`python -m bench`: benchmark chinwag on SQLite and PostgreSQL, side by side with Prism."""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench import report, servers

if TYPE_CHECKING:
    from bench import scenarios

QUICK: dict[str, Any] = {
    "requests": 100,
    "messages": 10_000,
    "time_limit": 10.0,
    "tries": 10,
    "channels": (1, 10, 100),
    "pace_seconds": 2.0,
    "pace_pairs": 1,
    "pace_drain": 30.0,
}
FULL: dict[str, Any] = {
    "requests": 2000,
    "messages": 1_000_000,
    "time_limit": 60.0,
    "tries": 20,
    "channels": (1, 10, 1000),
    "pace_seconds": 8.0,
    # Four pairs, not two: single loads of this machine moved enough that one run's two pairs
    # gave 3 % and 21 %, or 23 % and 17 %, for the same code.
    "pace_pairs": 4,
    "pace_drain": 120.0,
}


def _ints(text: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in text.split(",") if v.strip())
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("a comma-separated list of positive integers")
    return values


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Start chinwag on SQLite and PostgreSQL, load it over HTTP from worker "
        "processes, compare with Prism, print a table and write JSON.",
    )
    p.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    p.add_argument("--quick", action="store_true", help="small counts: a smoke run of < 1 min")
    p.add_argument(
        "--messages",
        type=int,
        help="deep-paging depth: one channel gets this many messages plus one page "
        f"(default {FULL['messages']:,}; {QUICK['messages']:,} with --quick)",
    )
    p.add_argument("--requests", type=int, help="requests per load (default 2000; 100 quick)")
    p.add_argument("--clients", type=_ints, default=(1, 16, 64), help="default 1,16,64")
    p.add_argument("--channels", type=_ints, help="default 1,10,1000 (1,10,100 with --quick)")
    p.add_argument("--read-clients", type=int, default=16, help="clients of the read loads")
    p.add_argument(
        "--procs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="load worker processes at most (default: 2)",
    )
    p.add_argument("--tries", type=int, help="timed tries per deep-paging figure (default 20)")
    p.add_argument("--no-prism", action="store_true", help="skip the side-by-side Prism run")
    p.add_argument(
        "--pace-seconds",
        type=float,
        help="length of each create load of the webhook-pace measurement (default 8; 2 quick)",
    )
    p.add_argument(
        "--pace-pairs",
        type=int,
        help="pairs of loads without and with post-events in the webhook pace (default 4; 1 quick)",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="chinwag server processes (serve --workers)"
    )
    p.add_argument(
        "--pg",
        default=os.environ.get("CHINWAG_TEST_PG", servers.PG_DEFAULT),
        help="PostgreSQL admin URL on 127.0.0.1; a fresh database is created and dropped",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=servers.ROOT / "bench" / "results",
        help="directory of the JSON results (default bench/results/)",
    )
    p.add_argument(
        "--ref",
        help="bench this git commit of chinwag (exported with git archive) instead of the "
        "working tree, e.g. HEAD while src/ has edits in progress",
    )
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> scenarios.Options:
    from bench import scenarios

    preset = QUICK if args.quick else FULL
    messages = args.messages if args.messages is not None else int(preset["messages"])
    if messages < 0:
        raise SystemExit("bench: --messages must be >= 0")
    return scenarios.Options(
        quick=args.quick,
        requests=args.requests or int(preset["requests"]),
        clients=args.clients,
        channels=args.channels or preset["channels"],
        read_clients=args.read_clients,
        messages=messages,
        procs=max(1, args.procs),
        time_limit=float(preset["time_limit"]),
        tries=args.tries or int(preset["tries"]),
        pg_admin=args.pg,
        workers=max(1, args.workers),
        pace_seconds=args.pace_seconds or float(preset["pace_seconds"]),
        pace_pairs=max(1, args.pace_pairs or int(preset["pace_pairs"])),
        pace_drain=float(preset["pace_drain"]),
    )


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_avg": os.getloadavg(),
    }


def _run_one(
    kind: str,
    opts: scenarios.Options,
    stamp: str,
    source: dict[str, Any],
    twin: scenarios.Twin | None,
) -> dict[str, Any]:
    from bench import scenarios

    return {
        "tool": "chinwag bench",
        "timestamp": stamp,
        "machine": machine(),
        "chinwag": source,
        "options": {k: v for k, v in vars(opts).items() if k != "pg_admin"},
        **scenarios.run_database(kind, opts, twin),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-src-") as src:
        if args.ref:
            # Before chinwag is first imported: the preload and the server use this code.
            path = str(servers.export_ref(args.ref, Path(src)))
            sys.path.insert(0, path)
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (path, os.environ.get("PYTHONPATH")) if p
            )
        return run(args)


def run(args: argparse.Namespace) -> int:
    from bench import scenarios

    opts = options(args)
    source = servers.source_info(args.ref)
    print(f"bench: chinwag from {source}")
    servers.check_local(opts.pg_admin)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    began = time.monotonic()
    if "postgresql" in kinds and (why := servers.pg_reachable(opts.pg_admin)) is not None:
        print(f"bench: PostgreSQL at {opts.pg_admin} is unreachable ({why}); skipping it")
        kinds.remove("postgresql")
    if not kinds:
        return 1
    written: list[Path] = []
    outputs: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chinwag-bench-prism-") as tmp:
        prism, twin = (
            (None, "--no-prism") if args.no_prism else scenarios.start_prism(opts, Path(tmp))
        )
        if isinstance(twin, str):
            print(f"bench: Prism side-by-side skipped: {twin}")
        try:
            for kind in kinds:
                result = _run_one(
                    kind, opts, stamp, source, None if isinstance(twin, str) else twin
                )
                if isinstance(twin, str):
                    result["prism_skipped"] = twin
                result["vs_prism"] = report.compare(result)
                result["vs_bare"] = report.compare_bare(result)
                result["targets"] = report.targets(result)
                written.append(report.write_json(args.out, stamp, result))
                outputs.append(report.render(result))
        finally:
            if prism is not None:
                prism.stop()
    print()
    print("\n\n".join(outputs))
    print(f"\nwrote {', '.join(str(p) for p in written)} in {time.monotonic() - began:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
