"""A list filter with several values of an indexed column reads each value's range of that
index in keyset order and merges them (`paging.Split`), where `IN` would read the scope."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.dialects import sqlite

from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.ops.paging import Split
from chinwag.runtime import Runtime
from chinwag.store import statements
from chinwag.store.accounts import Account
from tests.store.test_operations import RESOURCES, op, run


def test_sqlite_reads_each_values_range_of_its_index(tmp_path: Path) -> None:
    """BindingType=apn&BindingType=fcm and two identities: each arm of the merged page seeks
    its index, `(service_sid, binding_type, pk)` or `(service_sid, identity, pk)`, and reads it
    in key order (no sort of the arm, no scan of the table)."""
    path = tmp_path / "plan.db"
    filters = {
        "binding_type": [("BindingType", "apn"), ("BindingType", "fcm")],
        "identity": [("Identity", "ann"), ("Identity", "bo")],
    }

    async def lists(runtime: Runtime, account: Account) -> None:
        form = {"FriendlyName": "plans"}
        made = await perform(runtime, op(account, "service", "create", "/v2/Services", form=form))
        assert made.row is not None
        sid = str(made.row["sid"])
        bindings = f"/v2/Services/{sid}/Bindings"
        for pairs in filters.values():
            params = {"ServiceSid": sid}
            listing = Operation(
                RESOURCES["binding"], "list", "v2", account, bindings, params, Form(pairs)
            )
            assert (await perform(runtime, listing)).listing is not None

    run(f"sqlite:///{path}", lists)
    built = {
        key[2].column: statement
        for key, statement in statements._BUILT.items()
        if key[0] == "page" and key[1][:2] == ("list", "binding") and isinstance(key[2], Split)
    }
    assert set(built) == set(filters)
    with sqlite3.connect(path) as conn:
        for column, statement in built.items():
            compiled = statement.compile(dialect=sqlite.dialect())
            values = [None] * len(compiled.positiontup or [])
            plan = [r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + str(compiled), values)]
            seeks = [s for s in plan if s.startswith("SEARCH bindings")]
            assert len(seeks) == 2, plan
            assert all(f"ix_bindings_service_sid_{column}_pk" in s for s in seeks), plan
            assert not [s for s in plan if s.startswith("SCAN bindings")], plan
            # Each arm's rows come in key order from its index: the only sorts are the
            # merge's, of the arms' few rows (after each arm's `SCAN anon_N`).
            for i, step in enumerate(plan):
                if step.startswith("USE TEMP B-TREE"):
                    assert plan[i - 1].startswith("SCAN anon_"), plan
