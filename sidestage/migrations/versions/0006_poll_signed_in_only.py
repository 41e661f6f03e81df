"""a poll may be for signed-in accounts only (no guests)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(
            sa.Column("signed_in_only", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.drop_column("signed_in_only")
