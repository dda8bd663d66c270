"""`perform`: the one way any front door runs an action of a resource.

An operation's path: [pre-event hooks, asked before any write lock is taken] -> one transaction
(locate the caller's account and the path's rows, the action with its resource's Rules,
post-events, pushes and observers' writes) -> an `Outcome` of rows. The transaction commits
before `perform` returns, so an outcome is durable; an operation that fails writes nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chinwag.context import Context, Row
from chinwag.domain import ratelimit
from chinwag.events import pre
from chinwag.model.errors import Unstorable
from chinwag.model.params import Form, parse
from chinwag.model.resource import Action, Resource, Version
from chinwag.ops.crud import ACTIONS, WRITES, Listing, Result, lost_race
from chinwag.ops.locate import Located, Principal, locate, lookup, missing, settle
from chinwag.ops.lookup import target
from chinwag.ops.permissions import authorize
from chinwag.runtime import Runtime
from chinwag.store.db import NOT_READ, Connection, Undo
from chinwag.store.errors import BatchLost, IntegrityError, Refused, RetryLater, RowGone

# A write that gave way to another writer's transaction (store/pg_writer) runs again, this often.
RETRIES = 3


log = logging.getLogger("chinwag")


@dataclass(frozen=True)
class Operation:
    """What a front door asks for, in REST's terms: an action on a path, with parameters."""

    resource: Resource
    action: Action
    version: Version
    principal: Principal
    path: str  # the REST path: "/v1/Services/IS.../Channels" (404 messages, list URLs)
    path_params: Mapping[str, str] = field(default_factory=dict)
    form: Form = field(default_factory=Form)
    base_url: str = ""
    identity: str | None = None  # the acting client (SDK) user; None for account credentials
    webhooks_enabled: bool = False  # X-Twilio-Webhook-Enabled: true (v2 REST)


@dataclass(frozen=True)
class Outcome:
    """What an operation did, as rows: each front door renders them its own way."""

    context: Context
    result: Result

    @property
    def status(self) -> int:
        return self.result.status

    @property
    def row(self) -> Row | None:
        return self.result.row

    @property
    def listing(self) -> Listing | None:
        return self.result.listing


async def open_context(
    runtime: Runtime, conn: Connection, op: Operation, found: Located | None = None
) -> Context:
    """The operation's context inside `conn`'s transaction: its account, parents and target
    located in one query (unless `found` already), or 401 / 404."""
    if found is None:
        found = await _locate(runtime, conn, op)
    return Context(
        found.account,
        op.version,
        op.resource,
        op.action,
        conn,
        runtime.tables,
        op.base_url,
        op.path,
        op.path_params,
        parents=found.parents,
        settings=runtime.settings,
        identity=op.identity,
        webhooks_enabled=op.webhooks_enabled,
        preloaded=found.target,
        observers=tuple(runtime.observers),
    )


async def _locate(runtime: Runtime, conn: Connection, op: Operation) -> Located:
    return await locate(
        conn, runtime.tables, op.principal, op.resource, op.action, op.path, op.path_params
    )


async def perform(runtime: Runtime, op: Operation) -> Outcome:
    """Run `op` in one transaction (after its pre-event hooks, if any); 4xx as `ApiError`."""
    form = op.form
    if op.action in WRITES and pre.asks_pre_event(
        runtime.settings, op.resource, op.action, op.identity is not None
    ):
        form = await _pre_event(runtime, op)
    try:
        context, result = await _transaction(runtime, op, form)
    except IntegrityError:
        raise lost_race(op.resource) from None
    except Refused as exc:
        raise unstorable(op, exc) from None
    if context.delivered_later and runtime.deliverer is not None:
        runtime.deliverer.notify()
    if op.action == "delete" and runtime.sweeper is not None:
        runtime.sweeper.notify()  # it may have left rows to sweep (a channel's messages)
    return Outcome(context, result)


def unstorable(op: Operation, refused: Refused) -> Unstorable:
    """The 400 for a value the database refused that no front door refused first; what the
    database said is logged, so the missing check can be added."""
    log.warning("the database refused a value of %s %s: %s", op.action, op.path, refused)
    return Unstorable()


async def _transaction(runtime: Runtime, op: Operation, form: Form) -> tuple[Context, Result]:
    """`op`'s one transaction, run again if it gave way to another writer's (RetryLater): then
    as the first of its writer's next batch, which waits for locks as long as it must; or if
    another transaction took its batch back (`BatchLost`): then as any other."""
    lead = False
    undo = _undo(runtime, op)
    for attempt in range(1, RETRIES + 1):
        early: list[Located] = []  # located while the writer was busy, if it was
        if op.action in WRITES:
            meanwhile = None
            if attempt == 1 and _may_locate_early(op):
                meanwhile = functools.partial(_locate_early, runtime, op, early)
            transaction = runtime.db.write(_key(op), lead, meanwhile, undo)
        else:
            transaction = runtime.db.read()
        try:
            async with transaction as conn:
                context = await open_context(runtime, conn, op, early[0] if early else None)
                await authorize(context, form)
                if op.action in WRITES and runtime.settings.rate_limits == "twilio":
                    await ratelimit.charge(context)
                return context, await ACTIONS[op.action](context, form)
        except RetryLater as exc:
            runtime.metrics.observe_retry(op.resource.name, _retry_reason(exc))
            if attempt == RETRIES:
                raise
            lead = lead or not isinstance(exc, BatchLost)
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_reason(exc: RetryLater) -> str:
    if isinstance(exc, RowGone):
        return "row_gone"
    if isinstance(exc, BatchLost):
        return "batch_lost"
    return "gave_way"


def _undo(runtime: Runtime, op: Operation) -> Undo:
    """Every operation's transaction can be run again (`_transaction`). One that refuses
    what it refuses before its first write (`Rules.create_fails_before_writing`) may also
    join its batch without a savepoint: on PostgreSQL a channel's writes take turns on its
    writer, and a savepoint is one round trip of each turn (about a tenth of a create's
    time). Not under Twilio's rate limits: a 429 is found by the statement that prunes and
    counts the bucket's actions."""
    if (
        op.action == "create"
        and op.resource.rules.create_fails_before_writing
        and runtime.settings.rate_limits != "twilio"
    ):
        return Undo.BATCH
    return Undo.RERUN


def _may_locate_early(op: Operation) -> bool:
    """Whether `op`'s path may be located while it waits for its writer's turn, on a reading
    connection: a create whose rules re-check its parent under that parent's lock
    (`Rules.create_rechecks_parent`).

    Why: on PostgreSQL a channel's writes take turns on its writer, each a chain of round
    trips (its savepoint, the locate, the counted INSERT, the Sync statement), so while the
    writer is busy the locate costs it nothing meanwhile, and one round trip less on its
    turn. What it read may be stale by the turn: the parent's delete, committed meanwhile or
    earlier in the same batch, is found by the counter's UPDATE (`RowGone`: run again and
    located on the turn, a 404); a concurrent change to the account, service or channel
    reads as though the create had come first, which, concurrent, it may have. A 401 or 404
    found early answers without taking the turn at all. Creates of one path by one account
    that wait for a reading connection together share one query (`Database.read_together`:
    many clients of one channel would otherwise take every reading connection); one whose
    turn comes before a connection is free locates on its turn: waiting longer would hold
    up the writer."""
    return op.action == "create" and op.resource.rules.create_rechecks_parent


async def _locate_early(
    runtime: Runtime, op: Operation, found: list[Located], turn: asyncio.Future[None]
) -> None:
    looked = lookup(runtime.tables, op.principal, op.resource, op.action, op.path_params)
    row = await runtime.db.read_together(looked.key, looked.row, turn)
    if row is NOT_READ:
        return
    if row is None:  # 401 or 404: which, read now
        async with runtime.db.read() as conn:
            await missing(conn, runtime.tables, looked, op.path)
    found.append(settle(looked, op.resource, row))


def _key(op: Operation) -> str | None:
    """The channel `op` writes in (or else its service): its writes share a writer
    (`store.db.write`), as SIDs or unique names, whichever the path gives."""
    params = op.path_params
    if op.resource.name == "channel" and "Sid" in params:
        return params["Sid"]
    return params.get("ChannelSid") or params.get("ServiceSid")


async def check_access(runtime: Runtime, op: Operation) -> Context:
    """401 / 404 for `op` before costly work (a media upload's body), in a short read."""
    async with runtime.db.read() as conn:
        return await open_context(runtime, conn, op)


async def _preview(call: Context, form: Form) -> dict[str, Any]:
    """The row the action would leave behind (create, update) or remove (delete)."""
    res, action = call.resource, call.action
    if action == "delete":
        return dict(await target(call))
    fields = res.writable(action, call.version)
    values = parse(fields, form, creating=action == "create", version=call.version)
    if action == "update":
        return {**(await target(call)), **values}
    preview = {**res.defaults(call), **values}
    for anc in res.ancestors:
        preview[anc.ref_column] = call.parents[anc.name]["sid"]
    return preview


async def _pre_event(runtime: Runtime, op: Operation) -> Form:
    """The form after the pre-event hooks had their say: read, then ask outside any transaction."""
    if runtime.deliverer is None:
        return op.form
    async with runtime.db.read() as conn:
        context = await open_context(runtime, conn, op)
        await authorize(context, op.form)  # a denied client action asks no hook either
        plan = pre.plan(context, await _preview(context, op.form))
    if plan is None:
        return op.form
    return await pre.ask(runtime.deliverer.client, runtime.settings, context, plan, op.form)
