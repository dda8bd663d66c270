"""What the benches that call the operations layer in process share: an operation to make a
row (v2, as the account), and where their progress lines go."""

from __future__ import annotations

import sys

from chinwag.model.params import Form
from chinwag.ops.actions import Operation
from chinwag.resources import REGISTRY
from chinwag.store.accounts import Account

RESOURCES = {res.name: res for res in REGISTRY}
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def create(
    account: Account, name: str, path: str, params: dict[str, str], form: dict[str, str]
) -> Operation:
    """A v2 create of resource `name` at `path`, as the account itself."""
    return Operation(RESOURCES[name], "create", "v2", account, path, params, Form(form.items()))


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
