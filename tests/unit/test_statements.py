"""Which statements a row inserted later may ride on (`store.statements.may_carry`), and SIDs
that sort by when they were made (`sids.ordered_hex`)."""

from __future__ import annotations

import re
import time

from sqlalchemy import func, select, text

from chinwag.resources import TABLES
from chinwag.sids import SID_RE, new_sid, ordered_hex
from chinwag.store import statements

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
