"""Alembic environment: runs migrations on SQLite or PostgreSQL through the async drivers."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine

from chinwag.store.db import async_url

MIGRATION_LOCK = 0x63686E77  # "chnw": several servers starting at once migrate one at a time


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        # Only autogenerate needs the declarations' tables; `migrate.config` passes them.
        target_metadata=context.config.attributes.get("target_metadata"),
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        context.run_migrations()


async def _main(url: str) -> None:
    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


asyncio.run(_main(context.config.get_main_option("sqlalchemy.url") or ""))
