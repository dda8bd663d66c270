"""message hours: a channel's messages per UTC hour, the dashboard's source

The table is filled from the messages already there; the index the dashboard read the messages
through goes, since it no longer does.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# A message's UTC hour, as hours since the epoch (domain/activity.hour_of).
HOUR = {
    # SQLite keeps UTC dates as text, "YYYY-MM-DD HH:MM:SS.ffffff".
    "sqlite": "CAST(strftime('%s', substr(date_created, 1, 19)) AS INTEGER) / 3600",
    "postgresql": "CAST(floor(extract(epoch FROM date_created) / 3600) AS BIGINT)",
}


def upgrade() -> None:
    op.create_table(
        "message_hours",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("channel_sid", sa.String(length=34), nullable=False),
        sa.Column("service_sid", sa.String(length=34), nullable=False),
        sa.Column("hour", sa.BigInteger(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_sid"],
            ["channels.sid"],
            name=op.f("fk_message_hours_channel_sid"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_message_hours")),
        sa.UniqueConstraint("channel_sid", "hour", name=op.f("uq_message_hours_channel_sid_hour")),
    )
    # Plain CREATE / DROP INDEX (no batch: SQLite has both, and a batch may copy the table).
    op.create_index(
        "ix_message_hours_service_sid_hour",
        "message_hours",
        ["service_sid", "hour", "channel_sid"],
        unique=False,
    )
    hour = HOUR[op.get_bind().dialect.name]
    # `hour` is one of HOUR's two expressions: nothing from outside goes into the SQL.
    backfill = (
        "INSERT INTO message_hours (channel_sid, service_sid, hour, messages) "  # noqa: S608
        f"SELECT channel_sid, service_sid, {hour}, count(*) FROM messages "
        f"GROUP BY channel_sid, service_sid, {hour}"
    )
    op.execute(backfill)
    op.drop_index("ix_messages_service_sid_date_created_channel_sid", table_name="messages")


def downgrade() -> None:
    op.create_index(
        "ix_messages_service_sid_date_created_channel_sid",
        "messages",
        ["service_sid", "date_created", "channel_sid"],
        unique=False,
    )
    op.drop_index("ix_message_hours_service_sid_hour", table_name="message_hours")
    op.drop_table("message_hours")
