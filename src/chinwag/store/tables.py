"""SQLAlchemy Core tables: accounts and keys by hand, every resource's from its declaration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from chinwag.model.resource import Field, Resource
from chinwag.store.keys import KEY
from chinwag.store.presence_tables import presence_tables
from chinwag.store.sync_tables import sync_tables

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}


@dataclass(frozen=True)
class Sweep:
    """Rows removed in batches after their owner went (`store/sweeper.py`): `table`'s rows
    whose `owner` column names it, taken in the order of `key` (unique within an owner)."""

    table: Table
    owner: Column[Any]
    key: Column[Any]
    owner_table: Table  # whose delete leaves them


def _sid(name: str, *args: ForeignKey, nullable: bool = False, unique: bool = False) -> Column[str]:
    return Column(name, String(34), *args, nullable=nullable, unique=unique)


def _type(f: Field) -> TypeEngine[Any]:
    types: dict[str, TypeEngine[Any]] = {
        "int": BigInteger(),
        "bool": Boolean(),
        "date": DateTime(timezone=True),
        "sid": String(34),
    }
    return types.get(f.kind, Text())


class Tables:
    """Every table of the schema, by resource name, on one `MetaData`."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.metadata = MetaData(naming_convention=NAMING)
        self.accounts = Table(
            "accounts",
            self.metadata,
            Column("pk", KEY, primary_key=True, autoincrement=True),
            _sid("sid", nullable=False, unique=True),
            Column("friendly_name", Text, nullable=False),
            Column("auth_token", String(64), nullable=False),
            Column("date_created", DateTime(timezone=True), nullable=False),
        )
        self.api_keys = Table(
            "api_keys",
            self.metadata,
            Column("pk", KEY, primary_key=True, autoincrement=True),
            _sid("sid", nullable=False, unique=True),
            _sid("account_sid", ForeignKey("accounts.sid", ondelete="CASCADE"), nullable=False),
            Column("friendly_name", Text, nullable=False),
            Column("salt", LargeBinary(16), nullable=False),
            Column("secret_hash", LargeBinary(32), nullable=False),
            # Readable, as access tokens are signed with it (like auth tokens: never logged);
            # NULL for keys made before chinwag kept it: those cannot sign tokens.
            Column("secret", Text, nullable=True),
            Column("date_created", DateTime(timezone=True), nullable=False),
            Index("ix_api_keys_account_sid_pk", "account_sid", "pk"),  # an account's keys
        )
        self.outbox = self._outbox()
        # Writes of the last seconds per channel or service, under --rate-limits twilio.
        self.rate_actions = Table(
            "rate_actions",
            self.metadata,
            Column("pk", KEY, primary_key=True, autoincrement=True),
            Column("bucket", String(34), nullable=False),  # the channel's or service's SID
            Column("at", BigInteger, nullable=False),  # milliseconds since the epoch
            Index("ix_rate_actions_bucket_at", "bucket", "at"),
        )
        self.message_hours = Table(
            "message_hours",
            self.metadata,
            Column("pk", KEY, primary_key=True, autoincrement=True),
            # A channel's messages per UTC hour (domain/activity.py): the dashboard reads these
            # instead of the messages, so its cost follows channel-hours, not messages.
            _sid("channel_sid", ForeignKey("channels.sid", ondelete="CASCADE"), nullable=False),
            _sid("service_sid", nullable=False),
            Column("hour", BigInteger, nullable=False),  # hours since the epoch
            Column("messages", BigInteger, nullable=False),
            UniqueConstraint("channel_sid", "hour"),
            # A service's hours: the charts, active and busiest channels. Without `messages`, so
            # a count moving changes no index (on PostgreSQL a HOT update, in the page).
            Index("ix_message_hours_service_sid_hour", "service_sid", "hour", "channel_sid"),
        )
        # What deleting a channel (or removing a Sync object) left to remove, a batch at a time.
        self.sweeps = Table(
            "sweeps",
            self.metadata,
            Column("pk", KEY, primary_key=True, autoincrement=True),
            Column("kind", String(32), nullable=False),  # a key of `Tables.swept`
            _sid("owner_sid", nullable=False),  # whose rows
            Column("after", BigInteger, nullable=True),  # the last key removed: on from there
            Column("date_created", DateTime(timezone=True), nullable=False),
        )
        self.sync_objects, self.sync_items, self.sync_events = sync_tables(self.metadata)
        self.realtime_processes, self.realtime_connections, self.realtime_signals = presence_tables(
            self.metadata
        )
        self.by_name: dict[str, Table] = {}
        self.swept: dict[str, Sweep] = {}
        for res in resources:
            if res.has_table and not res.table_of:
                table = self.by_name[res.name] = self._table_for(res)
                if res.swept and res.parent is not None:
                    owner = self.by_name[res.parent.name]
                    self.swept[table.name] = Sweep(
                        table, table.c[res.parent.ref_column], table.c[res.sort_column], owner
                    )
        # A removed Sync object keeps its row (a tombstone); its items go (a message list's: many).
        i = self.sync_items
        self.swept["sync_items"] = Sweep(i, i.c.object_sid, i.c.last_event_id, self.sync_objects)

    def _outbox(self) -> Table:
        """Deliveries (webhooks, push) written in the transaction of the change they report."""
        active = text("status IN ('pending', 'sending')")
        return Table(
            "outbox",
            self.metadata,
            Column("pk", KEY, primary_key=True, autoincrement=True),
            Column("token", String(64), nullable=False, unique=True),  # I-Twilio-Idempotency-Token
            _sid("account_sid"),
            Column("service_sid", String(34), nullable=True),
            Column("queue", Text, nullable=False),  # deliveries of one queue go in order
            Column("kind", String(16), nullable=False),  # webhook | push
            Column("event", Text, nullable=False),
            Column("url", Text, nullable=False),
            Column("method", String(8), nullable=False),
            Column("params", Text, nullable=False),  # JSON
            Column("retry_limit", Integer, nullable=False),
            Column("attempts", Integer, nullable=False),
            Column("status", String(16), nullable=False),  # pending|sending|delivered|failed
            Column("next_attempt_at", DateTime(timezone=True), nullable=False),
            Column("lease_until", DateTime(timezone=True), nullable=True),
            Column("last_error", Text, nullable=True),
            Column("last_status", Integer, nullable=True),  # HTTP status of the last attempt
            Column("date_created", DateTime(timezone=True), nullable=False),
            Column("date_updated", DateTime(timezone=True), nullable=False),
            # Only undelivered rows are indexed for the worker: history never slows a claim.
            Index(
                "ix_outbox_active_queue",
                "queue",
                "pk",
                sqlite_where=active,
                postgresql_where=active,
            ),
            Index("ix_outbox_status_pk", "status", "pk"),
            # The console's lists (one status, newest first) and counts, per account or service.
            Index("ix_outbox_account_sid_status_pk", "account_sid", "status", "pk"),
            Index("ix_outbox_service_sid_status_pk", "service_sid", "status", "pk"),
        )

    def __getitem__(self, name: str) -> Table:
        return self.by_name[name]

    @cached_property
    def _owners(self) -> frozenset[str]:
        return frozenset(
            fk.column.table.name
            for t in self.metadata.tables.values()
            for fk in t.foreign_keys
            if fk.ondelete == "CASCADE"
        )

    @cached_property
    def _left_by(self) -> dict[str, tuple[tuple[str, Column[Any] | None], ...]]:
        left: dict[str, list[tuple[str, Column[Any] | None]]] = {}
        for kind, sweep in self.swept.items():
            left.setdefault(sweep.owner_table.name, []).append((kind, None))
            for fk in sweep.owner_table.foreign_keys:
                if fk.ondelete == "CASCADE":
                    left.setdefault(fk.column.table.name, []).append((kind, fk.parent))
        return {name: tuple(kinds) for name, kinds in left.items()}

    def left_by(self, table: Table) -> tuple[tuple[str, Column[Any] | None], ...]:
        """The swept kinds a delete of `table`'s row leaves: its own (a channel's messages:
        column None), and through each cascading foreign key of their owner the owner rows'
        (a service's channels' messages: the owner's column naming the deleted row)."""
        return self._left_by.get(table.name, ())

    def cascades(self, table: Table) -> bool:
        """Whether deleting a row of `table` deletes rows of other tables (their foreign keys
        cascade): a delete whose cost grows with what the row owns (a service's channels)."""
        return table.name in self._owners

    def of(self, res: Resource) -> Table:
        """The table holding `res`'s rows (its own, or the one it is a view of)."""
        return self.by_name[res.table_of or res.name]

    def _table_for(self, res: Resource) -> Table:
        table_name = res.list_key
        owner = res.ancestors[-1] if res.ancestors else None
        # Only the row's owner is a foreign key (deleting it deletes the row); the other
        # ancestors are plain copies for scoping, so no cascade has to scan for them.
        account = [] if owner else [ForeignKey("accounts.sid", ondelete="CASCADE")]
        columns: list[Column[Any] | Index | UniqueConstraint] = [
            Column("pk", KEY, primary_key=True, autoincrement=True),
            _sid("sid", nullable=False, unique=True),
            _sid("account_sid", *account, nullable=False),
        ]
        for anc in res.ancestors:
            owned = anc is owner and not res.swept  # swept rows outlive their owner a while
            fk = [ForeignKey(f"{anc.list_key}.sid", ondelete="CASCADE")] if owned else []
            columns.append(_sid(anc.ref_column, *fk, nullable=False))
        for f in (*res.fields, *res.extra_columns):
            if f.stored:
                refs = (
                    [ForeignKey(f"{f.references}.sid", ondelete="CASCADE")] if f.references else []
                )
                columns.append(Column(f.column, _type(f), *refs, nullable=True))
        columns += [
            Column("date_created", DateTime(timezone=True), nullable=False),
            Column("date_updated", DateTime(timezone=True), nullable=True),
        ]
        scope = owner.ref_column if owner else "account_sid"
        # The keyset index every list walks: (parent, sort key).
        columns.append(Index(None, scope, res.sort_column, unique=res.sort_column != "pk"))
        columns += [UniqueConstraint(scope, *u.columns) for u in res.unique]
        columns += [Index(None, *cols) for cols in res.indexes]
        return Table(table_name, self.metadata, *columns)
