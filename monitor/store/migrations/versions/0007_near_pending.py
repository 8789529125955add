"""articles: an index of the articles still to compare for near-duplicates, in the order
the near stage takes them (only those: a few hundred, however large the corpus)

Without it PostgreSQL, with no statistics yet, read the first-seen index from the
start and passed over every compared article (a million: a quarter of a second a
batch) to find the first 500 not compared.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PENDING = sa.text("near_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_articles_near_pending",
        "articles",
        ["first_seen_at", "id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_articles_near_pending", table_name="articles")
