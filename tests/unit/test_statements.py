"""Which statements a row inserted later may ride on (`store.statements.may_carry`), which
change nothing (`Plan.reads_only`), and SIDs that sort by when they were made
(`sids.ordered_hex`)."""

from __future__ import annotations

import re
import time
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from chinwag.resources import TABLES
from chinwag.sids import SID_RE, new_sid, ordered_hex
from chinwag.store import statements
from chinwag.store.compiled import Compiler

OUTBOX_ROW = (TABLES.outbox, {"token": "t"}, ())


def test_a_rider_never_rides_on_a_statement_that_touches_its_table() -> None:
    o, accounts, keys = TABLES.outbox, TABLES.accounts, TABLES.api_keys
    others = statements.once(("t.others",), lambda: select(func.count()).select_from(accounts))
    joined = statements.once(
        ("t.joined",),
        lambda: select(accounts.c.sid).join(o, o.c.account_sid == accounts.c.sid),
    )
    nested = statements.once(
        ("t.nested",),
        lambda: select(keys.c.sid).where(keys.c.account_sid.in_(select(o.c.account_sid))),
    )
    moved = statements.once(
        ("t.moved",),
        lambda: select(func.count()).add_cte(o.update().values(attempts=0).cte("moved")),
    )
    assert statements.may_carry(others, [OUTBOX_ROW])
    assert not statements.may_carry(joined, [OUTBOX_ROW])
    assert not statements.may_carry(nested, [OUTBOX_ROW])
    assert not statements.may_carry(moved, [OUTBOX_ROW])


def test_a_rider_never_rides_on_a_statement_built_per_call_or_on_text() -> None:
    built_now = select(func.count()).select_from(TABLES.accounts)
    assert not statements.may_carry(built_now, [OUTBOX_ROW])
    textual = statements.once(("t.text",), lambda: text("SELECT 1"))
    assert not statements.may_carry(textual, [OUTBOX_ROW])


def test_ordered_hex_sorts_by_time_and_stays_a_sid() -> None:
    first = [ordered_hex() for _ in range(100)]
    time.sleep(0.002)
    later = ordered_hex()
    assert all(value < later for value in first)
    assert len(set(first)) == 100
    assert all(re.fullmatch("[0-9a-f]{32}", value) for value in [*first, later])
    assert SID_RE.match(new_sid("IM"))


def test_only_a_plain_select_reads_only() -> None:
    """`Plan.reads_only`: what a transaction without a savepoint may have sent before it
    failed and still have changed nothing (`pg_writer`): plain SELECTs, as built or as text;
    not one carrying a row, one taking locks, or a write."""
    compiler = Compiler(PGDialect_asyncpg())
    o, accounts = TABLES.outbox, TABLES.accounts
    counted = statements.once(("t.reads",), lambda: select(func.count()).select_from(accounts))
    carried, params = statements.carrying(counted, {}, [(o, {"token": "t"}, ())])
    notify = select(func.pg_notify("chinwag_sync", "ES1"))

    def reads_only(statement: Any, params: dict[str, Any] | None = None) -> bool:
        return compiler.prepare(statement, params)[0].reads_only

    assert reads_only(counted, {})
    assert reads_only(text("SELECT count(*) FROM accounts"))
    assert reads_only(select(accounts.c.date_created).where(accounts.c.sid == "AC1"))
    assert not reads_only(carried, params)
    assert not reads_only(select(accounts.c.sid).with_for_update())
    assert not reads_only(notify)
    assert not reads_only(text("SELECT pg_advisory_xact_lock(1)"))
    assert not reads_only(accounts.update().values(friendly_name="closed"))
    assert not reads_only(text("WITH gone AS (DELETE FROM outbox) SELECT 1"))
