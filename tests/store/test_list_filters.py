"""A filtered list reads one filter's own index `(scope, column, key)` in keyset order, each
value's range merged when it has several values (`paging.Split`), where `IN` would read the
scope or the index's every row of those values; another indexed filter is matched on the rows
read, so the planner never takes its range instead."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from chinwag.model.params import Form
from chinwag.ops.actions import Operation, perform
from chinwag.runtime import Runtime
from chinwag.store import statements
from chinwag.store.accounts import Account
from tests.store.test_operations import RESOURCES, op, run
from tests.support.plans import sqlite_plan

# Each case: the filters sent, the index the page must read (by its column), merged or not.
CASES: list[tuple[list[tuple[str, str]], str, bool]] = [
    ([("BindingType", "apn"), ("BindingType", "fcm")], "binding_type", True),
    ([("Identity", "ann"), ("Identity", "bo")], "identity", True),
    ([("Identity", "ann"), ("BindingType", "apn")], "identity", False),
    ([("Identity", "ann"), ("BindingType", "apn"), ("BindingType", "fcm")], "identity", False),
    ([("Identity", "ann"), ("Identity", "bo"), ("BindingType", "apn")], "identity", True),
]


def test_sqlite_reads_the_driving_filters_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each case's page seeks one index, its driving filter's, once a value, in key order: no
    scan of the table, no sort but the merge's of the arms' few rows. An identity drives
    before a binding type (a user's bindings are few; a type's may be most of the service's)."""
    path = tmp_path / "plan.db"
    pages: list[tuple[str, bool, Any]] = []
    used: list[Any] = []
    once = statements.once

    def noted(key: tuple[Any, ...], build: Any) -> Any:
        statement = once(key, build)
        if key[0] == "page":
            used.append(statement)
        return statement

    monkeypatch.setattr(statements, "once", noted)

    async def lists(runtime: Runtime, account: Account) -> None:
        form = {"FriendlyName": "plans"}
        made = await perform(runtime, op(account, "service", "create", "/v2/Services", form=form))
        assert made.row is not None
        sid = str(made.row["sid"])
        bindings = f"/v2/Services/{sid}/Bindings"
        for pairs, column, merged in CASES:
            params = {"ServiceSid": sid}
            listing = Operation(
                RESOURCES["binding"], "list", "v2", account, bindings, params, Form(pairs)
            )
            used.clear()
            assert (await perform(runtime, listing)).listing is not None
            (statement,) = used
            pages.append((column, merged, statement))

    run(f"sqlite:///{path}", lists)
    assert len(pages) == len(CASES)
    with sqlite3.connect(path) as conn:
        for column, merged, statement in pages:
            plan = sqlite_plan(conn, statement)
            seeks = [s for s in plan if s.startswith("SEARCH bindings")]
            assert len(seeks) == (2 if merged else 1), plan
            assert all(f"ix_bindings_service_sid_{column}_pk" in s for s in seeks), plan
            assert not [s for s in plan if s.startswith("SCAN bindings")], plan
            for i, step in enumerate(plan):  # a sort only of what an arm gave the merge
                if step.startswith("USE TEMP B-TREE"):
                    assert merged, plan
                    assert plan[i - 1].startswith("SCAN anon_"), plan
