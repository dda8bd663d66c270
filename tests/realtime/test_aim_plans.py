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

from chinwag.realtime import aim
from chinwag.resources import TABLES
from chinwag.store.migrate import upgrade
from tests.support.plans import Recording, sqlite_plan


def test_a_users_channels_page_seeks_its_memberships_and_invites(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    upgrade(f"sqlite:///{path}")
    session: Any = SimpleNamespace(tables=TABLES)
    conn = Recording()

    async def pages() -> None:
        await aim._joined(session, conn, "US" + "1" * 32, 100)
        await aim._invited(session, conn, "US" + "1" * 32, 100, 50)

    asyncio.run(pages())
    with sqlite3.connect(path) as db:
        joined, invited = (sqlite_plan(db, statement) for statement in conn.statements)
    assert any("ix_members_user_sid_pk (user_sid=? AND pk>?)" in step for step in joined), joined
    assert any("ix_invites_user_sid_pk (user_sid=? AND pk>?)" in step for step in invited), invited
    for steps in (joined, invited):
        assert not any(step.startswith("SCAN") for step in steps), steps
        assert not any("INTEGER PRIMARY KEY" in step for step in steps), steps
