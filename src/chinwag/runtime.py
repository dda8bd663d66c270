"""What every operation shares: settings, the database and its tables, the background workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chinwag.context import WriteObserver
from chinwag.metrics import Metrics
from chinwag.settings import Settings
from chinwag.store.db import Database
from chinwag.store.tables import Tables

if TYPE_CHECKING:
    from chinwag.events.delivery import Deliverer
    from chinwag.store.sweeper import Sweeper


@dataclass
class Runtime:
    settings: Settings
    db: Database
    tables: Tables
    deliverer: Deliverer | None = None  # set while the app runs
    sweeper: Sweeper | None = None  # set while the app runs
    metrics: Metrics = field(default_factory=Metrics)
    observers: list[WriteObserver] = field(default_factory=list)  # see context.WriteObserver
