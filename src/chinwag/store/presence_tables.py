"""The real-time front door's process leases, connections and ephemeral signals."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table, Text

from chinwag.store.keys import KEY


def presence_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """`realtime_processes`, `realtime_connections` and `realtime_signals` on `metadata`."""
    processes = Table(
        "realtime_processes",
        metadata,
        Column("pk", KEY, primary_key=True, autoincrement=True),
        Column("process_id", String(34), nullable=False, unique=True),
        Column("expires_at", BigInteger, nullable=False),  # ms since the epoch: the lease
    )
    connections = Table(
        "realtime_connections",
        metadata,
        Column("pk", KEY, primary_key=True, autoincrement=True),
        Column("connection_id", String(34), nullable=False, unique=True),
        Column("process_id", String(34), nullable=False, index=True),
        Column("user_sid", String(34), nullable=False),
        Column("service_sid", String(34), nullable=False),
    )
    signals = Table(
        "realtime_signals",
        metadata,
        Column("pk", KEY, primary_key=True, autoincrement=True),
        Column("topic", Text, nullable=False),  # e.g. a roster's SID for a typing indicator
        Column("payload", Text, nullable=False),  # JSON
        Column("at", BigInteger, nullable=False),  # ms since the epoch; rows live seconds
        Index("ix_realtime_signals_at", "at"),
    )
    return processes, connections, signals
