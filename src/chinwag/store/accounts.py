"""Accounts and API keys: creation, listing and the credential check of every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from chinwag import times
from chinwag.sids import is_sid, new_sid
from chinwag.store import statements
from chinwag.store.db import Connection
from chinwag.store.tables import Tables


@dataclass(frozen=True)
class Account:
    sid: str
    friendly_name: str
    auth_token: str  # kept: it signs webhooks; never logged


@dataclass(frozen=True)
class ApiKey:
    sid: str
    account_sid: str
    friendly_name: str
    secret: str | None = None  # only when just created
    can_sign: bool = True  # False for keys made before chinwag kept secrets readable


def _hash(salt: bytes, secret: str) -> bytes:
    # Secrets are 32 random characters, so a keyed fast hash is enough and keeps auth cheap.
    return hmac.new(salt, secret.encode(), hashlib.sha256).digest()


def new_token() -> str:
    return secrets.token_hex(16)


async def create_account(
    conn: Connection,
    tables: Tables,
    friendly_name: str = "chinwag",
    sid: str | None = None,
    token: str | None = None,
) -> Account:
    account = Account(sid or new_sid("AC"), friendly_name, token or new_token())
    await conn.execute(
        tables.accounts.insert().values(
            sid=account.sid,
            friendly_name=account.friendly_name,
            auth_token=account.auth_token,
            date_created=times.now(),
        )
    )
    return account


async def ensure_account(conn: Connection, tables: Tables, sid: str, token: str) -> Account:
    """The account given by TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN exists with that token."""
    if not is_sid(sid, "AC"):
        raise ValueError(f"{sid!r} is not an account SID (AC followed by 32 hex digits)")
    found = await get_account(conn, tables, sid)
    if found is None:
        return await create_account(conn, tables, sid=sid, token=token)
    if found.auth_token != token:
        t = tables.accounts
        await conn.execute(t.update().where(t.c.sid == sid).values(auth_token=token))
    return Account(sid, found.friendly_name, token)


async def get_account(conn: Connection, tables: Tables, sid: str) -> Account | None:
    t = tables.accounts
    query = statements.once(
        ("accounts.by_sid", id(t)), lambda: select(t).where(t.c.sid == bindparam("w_sid"))
    )
    row = (await conn.execute(query, {"w_sid": sid})).mappings().first()
    return Account(row["sid"], row["friendly_name"], row["auth_token"]) if row else None


async def list_accounts(conn: Connection, tables: Tables) -> list[Account]:
    t = tables.accounts
    rows = (await conn.execute(select(t).order_by(t.c.pk))).mappings()
    return [Account(r["sid"], r["friendly_name"], r["auth_token"]) for r in rows]


async def create_key(
    conn: Connection, tables: Tables, account_sid: str, friendly_name: str = ""
) -> ApiKey:
    secret = secrets.token_urlsafe(24)  # 32 characters
    salt = secrets.token_bytes(16)
    key = ApiKey(new_sid("SK"), account_sid, friendly_name, secret)
    await conn.execute(
        tables.api_keys.insert().values(
            sid=key.sid,
            account_sid=account_sid,
            friendly_name=friendly_name,
            salt=salt,
            secret_hash=_hash(salt, secret),
            secret=secret,
            date_created=times.now(),
        )
    )
    return key


async def lock(conn: Connection, tables: Tables, account_sid: str) -> None:
    """Hold the account's row until the transaction ends, so that processes making the same
    thing for one account (the demo's key) take turns: on PostgreSQL a row lock; on SQLite a
    write transaction already holds the whole database."""
    t = tables.accounts
    await conn.execute(select(t.c.sid).where(t.c.sid == account_sid).with_for_update())


async def list_keys(
    conn: Connection, tables: Tables, account_sid: str | None = None
) -> list[ApiKey]:
    t = tables.api_keys
    query = select(t).order_by(t.c.pk)
    if account_sid:
        query = query.where(t.c.account_sid == account_sid)
    rows = (await conn.execute(query)).mappings()
    return [
        ApiKey(r["sid"], r["account_sid"], r["friendly_name"], can_sign=r["secret"] is not None)
        for r in rows
    ]


async def signing_secret(conn: Connection, tables: Tables, key_sid: str) -> tuple[str, str] | None:
    """(account SID, secret) of the API key that signs access tokens; None if it cannot."""
    t = tables.api_keys
    query = select(t.c.account_sid, t.c.secret).where(t.c.sid == key_sid)
    row = (await conn.execute(query)).first()
    if row is None or row.secret is None:
        return None
    return str(row.account_sid), str(row.secret)


async def delete_key(
    conn: Connection, tables: Tables, sid: str, account_sid: str | None = None
) -> bool:
    """Delete a key (only if it is `account_sid`'s, when given); whether one was deleted."""
    t = tables.api_keys
    query = t.delete().where(t.c.sid == sid)
    if account_sid is not None:
        query = query.where(t.c.account_sid == account_sid)
    result = await conn.execute(query)
    return bool(result.rowcount)


def verify(password: str, auth_token: str, salt: bytes | None, secret_hash: bytes | None) -> bool:
    """Whether `password` is the account's auth token, or (given its salt) the API key's secret."""
    if salt is None or secret_hash is None:
        return hmac.compare_digest(auth_token.encode(), password.encode())
    return hmac.compare_digest(secret_hash, _hash(salt, password))


async def authenticate(
    conn: Connection, tables: Tables, username: str, password: str
) -> Account | None:
    """The account that `username:password` (AC + auth token, or SK + secret) belongs to."""
    if is_sid(username, "AC"):
        account = await get_account(conn, tables, username)
        if account and hmac.compare_digest(account.auth_token.encode(), password.encode()):
            return account
        return None
    if is_sid(username, "SK"):
        k, a = tables.api_keys, tables.accounts
        query = select(k.c.salt, k.c.secret_hash, a).join(a, a.c.sid == k.c.account_sid)
        row = (await conn.execute(query.where(k.c.sid == username))).mappings().first()
        if row and hmac.compare_digest(row["secret_hash"], _hash(row["salt"], password)):
            return Account(row["sid"], row["friendly_name"], row["auth_token"])
    return None
