"""One query for what every request needs first: the caller's account, the resources its path
names above the target, and (for fetch, update, delete) the target itself.

Each statement is built once per shape (resource, version, kind of credentials, SID or name at
each level) with bound parameters, so a request only executes it. A row means the path exists
in the account the credentials name; the credentials are then checked in Python. No row means
either bad credentials or a missing resource: a second, rare query tells 401 from 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from sqlalchemy import ColumnElement, Select, Table, bindparam, false, or_, select

from chinwag.context import Row
from chinwag.model.errors import UNAUTHORIZED, NotFound
from chinwag.model.resource import Action, Resource, Rules
from chinwag.sids import is_sid
from chinwag.store.accounts import Account, authenticate, verify
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

TARGETED: frozenset[Action] = frozenset({"fetch", "update", "delete"})


@dataclass(frozen=True)
class Credentials:
    """What a caller presents: an account SID and auth token, or an API key SID and secret."""

    username: str
    password: str


# Who asks: credentials still to be checked, or an account a front door already verified
# (the client SDK's access token names its account).
Principal = Credentials | Account


@dataclass(frozen=True)
class Located:
    account: Account
    parents: dict[str, Row]
    target: Row | None  # preloaded for fetch/update/delete of a resource found by SID or name


def how_named(res: Resource, ident: str) -> str:
    """How `ident` names a row of `res`: by "sid", by a lookup "name", or "none" can match."""
    if is_sid(ident, res.sid_prefix):
        return "sid"
    if "\x00" not in ident and res.lookup:
        return "name"
    return "none"  # no stored name has a NUL, and PostgreSQL refuses one as text


def named(res: Resource, t: Table, how: str, value: Any) -> ColumnElement[bool]:
    """`t`'s row that `value` (a bound parameter, or the name itself) names, as `how` says."""
    if how == "sid":
        match: ColumnElement[bool] = t.c.sid == value
        return match
    if how == "name":
        return or_(*(t.c[col] == value for col in res.lookup))
    return false()


# Each resource's columns in the joined row: (label, column) pairs, resource by resource.
Split = tuple[tuple[tuple[str, str], ...], ...]
_STATEMENTS: dict[
    tuple[int, tuple[str, ...], tuple[str, ...], bool], tuple[Select[Any], Split]
] = {}


def _statement(
    tables: Tables, chain: tuple[Resource, ...], hows: tuple[str, ...], by_key: bool
) -> tuple[Select[Any], Split]:
    """The statement of one shape, built on first use (there are a few dozen shapes), and how
    its row splits into the rows of the path's resources."""
    key = (id(tables), tuple(r.name for r in chain), hows, by_key)
    if key not in _STATEMENTS:
        split = tuple(
            tuple((f"r{i}_{c.name}", c.name) for c in tables.of(r).c) for i, r in enumerate(chain)
        )
        _STATEMENTS[key] = (_build(tables, chain, hows, by_key), split)
    return _STATEMENTS[key]


def _build(
    tables: Tables, chain: tuple[Resource, ...], hows: tuple[str, ...], by_key: bool
) -> Select[Any]:
    """accounts (via api_keys for an SK) joined to each resource of `chain`, each named by a
    bound parameter `n<i>` the way `hows[i]` says."""
    a = tables.accounts
    columns: list[Any] = [a.c.sid.label("a_sid"), a.c.friendly_name.label("a_name")]
    columns.append(a.c.auth_token.label("a_token"))
    conditions: list[ColumnElement[bool]] = []
    if by_key:
        k = tables.api_keys
        columns += [k.c.salt.label("k_salt"), k.c.secret_hash.label("k_hash")]
        conditions += [k.c.sid == bindparam("user"), a.c.sid == k.c.account_sid]
    else:
        conditions.append(a.c.sid == bindparam("user"))
    previous: Table | None = None
    for i, (res, how) in enumerate(zip(chain, hows, strict=True)):
        t = tables.of(res)
        if previous is None or res.parent is None:  # the top of the path: the account owns it
            conditions.append(t.c.account_sid == a.c.sid)
        else:
            conditions.append(t.c[res.parent.ref_column] == previous.c.sid)
        conditions.append(named(res, t, how, bindparam(f"n{i}")))
        columns += [c.label(f"r{i}_{c.name}") for c in t.c]
        previous = t
    return select(*columns).where(*conditions).limit(1)


@dataclass(frozen=True)
class Lookup:
    """One request's locate before its query runs: the statement of its shape, its values and
    how its row splits, with the credentials to check against that row."""

    query: Select[Any]
    values: dict[str, str]
    split: Split
    with_target: bool
    by_key: bool
    username: str
    password: str | None  # None: the front door verified the account already

    @property
    def key(self) -> tuple[object, ...]:
        """What the row depends on (not the password): lookups of one key read the same row."""
        return (id(self.query), *self.values.values())

    async def row(self, conn: Connection) -> dict[str, Any] | None:
        row: dict[str, Any] | None = (
            (await conn.execute(self.query, self.values)).mappings().first()
        )
        return row


def lookup(
    tables: Tables,
    principal: Principal,
    res: Resource,
    action: Action,
    path_params: Mapping[str, str],
) -> Lookup:
    """The locate of `res`'s path for `action`, or 401 for a user that names no account."""
    password: str | None = None
    if isinstance(principal, Account):
        username = principal.sid
    else:
        username, password = principal.username, principal.password
    by_key = is_sid(username, "SK")
    if not by_key and not is_sid(username, "AC"):
        raise UNAUTHORIZED
    chain = list(res.ancestors)
    idents = [path_params[anc.ref_param] for anc in chain]
    # The target joins in too, unless its rules find it their own way (user channels).
    own_find = type(res.rules).find is not Rules.find
    with_target = action in TARGETED and res.has_table and not own_find
    if with_target:
        chain.append(res)
        idents.append(path_params[res.instance_param])
    hows = tuple(how_named(r, ident) for r, ident in zip(chain, idents, strict=True))
    query, split = _statement(tables, tuple(chain), hows, by_key)
    values = {"user": username, **{f"n{i}": ident for i, ident in enumerate(idents)}}
    return Lookup(query, values, split, with_target, by_key, username, password)


async def missing(conn: Connection, tables: Tables, looked: Lookup, path: str) -> NoReturn:
    """No row for `looked`: bad credentials (401) or a missing resource (404), read in `conn`."""
    password = looked.password
    if password is not None and await authenticate(conn, tables, looked.username, password) is None:
        raise UNAUTHORIZED
    raise NotFound.of_path(path)


def settle(looked: Lookup, res: Resource, row: Mapping[str, Any]) -> Located:
    """The caller's account and the path's rows from `looked`'s row, or 401."""
    salt, digest = (row["k_salt"], row["k_hash"]) if looked.by_key else (None, None)
    if looked.password is not None and not verify(looked.password, row["a_token"], salt, digest):
        raise UNAUTHORIZED
    account = Account(row["a_sid"], row["a_name"], row["a_token"])
    # Rows of their own: one row read may settle the lookups of several requests.
    rows: list[Row] = [{name: row[label] for label, name in columns} for columns in looked.split]
    target = rows.pop() if looked.with_target else None
    parents = {anc.name: r for anc, r in zip(res.ancestors, rows, strict=True)}
    return Located(account, parents, target)


async def locate(
    conn: Connection,
    tables: Tables,
    principal: Principal,
    res: Resource,
    action: Action,
    path: str,
    path_params: Mapping[str, str],
) -> Located:
    """The caller's account and the path's rows, or 401 / 404."""
    looked = lookup(tables, principal, res, action, path_params)
    row = await looked.row(conn)
    if row is None:
        await missing(conn, tables, looked, path)
    return settle(looked, res, row)
