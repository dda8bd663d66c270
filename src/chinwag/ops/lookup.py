"""Finding rows a path names, always within what the caller's account may reach."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, select

from chinwag.context import Context, Row
from chinwag.model.resource import Resource
from chinwag.ops.locate import how_named, named


def table(call: Context, res: Resource | None = None) -> Table:
    return call.tables.of(res or call.resource)


def scope(call: Context, res: Resource, t: Table) -> ColumnElement[bool]:
    """Rows of `res` that the call's path can reach: its parent's, or the account's."""
    if res.parent is None:
        column: ColumnElement[str] = t.c.account_sid
        return column == call.account.sid
    column = t.c[res.parent.ref_column]
    match: ColumnElement[bool] = column == call.parents[res.parent.name]["sid"]
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
