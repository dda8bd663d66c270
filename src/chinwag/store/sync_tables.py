"""The Sync engine's tables: objects (documents, lists, maps), their items and event logs."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from chinwag.store.keys import KEY


def sync_tables(metadata: MetaData) -> tuple[Table, Table, Table]:
    """`sync_objects`, `sync_items` and `sync_events` on `metadata`."""
    objects = Table(
        "sync_objects",
        metadata,
        Column("pk", KEY, primary_key=True, autoincrement=True),
        Column("sid", String(34), nullable=False, unique=True),  # ET.. / ES.. / MP..
        Column("account_sid", String(34), nullable=False),
        Column("service_sid", String(34), nullable=False),
        Column("kind", String(16), nullable=False),  # document | list | map
        Column("unique_name", Text, nullable=False),
        # Only this user (a US sid) may read it; NULL: any user of the service.
        Column("owner_sid", String(34), nullable=True),
        Column("data", Text, nullable=True),  # a document's JSON
        Column("revision", BigInteger, nullable=False),
        Column("last_event_id", BigInteger, nullable=False),  # the per-object event counter
        Column("next_index", BigInteger, nullable=False),  # a list's next item index
        Column("date_created", DateTime(timezone=True), nullable=False),
        Column("date_updated", DateTime(timezone=True), nullable=False),
        # A removed object stays as a tombstone so its `*_removed` event can be delivered.
        Column("date_removed", DateTime(timezone=True), nullable=True),
        UniqueConstraint("service_sid", "unique_name"),
    )
    items = Table(
        "sync_items",
        metadata,
        Column("pk", KEY, primary_key=True, autoincrement=True),
        Column(
            "object_sid",
            String(34),
            ForeignKey("sync_objects.sid", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("item_index", BigInteger, nullable=True),  # list items
        Column("item_key", Text, nullable=True),  # map items
        Column("data", Text, nullable=False),
        Column("revision", BigInteger, nullable=False),
        Column("last_event_id", BigInteger, nullable=False),
        Column("date_created", DateTime(timezone=True), nullable=False),
        Column("date_updated", DateTime(timezone=True), nullable=False),
        # The keysets item queries walk; NULLs (the other kind's column) never collide.
        UniqueConstraint("object_sid", "item_index"),
        UniqueConstraint("object_sid", "item_key"),
        # A late subscriber's catch-up reads an object's newest changed items (sync/catchup.py):
        # an index range, never a walk of every item of a long list.
        Index("ix_sync_items_object_sid_last_event_id", "object_sid", "last_event_id"),
    )
    events = Table(
        "sync_events",
        metadata,
        Column("pk", KEY, primary_key=True, autoincrement=True),
        Column(
            "object_sid",
            String(34),
            ForeignKey("sync_objects.sid", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("event_id", BigInteger, nullable=False),
        Column("event_type", String(32), nullable=False),
        Column("payload", Text, nullable=False),  # JSON of the event, without its id
        Column("date_created", DateTime(timezone=True), nullable=False),
        UniqueConstraint("object_sid", "event_id"),
    )
    return objects, items, events
