"""the outbox without its index on undelivered rows' next attempt, which no query reads

The claim finds each queue's head by the skip scan of `ix_outbox_active_queue` and tests
whether that head is due (events/outbox.py), so nothing reads `ix_outbox_active_due`; every
delivery still paid for it, entered when enqueued and removed when delivered (about 4 us of
a SQLite INSERT's 47 in a timed loop).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.drop_index("ix_outbox_active_due", table_name="outbox")


def downgrade() -> None:
    op.create_index(
        "ix_outbox_active_due",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
