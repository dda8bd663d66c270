"""What every request shares: settings, the database and its tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from chinwag.metrics import Metrics
from chinwag.settings import Settings
from chinwag.store.db import Database
from chinwag.store.tables import Tables

if TYPE_CHECKING:
    from chinwag.events.delivery import Deliverer


@dataclass
class Runtime:
    settings: Settings
    db: Database
    tables: Tables
    deliverer: Deliverer | None = None  # set while the app runs
    metrics: Metrics = field(default_factory=Metrics)

    def base_url(self, request: Request) -> str:
        """The root of every `url` we emit: --public-url, else the request's own scheme and host."""
        if self.settings.public_url:
            return self.settings.public_url.rstrip("/")
        host = request.headers.get("host") or f"{self.settings.host}:{self.settings.port}"
        return f"{request.url.scheme}://{host}"
