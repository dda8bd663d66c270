"""Schema migrations (Alembic), applied at start and by `chinwag migrate`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

MIGRATIONS = Path(__file__).parent / "migrations"


def config(url: str, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration; `metadata` (the declarations' tables) for autogenerate only."""
    cfg = Config()
    cfg.attributes["target_metadata"] = metadata
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Apply every pending migration to the database at `url`. Blocking: call it off the loop."""
    command.upgrade(config(url), "head")
