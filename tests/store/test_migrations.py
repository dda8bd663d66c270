"""Migrations build exactly the schema the declarations describe, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from chinwag.resources import TABLES
from chinwag.store.db import async_url
from chinwag.store.migrate import config, upgrade


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


def test_messages_survive_the_upgrade_that_stops_their_cascade(fresh_database: str) -> None:
    """0011 drops the messages' foreign key to their channel (SQLite copies the table for it):
    the rows and their unique `(channel_sid, index)` come through, and deleting a channel no
    longer deletes its messages in the same statement (the sweeper does, later)."""
    command.upgrade(config(fresh_database), "0010")
    ids = {
        "a": "AC" + "1" * 32,
        "s": "IS" + "1" * 32,
        "c": "CH" + "1" * 32,
        "now": datetime.now(UTC),
    }
    message = text(
        'INSERT INTO messages (sid, account_sid, service_sid, channel_sid, "index", date_created)'
        " VALUES (:m, :a, :s, :c, :n, :now)"
    )

    def rows(conn: Connection) -> None:
        for statement in (
            "INSERT INTO accounts (sid, friendly_name, auth_token, date_created)"
            " VALUES (:a, 'a', 't', :now)",
            "INSERT INTO services (sid, account_sid, date_created) VALUES (:s, :a, :now)",
            "INSERT INTO channels (sid, account_sid, service_sid, date_created)"
            " VALUES (:c, :a, :s, :now)",
        ):
            conn.execute(text(statement), ids)
        for n in range(3):
            conn.execute(message, {**ids, "m": f"IM{n:032d}", "n": n})

    _on(fresh_database, rows)
    upgrade(fresh_database)
    assert _differences(fresh_database) == []

    def after(conn: Connection) -> None:
        conn.execute(text("DELETE FROM channels WHERE sid = :c"), ids)
        found = conn.execute(text('SELECT "index" FROM messages ORDER BY "index"')).all()
        assert [row[0] for row in found] == [0, 1, 2]
        with pytest.raises(IntegrityError):  # still unique per channel
            conn.execute(message, {**ids, "m": "IM9", "n": 1})

    _on(fresh_database, after)


def test_the_outbox_loses_its_unread_index_and_may_get_it_back(fresh_database: str) -> None:
    """0013 drops `ix_outbox_active_due` (no query reads it); its downgrade makes it again, and
    the upgrade after that leaves the declared schema."""
    names: list[set[str]] = []

    def indexes(conn: Connection) -> None:
        names.append({ix["name"] for ix in inspect(conn).get_indexes("outbox")})

    upgrade(fresh_database)
    _on(fresh_database, indexes)
    command.downgrade(config(fresh_database), "0012")
    _on(fresh_database, indexes)
    upgrade(fresh_database)
    _on(fresh_database, indexes)
    assert ["ix_outbox_active_due" in found for found in names] == [False, True, False]
    assert "ix_outbox_active_queue" in names[0]
    assert _differences(fresh_database) == []


def _on(url: str, action: Callable[[Connection], None]) -> None:
    """Run `action` in one transaction on `url`, foreign keys enforced on SQLite as served."""

    async def run() -> None:
        engine = create_async_engine(async_url(url))
        try:
            async with engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.run_sync(action)
        finally:
            await engine.dispose()

    asyncio.run(run())
