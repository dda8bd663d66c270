"""The check every client action passes: its resource declares the permissions it needs
(`Rules.client_permissions`), the user's roles are read at that moment (domain/permissions.py).

Only operations with an acting `identity` (the client SDK) are judged; account credentials act
as the app's backend and may do anything.
"""

from __future__ import annotations

from typing import Any

from chinwag.context import Context, Row
from chinwag.domain.permissions import denied, judge, standing
from chinwag.model.params import Form, parse
from chinwag.ops.lookup import target

ON_A_ROW = frozenset({"fetch", "update", "delete"})


async def authorize(call: Context, form: Form) -> None:
    """403 (50107) when the client's roles lack a permission the action needs, 404 (50300)
    when it concerns a private channel the client is neither a member of nor invited to."""
    if call.identity is None:
        return
    res, action = call.resource, call.action
    row: Row | None = await target(call) if action in ON_A_ROW else None
    values: dict[str, Any] = {}
    if action in ("create", "update"):
        fields = res.writable(action, call.version)
        values = parse(fields, form, creating=action == "create", version=call.version)
    needed = res.rules.client_permissions(call, row, values)
    channel = await res.rules.client_channel(call, row)
    if channel is None or channel["type"] != "private":
        if needed == ():
            return  # nothing to read: no permission needed, nothing hidden
        if needed is None:
            raise denied()
    service_sid = call.parent("service")["sid"]
    mine = await standing(call.conn, call.tables, service_sid, call.identity, channel)
    error = judge(needed, mine, channel["type"] if channel is not None else None)
    if error is not None:
        raise error
