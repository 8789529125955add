"""watchlist matches, and which articles are still to be matched

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("matched_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_articles_matched_at", ["matched_at"])
    # Articles stored before watchlists existed are not news any more: alerting on
    # them now would flood the first digest.
    op.execute("UPDATE articles SET matched_at = first_seen_at")
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=16), nullable=False),
        sa.Column("watchlist", sa.String(length=80), nullable=False),
        sa.Column("rule", sa.String(length=120), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("highlights", sa.Text(), nullable=False),
        sa.Column("matched_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_matches_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
        sa.UniqueConstraint("article_id", "watchlist", "rule", name=op.f("uq_matches_article_id")),
    )
    op.create_index("ix_matches_article_id", "matches", ["article_id"])
    op.create_index("ix_matches_matched_at", "matches", ["matched_at"])


def downgrade() -> None:
    op.drop_table("matches")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_matched_at")
        batch.drop_column("matched_at")
