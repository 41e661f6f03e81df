"""a session's interpretation and caption languages; caption lines

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 23:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sidestage.platform.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        for column in ("interpretation_languages", "caption_languages"):
            batch.add_column(sa.Column(column, sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "caption_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sidestage.platform.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_caption_lines_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_caption_lines_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_caption_lines")),
    )
    op.create_index(
        "ix_caption_lines_session_language_id",
        "caption_lines",
        ["session_id", "language", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_caption_lines_session_language_id", table_name="caption_lines")
    op.drop_table("caption_lines")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("caption_languages")
        batch.drop_column("interpretation_languages")
