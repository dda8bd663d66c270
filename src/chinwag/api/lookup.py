"""Finding rows a path names, always within what the caller's account may reach."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Table, false, or_, select

from chinwag.api.call import Call, Row
from chinwag.api.resource import Resource
from chinwag.sids import is_sid


def table(call: Call, res: Resource | None = None) -> Table:
    return call.tables.of(res or call.resource)


def scope(call: Call, res: Resource, t: Table) -> ColumnElement[bool]:
    """Rows of `res` that the call's path can reach: its parent's, or the account's."""
    if res.parent is None:
        column: ColumnElement[str] = t.c.account_sid
        return column == call.account.sid
    column = t.c[res.parent.ref_column]
    match: ColumnElement[bool] = column == call.parents[res.parent.name]["sid"]
    return match


async def find(call: Call, res: Resource, ident: str) -> Row:
    """A row of `res` by SID, or by a lookup column (unique name, identity) where allowed."""
    t = table(call, res)
    if is_sid(ident, res.sid_prefix):
        match: ColumnElement[bool] = t.c.sid == ident
    elif res.lookup and call.version in res.lookup_versions:
        match = or_(*(t.c[col] == ident for col in res.lookup))
    else:
        match = false()
    query = select(t).where(scope(call, res, t), match).limit(1)
    row = (await call.conn.execute(query)).mappings().first()
    if row is None:
        raise call.not_found()
    return row


async def resolve_parents(call: Call) -> None:
    params = call.request.path_params
    for anc in call.resource.ancestors:
        call.parents[anc.name] = await find(call, anc, params[anc.ref_param])


async def target(call: Call) -> Row:
    res = call.resource
    ident = call.request.path_params[res.instance_param]
    return await res.rules.find(call, ident) or await find(call, res, ident)
