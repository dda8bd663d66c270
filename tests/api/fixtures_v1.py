"""Helpers shared by the Chat v1 data-plane tests (users, channels, members, messages, invites).

Plain functions rather than fixtures: each test module declares the few fixtures it needs with
these, so no fixture is imported by name (which linters read as a redefinition).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.support.errors import list_rejected, rejected
from tests.support.servers import Server

__all__ = ["UNKNOWN", "list_rejected", "new_role", "rejected"]

UNKNOWN = {
    "US": "US" + "0" * 32,
    "CH": "CH" + "0" * 32,
    "MB": "MB" + "0" * 32,
    "IM": "IM" + "0" * 32,
    "IN": "IN" + "0" * 32,
    "RL": "RL" + "0" * 32,
}


def new_role(svc: Any, role_type: str, unique: Callable[[str], str]) -> str:
    """A new role of `role_type` ("channel" or "deployment") in the service; its SID."""
    permission = "createChannel" if role_type == "deployment" else "sendMessage"
    role = svc.roles.create(
        friendly_name=unique(role_type), type=role_type, permission=[permission]
    )
    return str(role.sid)


def new_channel(svc: Any, unique: Callable[[str], str], **params: Any) -> Any:
    """A new channel of the service (public unless `type` says otherwise)."""
    params.setdefault("friendly_name", unique("room"))
    return svc.channels.create(**params)


def auth(server: Server) -> tuple[str, str]:
    """Basic auth of the server's account, for raw `requests`."""
    return (server.account_sid, server.auth_token)
