"""articles.meaning_missed: why an article was matched without meaning, to be matched
again by meaning once the model is back (NULL: nothing missed); and an index of those

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

MISSED = sa.text("meaning_missed IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("meaning_missed", sa.String(300), nullable=True))
    op.create_index(
        "ix_articles_meaning_missed",
        "articles",
        ["first_seen_at", "id"],
        postgresql_where=MISSED,
        sqlite_where=MISSED,
    )


def downgrade() -> None:
    op.drop_index("ix_articles_meaning_missed", table_name="articles")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("meaning_missed")
