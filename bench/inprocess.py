"""What the benches that call the operations layer in process share (`bench.dashboard`,
`bench.filters`): their options, a fresh migrated database of each kind, a runtime with a new
account and service on it, and where their progress lines go."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench.servers import fresh_database, pg_reachable
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.resources import REGISTRY, TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store import accounts
from chinwag.store.accounts import Account
from chinwag.store.db import Database
from chinwag.store.migrate import upgrade

RESOURCES = {res.name: res for res in REGISTRY}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def create(
    account: Account, name: str, path: str, params: dict[str, str], form: dict[str, str]
) -> Operation:
    """A v2 create of resource `name` at `path`, as the account itself."""
    return Operation(RESOURCES[name], "create", "v2", account, path, params, Form(form.items()))


@asynccontextmanager
async def new_service(database: str) -> AsyncIterator[tuple[Runtime, Account, str]]:
    """A runtime on `database`, a new account and its service's SID; the runtime closed after."""
    runtime = Runtime(Settings(database=database), Database(database), TABLES)
    try:
        async with runtime.db.write() as conn:
            account = await accounts.create_account(conn, TABLES)
        form = {"FriendlyName": "bench"}
        made = await perform(runtime, create(account, "service", "/v2/Services", {}, form))
        if made.row is None:
            raise RuntimeError("the service was not made")
        yield runtime, account, str(made.row["sid"])
    finally:
        await runtime.db.close()


def options(
    prog: str,
    doc: str | None,
    sizes: str,
    sizes_help: str,
    extra: Callable[[argparse.ArgumentParser], object] = lambda parser: None,
) -> argparse.Namespace:
    """--db, --sizes (growing, as ints), --tries, --pg, and what `extra` adds."""
    parser = argparse.ArgumentParser(prog=prog, description=doc)
    extra(parser)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sizes", default=sizes, help=sizes_help)
    parser.add_argument("--tries", type=int, default=7)
    parser.add_argument("--pg", default=PG_ADMIN)
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    return args


def on_each_database(
    args: argparse.Namespace, heading: str, measure: Callable[[str], Awaitable[Any]]
) -> dict[str, Any]:
    """`measure(url)` on a fresh, migrated database of each kind `--db` names; PostgreSQL is
    skipped, saying why, when it does not answer."""
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    out: dict[str, Any] = {}
    with TemporaryDirectory() as work:
        for kind in kinds:
            if kind == "postgresql" and (why := pg_reachable(args.pg)) is not None:
                say(f"[postgresql] skipped: {why}")
                continue
            with fresh_database(kind, Path(work), "bench", args.pg) as database:
                upgrade(database)
                say(f"[{kind}] {heading}")
                out[kind] = asyncio.run(measure(database))
    return out


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
