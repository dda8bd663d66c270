"""`python -m bench.filters`: a filtered list page as the rows it skips grow.

A service of many private channels and a few public ones, and of many bindings of one type
(`gcm`, one user's) beside a few of two others (`apn`, `fcm`, two users'). Each filter's first
page is timed through the operations layer at each size (median of `--tries`): the default
channel list (Type public), `Type=private`, `Type=public&Type=private`, `BindingType=apn`,
`BindingType=apn&BindingType=fcm`, two identities, and an identity with the crowd's type (none
of its bindings); and the client SDK's first page of a user's channels (`my_conversations`:
its memberships, then its invites) for a user in the few public channels, beside the crowd's
user's membership of every private channel. With a filter's own index range in keyset order (`(service_sid, type, pk)`,
`(service_sid, binding_type, pk)`, `(service_sid, identity, pk)`) a page reads its rows and
stops, each value's range merged when a filter has several; a scan of the keyset index, or of
the crowd's type's range, would read every row of the crowd to find the few. The crowd's rows
are written straight into chinwag's tables, as `bench/preload.py` writes messages. JSON on
stdout.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.inprocess import RESOURCES, create, new_service, on_each_database, options, say
from chinwag import times
from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.realtime import aim
from chinwag.resources import TABLES
from chinwag.runtime import Runtime
from chinwag.sids import new_sid
from chinwag.store.accounts import Account
from chinwag.store.db import async_url

FEW = 10  # public channels among the private ones; apn and fcm bindings among the gcm ones
CHANNEL_FILTERS = {
    "default (public)": [],
    "Type=private": [("Type", "private")],
    "Type=public&Type=private": [("Type", "public"), ("Type", "private")],
}
BINDING_FILTERS = {
    "BindingType=apn": [("BindingType", "apn")],
    "BindingType=apn&BindingType=fcm": [("BindingType", "apn"), ("BindingType", "fcm")],
    "Identity=apple&Identity=fig": [("Identity", "apple"), ("Identity", "fig")],
    "Identity=apple&BindingType=gcm": [("Identity", "apple"), ("BindingType", "gcm")],
}
FILTERS = {**CHANNEL_FILTERS, **BINDING_FILTERS}
SDK = "SDK: apple's channels"
BATCH = 10_000


def _channel(account_sid: str, service_sid: str, now: Any) -> dict[str, Any]:
    return {
        "sid": new_sid("CH"),
        "account_sid": account_sid,
        "service_sid": service_sid,
        "type": "private",
        "members_count": 0,
        "messages_count": 0,
        "message_counter": 0,
        "date_created": now,
        "date_updated": now,
    }


def _member(
    account_sid: str, service_sid: str, user_sid: str, channels: list[str], now: Any
) -> dict[str, Any]:
    """The crowd's user's membership of the next crowd channel."""
    return {
        "sid": new_sid("MB"),
        "account_sid": account_sid,
        "service_sid": service_sid,
        "channel_sid": channels.pop(),
        "identity": "crowd",
        "user_sid": user_sid,
        "date_created": now,
        "date_updated": now,
    }


def _binding(account_sid: str, service_sid: str, user_sid: str, now: Any) -> dict[str, Any]:
    sid = new_sid("BS")
    return {
        "sid": sid,
        "account_sid": account_sid,
        "service_sid": service_sid,
        "endpoint": sid,
        "identity": "crowd",
        "binding_type": "gcm",
        "message_types": "[]",
        "address": sid,
        "user_sid": user_sid,
        "date_created": now,
        "date_updated": now,
    }


async def _add_crowd(
    database: str, resource: str, make: Callable[[Any], dict[str, Any]], count: int
) -> None:
    """`count` more rows of the crowd of `resource`, straight into its table, then the table
    analysed."""
    engine = create_async_engine(async_url(database))
    table = TABLES[resource]
    try:
        for start in range(0, count, BATCH):
            now = times.now()
            rows = [make(now) for _ in range(min(BATCH, count - start))]
            async with engine.begin() as conn:
                await conn.execute(table.insert(), rows)
        async with engine.begin() as conn:  # the statistics autovacuum would gather by now
            await conn.execute(text(f"ANALYZE {table.name}"))
    finally:
        await engine.dispose()


async def _the_few(runtime: Runtime, account: Account, sid: str) -> str:
    """The public channels (apple a member of each) and the apn and fcm bindings; the crowd's
    user's SID."""
    params = {"ServiceSid": sid}
    for _ in range(FEW):
        made = await perform(
            runtime, create(account, "channel", f"/v2/Services/{sid}/Channels", params, {})
        )
        assert made.row is not None  # noqa: S101  (made just now)
        members = f"/v2/Services/{sid}/Channels/{made.row['sid']}/Members"
        at = {**params, "ChannelSid": str(made.row["sid"])}
        await perform(runtime, create(account, "member", members, at, {"Identity": "apple"}))
    bindings = f"/v2/Services/{sid}/Bindings"
    for n in range(FEW):
        for identity, kind in (("apple", "apn"), ("fig", "fcm")):
            form = {"Endpoint": f"{kind}{n}", "Identity": identity, "BindingType": kind}
            await perform(
                runtime, create(account, "binding", bindings, params, {**form, "Address": "a"})
            )
    crowd = await perform(
        runtime, create(account, "user", f"/v2/Services/{sid}/Users", params, {"Identity": "crowd"})
    )
    assert crowd.row is not None  # noqa: S101  (made just now)
    return str(crowd.row["sid"])


async def _timed(runtime: Runtime, op: Operation, tries: int) -> tuple[float, int]:
    """The median ms of `tries` lists, and the rows of a page."""
    spent, rows = [], 0
    for _ in range(tries):
        began = time.perf_counter()
        listed = await perform(runtime, op)
        spent.append((time.perf_counter() - began) * 1000)
        rows = len(listed.listing.rows) if listed.listing else 0
    return round(statistics.median(spent), 2), rows


async def _sdk_channels(runtime: Runtime, sid: str, tries: int) -> tuple[float, int]:
    """The median ms of `tries` first pages of apple's channels as the SDK reads them."""
    session: Any = SimpleNamespace(tables=TABLES)
    spent, rows = [], 0
    for _ in range(tries):
        began = time.perf_counter()
        async with runtime.db.read() as conn:
            user = await aim._user_sid(session, conn, sid, "apple")
            joined = await aim._joined(session, conn, user, 0)
            invited = await aim._invited(session, conn, user, 0, aim.PAGE - len(joined))
        spent.append((time.perf_counter() - began) * 1000)
        rows = len(joined) + len(invited)
    return round(statistics.median(spent), 2), rows


async def measure(database: str, sizes: list[int], tries: int) -> list[dict[str, Any]]:
    """Per size (private channels and gcm bindings each, growing): each filter's page time,
    median ms, and rows."""
    async with new_service(database) as (runtime, account, sid):
        crowd_user = await _the_few(runtime, account, sid)
        paths = {
            "channel": f"/v2/Services/{sid}/Channels",
            "binding": f"/v2/Services/{sid}/Bindings",
        }
        results, have = [], 0
        made: list[str] = []  # the crowd channels made, for their members

        def private(now: Any) -> dict[str, Any]:
            row = _channel(account.sid, sid, now)
            made.append(row["sid"])
            return row

        for size in sizes:
            more = size - have
            await _add_crowd(database, "channel", private, more)
            await _add_crowd(
                database,
                "member",
                lambda now: _member(account.sid, sid, crowd_user, made, now),
                more,
            )
            await _add_crowd(
                database, "binding", lambda now: _binding(account.sid, sid, crowd_user, now), more
            )
            have = size
            row: dict[str, Any] = {"crowd": size}
            for name, pairs in FILTERS.items():
                resource = "channel" if name in CHANNEL_FILTERS else "binding"
                op = Operation(
                    RESOURCES[resource],
                    "list",
                    "v2",
                    account,
                    paths[resource],
                    {"ServiceSid": sid},
                    Form(pairs),
                )
                row[name], row[f"{name}: rows"] = await _timed(runtime, op, tries)
            row[SDK], row[f"{SDK}: rows"] = await _sdk_channels(runtime, sid, tries)
            results.append(row)
            say(
                f"  {size:>9,} of each crowd: "
                + ", ".join(f"{k} {row[k]} ms" for k in (*FILTERS, SDK))
            )
        return results


def main() -> None:
    args = options(
        "python -m bench.filters",
        __doc__,
        "1000,100000,1000000",
        "private channels, and gcm bindings",
    )

    def measured(database: str) -> Any:
        return measure(database, args.sizes, args.tries)

    heading = f"{FEW} public channels among the private ones, {FEW} apn and {FEW} fcm among gcm"
    out = {"sizes": args.sizes, "few": FEW, "tries": args.tries}
    print(json.dumps({**out, **on_each_database(args, heading, measured)}, indent=2))


if __name__ == "__main__":
    main()
