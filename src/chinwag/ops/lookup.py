"""Finding rows a path names, always within what the caller's account may reach."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, select

from chinwag.context import Context, Row
from chinwag.model.resource import Resource
from chinwag.ops.locate import how_named, named


def table(call: Context, res: Resource | None = None) -> Table:
    return call.tables.of(res or call.resource)


def scope_column(res: Resource, t: Table) -> ColumnElement[str]:
    """The column of `res`'s table `t` that ties a row to what owns it: its parent, or the
    account (see `scope_sid`)."""
    column: ColumnElement[str] = (
        t.c.account_sid if res.parent is None else t.c[res.parent.ref_column]
    )
    return column


def scope_sid(call: Context, res: Resource) -> str:
    """What owns the rows of `res` the call's path can reach: its parent's SID, or the
    account's."""
    if res.parent is None:
        return call.account.sid
    return str(call.parents[res.parent.name]["sid"])


def scope(call: Context, res: Resource, t: Table) -> ColumnElement[bool]:
    """Rows of `res` that the call's path can reach: its parent's, or the account's."""
    match: ColumnElement[bool] = scope_column(res, t) == scope_sid(call, res)
    return match


async def find(call: Context, res: Resource, ident: str) -> Row:
    """A row of `res` by SID, or by a lookup column (unique name, identity) where allowed."""
    t = table(call, res)
    match = named(res, t, how_named(res, ident), ident)
    query = select(t).where(scope(call, res, t), match).limit(1)
    row = (await call.conn.execute(query)).mappings().first()
    if row is None:
        raise call.not_found()
    return row


async def target(call: Context) -> Row:
    if call.preloaded is not None:
        return call.preloaded
    res = call.resource
    ident = call.path_params[res.instance_param]
    return await res.rules.find(call, ident) or await find(call, res, ident)
