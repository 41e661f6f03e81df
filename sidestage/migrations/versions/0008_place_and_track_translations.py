"""the names of rooms and tracks in other languages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("rooms", "tracks"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("name_translations", sa.JSON(), nullable=False, server_default="{}")
            )


def downgrade() -> None:
    for table in ("rooms", "tracks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("name_translations")
