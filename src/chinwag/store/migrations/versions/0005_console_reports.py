"""console reports: a service's messages by time, outbox lists per account and service

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_service_sid_date_created_channel_sid",
            ["service_sid", "date_created", "channel_sid"],
            unique=False,
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_status", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_outbox_account_sid_status_pk", ["account_sid", "status", "pk"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_service_sid_status_pk", ["service_sid", "status", "pk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_service_sid_status_pk")
        batch_op.drop_index("ix_outbox_account_sid_status_pk")
        batch_op.drop_column("last_status")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_service_sid_date_created_channel_sid")
