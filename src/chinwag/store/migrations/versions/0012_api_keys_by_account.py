"""an account's API keys by their own index (the console's and `chinwag keys list`'s page)

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_api_keys_account_sid_pk", "api_keys", ["account_sid", "pk"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_api_keys_account_sid_pk", table_name="api_keys")
