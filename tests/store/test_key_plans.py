"""An account's API keys (the console's keys page, `chinwag keys list`) are read by their own
index `(account_sid, pk)`, not by reading every account's keys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from chinwag.resources import TABLES
from chinwag.store import accounts
from chinwag.store.migrate import upgrade
from tests.realtime.test_aim_plans import Recording, plan


def test_an_accounts_keys_seek_their_index(tmp_path: Path) -> None:
    path = tmp_path / "plans.db"
    upgrade(f"sqlite:///{path}")
    conn: Any = Recording()
    asyncio.run(accounts.list_keys(conn, TABLES, "AC" + "1" * 32))
    (statement,) = conn.statements
    steps = plan(path, statement)
    assert any("ix_api_keys_account_sid_pk (account_sid=?)" in step for step in steps), steps
    assert not any(step.startswith("SCAN") for step in steps), steps
