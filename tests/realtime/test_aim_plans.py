"""The SDK's list of a user's channels (`getUserChannelDescriptors`, the `my_conversations`
link) reads the user's memberships and invites by their own index `(user_sid, pk)`: by service
and identity, which no index has, SQLite read every membership of every account from the
page's position."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy.dialects import sqlite

from chinwag.realtime import aim
from chinwag.resources import TABLES
from chinwag.store.migrate import upgrade


class Recording:
    """A connection that notes each statement and finds nothing."""

    def __init__(self, dialect: str = "sqlite") -> None:
        self.statements: list[Any] = []
        self.dialect = SimpleNamespace(name=dialect)

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.statements.append(statement)
        return SimpleNamespace(all=list, mappings=list)


def plan(path: Path, statement: Any) -> list[str]:
    sql = statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    with sqlite3.connect(path) as conn:
        return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]


def test_a_users_channels_page_seeks_its_memberships_and_invites(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    upgrade(f"sqlite:///{path}")
    session: Any = SimpleNamespace(tables=TABLES)
    conn = Recording()

    async def pages() -> None:
        await aim._joined(session, conn, "US" + "1" * 32, 100)
        await aim._invited(session, conn, "US" + "1" * 32, 100, 50)

    asyncio.run(pages())
    joined, invited = (plan(path, statement) for statement in conn.statements)
    assert any("ix_members_user_sid_pk (user_sid=? AND pk>?)" in step for step in joined), joined
    assert any("ix_invites_user_sid_pk (user_sid=? AND pk>?)" in step for step in invited), invited
    for steps in (joined, invited):
        assert not any(step.startswith("SCAN") for step in steps), steps
        assert not any("INTEGER PRIMARY KEY" in step for step in steps), steps
