"""a channel's messages are swept after its delete, a batch at a time: no cascade from channels

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sweeps",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("owner_sid", sa.String(length=34), nullable=False),
        sa.Column("after", sa.BigInteger(), nullable=True),
        sa.Column("date_created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_sweeps")),
    )
    # SQLite copies the table to drop a constraint: once, at the upgrade.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_messages_channel_sid"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_channel_sid"),
            "channels",
            ["channel_sid"],
            ["sid"],
            ondelete="CASCADE",
        )
    op.drop_table("sweeps")
