"""Reads whose plan decides whether they cost a page or the table: an account's API keys (the
console's keys page, `chinwag keys list`) by their own index `(account_sid, pk)`; the client
SDK's list of a user's channels on PostgreSQL, planned for its user."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
from sqlalchemy.dialects import postgresql

from chinwag.realtime import aim
from chinwag.resources import TABLES
from chinwag.store import accounts
from chinwag.store.migrate import upgrade
from tests.support.plans import Recording, sqlite_plan


def test_an_accounts_keys_seek_their_index(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    upgrade(f"sqlite:///{path}")
    conn: Any = Recording()
    asyncio.run(accounts.list_keys(conn, TABLES, "AC" + "1" * 32))
    (statement,) = conn.statements
    with sqlite3.connect(path) as db:
        steps = sqlite_plan(db, statement)
    assert any("ix_api_keys_account_sid_pk (account_sid=?)" in step for step in steps), steps
    assert not any(step.startswith("SCAN") for step in steps), steps


def test_a_users_channels_page_is_planned_for_its_user_on_postgresql(fresh_postgres: str) -> None:
    """Beside a user with thousands of memberships, a page of another's reads that one's own
    index range: planned for any user (a generic plan, or the user's SID in a subquery),
    PostgreSQL expected each user to hold half the memberships and read the primary key in
    order, all of them, for a user who has three."""
    upgrade(fresh_postgres)
    session: Any = SimpleNamespace(tables=TABLES)
    recorded = Recording("postgresql")

    async def page() -> list[str]:
        await aim._joined(session, recorded, "USapple", 0)
        (statement,) = recorded.statements
        sql = statement.compile(
            dialect=postgresql.dialect(), compile_kwargs={"render_postcompile": True}
        )
        conn = await asyncpg.connect(fresh_postgres)
        try:
            for statement_text in SKEWED:
                await conn.execute(statement_text)
            return [row[0] for row in await conn.fetch(f"EXPLAIN {sql}")]
        finally:
            await conn.close()

    steps = asyncio.run(page())
    assert any("ix_members_user_sid_pk" in step for step in steps), steps
    assert not any("pk_members" in step for step in steps), steps


# Three memberships of apple's and 20,000 of crowd's, each in a channel of its own, analysed.
SKEWED = [
    "INSERT INTO accounts (sid, friendly_name, auth_token, date_created)"
    " VALUES ('AC1', 'a', 't', now())",
    "INSERT INTO services (sid, account_sid, date_created) VALUES ('IS1', 'AC1', now())",
    "INSERT INTO users (sid, account_sid, service_sid, identity, date_created)"
    " VALUES ('USapple', 'AC1', 'IS1', 'apple', now()), ('UScrowd', 'AC1', 'IS1', 'crowd', now())",
    "INSERT INTO channels (sid, account_sid, service_sid, date_created)"
    " SELECT 'CH' || g, 'AC1', 'IS1', now() FROM generate_series(1, 20003) AS g",
    "INSERT INTO members (sid, account_sid, service_sid, channel_sid, identity, user_sid,"
    " date_created) SELECT 'MB' || g, 'AC1', 'IS1', 'CH' || g,"
    " CASE WHEN g <= 3 THEN 'apple' ELSE 'crowd' END,"
    " CASE WHEN g <= 3 THEN 'USapple' ELSE 'UScrowd' END, now()"
    " FROM generate_series(1, 20003) AS g",
    "ANALYZE",
]
