"""The context of one API call: who asks, in which version, inside which transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from starlette.requests import Request

from chinwag.api.errors import NotFound
from chinwag.api.resource import Action, Resource, Version
from chinwag.store.accounts import Account
from chinwag.store.db import Connection
from chinwag.store.tables import Tables

Row: TypeAlias = Mapping[Any, Any]  # one row of a resource's table, by column name


@dataclass
class Call:
    request: Request
    account: Account
    version: Version
    resource: Resource
    action: Action
    conn: Connection
    tables: Tables
    base_url: str  # scheme://host[:port], no trailing slash
    parents: dict[str, Row] = field(default_factory=dict)  # resolved path resources, by name
    settings: Any = None
    webhooks_enabled: bool = False  # X-Twilio-Webhook-Enabled: true on a v2 REST call
    delivered_later: bool = False  # the action enqueued deliveries: wake the deliverer
    preloaded: Row | None = None  # the target row, when the request's first query found it

    def parent(self, name: str) -> Row:
        return self.parents[name]

    def not_found(self) -> NotFound:
        """404 naming the requested path, as Twilio's message does."""
        return NotFound.of_path(self.request.url.path)
