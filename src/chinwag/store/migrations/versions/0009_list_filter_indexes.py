"""list filter indexes: channels by type, a service's bindings by identity, in keyset order

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_channels_service_sid_type_pk", "channels", ["service_sid", "type", "pk"], unique=False
    )
    op.create_index(
        "ix_bindings_service_sid_identity_pk",
        "bindings",
        ["service_sid", "identity", "pk"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_bindings_service_sid_identity_pk", table_name="bindings")
    op.drop_index("ix_channels_service_sid_type_pk", table_name="channels")
