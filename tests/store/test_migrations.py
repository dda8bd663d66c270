"""Migrations build exactly the schema the declarations describe, on both databases."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from chinwag.resources import TABLES
from chinwag.store.db import async_url
from chinwag.store.migrate import upgrade


def _differences(url: str) -> list[object]:
    def compare(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), TABLES.metadata))

    async def run() -> list[object]:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_migrations_match_the_declarations(fresh_database: str) -> None:
    """After `upgrade head` the database has every table, column and index declared, no more."""
    upgrade(fresh_database)
    assert _differences(fresh_database) == []


def test_upgrade_is_idempotent(fresh_database: str, tmp_path: Path) -> None:
    """Applying migrations twice (every server start does) changes nothing."""
    upgrade(fresh_database)
    upgrade(fresh_database)
    assert _differences(fresh_database) == []
