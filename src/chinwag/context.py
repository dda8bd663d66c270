"""The context of one operation: who acts, in which version, on what, inside which transaction.

Every front door (REST, the client SDK's WebSocket, the console) builds its operations through
`ops.actions.perform`, which makes one of these; resources' Rules and the events take it.
Nothing here knows which front door asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from chinwag.model.errors import NotFound
from chinwag.model.resource import Action, Resource, Version
from chinwag.settings import Settings
from chinwag.store.accounts import Account
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

Row: TypeAlias = Mapping[Any, Any]  # one row of a resource's table, by column name


@dataclass
class Context:
    account: Account
    version: Version
    resource: Resource
    action: Action
    conn: Connection
    tables: Tables
    base_url: str  # scheme://host[:port] of every `url` rendered, no trailing slash
    path: str  # the REST path the operation answers: "/v1/Services/IS.../Channels"
    path_params: Mapping[str, str] = field(default_factory=dict)
    parents: dict[str, Row] = field(default_factory=dict)  # resolved path resources, by name
    settings: Settings | None = None
    identity: str | None = None  # the acting client (SDK) user; None with account credentials
    webhooks_enabled: bool = False  # X-Twilio-Webhook-Enabled: true on a v2 REST call
    delivered_later: bool = False  # the action enqueued deliveries: wake the deliverer
    preloaded: Row | None = None  # the target row, when the operation's first query found it
    observers: Sequence[WriteObserver] = ()  # called in the transaction after every write

    @property
    def source(self) -> str:
        """Twilio's webhook `Source`: "SDK" for a client's action, "API" for REST."""
        return "API" if self.identity is None else "SDK"

    def parent(self, name: str) -> Row:
        return self.parents[name]

    def not_found(self) -> NotFound:
        """404 naming the operation's path, as Twilio's message does."""
        return NotFound.of_path(self.path)


# Code that must write in the same transaction as every change (the real-time engine's Sync
# objects): called with the row before and after the action (None on create / delete).
WriteObserver: TypeAlias = Callable[[Context, Row | None, Row | None], Awaitable[None]]
