"""near-duplicate sketches, their candidate index, and stories

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("near_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("duplicate_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("similarity", sa.Text(), nullable=True))
        batch.add_column(sa.Column("story_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("purged_at", sa.DateTime(), nullable=True))
        batch.create_index("ix_articles_near_at", ["near_at"])
        batch.create_index("ix_articles_story_id", ["story_id"])
    # Articles stored earlier are compared too (near_at stays NULL): their sketches
    # are what later copies are recognised by. They were matched already, so no
    # alert is sent for them again.
    op.create_table(
        "sketches",
        sa.Column("doc", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.String(length=16), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("words", sa.LargeBinary(), nullable=False),
        sa.Column("masked", sa.LargeBinary(), nullable=False),
        sa.Column("names", sa.LargeBinary(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_sketches_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("doc", name=op.f("pk_sketches")),
        sa.UniqueConstraint("article_id", name=op.f("uq_sketches_article_id")),
    )
    op.create_table(
        "sketch_keys",
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("doc", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("key", "doc", name=op.f("pk_sketch_keys")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_article", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("names", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    op.create_index("ix_stories_updated_at", "stories", ["updated_at"])
    op.create_table(
        "story_keys",
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("story", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("key", "story", name=op.f("pk_story_keys")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    for table in ("story_keys", "stories", "sketch_keys", "sketches"):
        op.drop_table(table)
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_story_id")
        batch.drop_index("ix_articles_near_at")
        for column in ("purged_at", "story_id", "similarity", "duplicate_reason", "near_at"):
            batch.drop_column(column)
