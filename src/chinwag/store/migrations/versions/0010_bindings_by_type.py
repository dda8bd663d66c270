"""a service's bindings by type, in keyset order (the BindingType filter's own range)

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_bindings_service_sid_binding_type_pk",
        "bindings",
        ["service_sid", "binding_type", "pk"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_bindings_service_sid_binding_type_pk", table_name="bindings")
