"""add rate-limit buckets, shared by every replica for cost-based rate limits

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 23:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_bucket',
        sa.Column('bucket', sa.String(length=64), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('refilled_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('bucket'),
    )


def downgrade() -> None:
    op.drop_table('rate_limit_bucket')
