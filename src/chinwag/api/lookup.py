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
    query = select(t).where(scope(call, res, t), _names(call, res, t, ident)).limit(1)
    row = (await call.conn.execute(query)).mappings().first()
    if row is None:
        raise call.not_found()
    return row


def _names(call: Call, res: Resource, t: Table, ident: str) -> ColumnElement[bool]:
    """`t`'s row that `ident` names: its SID, or a lookup column where the version allows."""
    if is_sid(ident, res.sid_prefix):
        match: ColumnElement[bool] = t.c.sid == ident
        return match
    if "\x00" in ident:  # no stored name has one, and PostgreSQL refuses it as text
        return false()
    if res.lookup and call.version in res.lookup_versions:
        return or_(*(t.c[col] == ident for col in res.lookup))
    return false()


async def resolve_parents(call: Call) -> None:
    """Every resource the path names above the target, in one query, or 404."""
    chain = call.resource.ancestors
    if not chain:
        return
    params = call.request.path_params
    tables = [table(call, anc) for anc in chain]
    conditions = [tables[0].c.account_sid == call.account.sid]
    for i, (anc, t) in enumerate(zip(chain, tables, strict=True)):
        if i:
            conditions.append(t.c[chain[i - 1].ref_column] == tables[i - 1].c.sid)
        conditions.append(_names(call, anc, t, params[anc.ref_param]))
    columns = [c.label(f"p{i}_{c.name}") for i, t in enumerate(tables) for c in t.c]
    query = select(*columns).where(*conditions).limit(1)
    row = (await call.conn.execute(query)).mappings().first()
    if row is None:
        raise call.not_found()
    for i, (anc, t) in enumerate(zip(chain, tables, strict=True)):
        call.parents[anc.name] = {c.name: row[f"p{i}_{c.name}"] for c in t.c}


async def target(call: Call) -> Row:
    if call.preloaded is not None:
        return call.preloaded
    res = call.resource
    ident = call.request.path_params[res.instance_param]
    return await res.rules.find(call, ident) or await find(call, res, ident)
