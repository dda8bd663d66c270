"""Sync items by their last event: a late subscriber's catch-up reads an index range

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sync_items_object_sid_last_event_id",
            ["object_sid", "last_event_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_items", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_items_object_sid_last_event_id")
