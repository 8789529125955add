"""The schema, as SQLAlchemy 2 declarative models. Changes go through a migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC everywhere, handed back UTC-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        parsed: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_key: Mapped[str] = mapped_column(String(40), unique=True)
    source_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16))
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_private: Mapped[str | None] = mapped_column(Text)
    interval_s: Mapped[int | None] = mapped_column(Integer)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), default="new")
    http_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_new_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a worker polls it
    leased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # since when (database clock)


class ArticleRow(Base):
    __tablename__ = "articles"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"), index=True)
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    authors: Mapped[str] = mapped_column(Text, default="[]")
    language: Mapped[str | None] = mapped_column(String(35))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    date_from_feed: Mapped[bool] = mapped_column(Boolean, default=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    update_count: Mapped[int] = mapped_column(Integer, default=0)
    text_fp: Mapped[str | None] = mapped_column(String(40))
    entry_fp: Mapped[str] = mapped_column(String(40))
    duplicate_of: Mapped[str | None] = mapped_column(String(16))
    # Set once every watchlist has been asked about this text; NULL: still to match.
    matched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Why the watchlists' concepts could not be read by meaning when it was matched
    # (the model failed); matched again by meaning once it is back. NULL: nothing missed.
    meaning_missed: Mapped[str | None] = mapped_column(String(300))
    # Set once compared with the corpus for near-duplicates; NULL: still to compare.
    near_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Why ``duplicate_of`` was set ("reprint", "partial", "spun") and how alike they are.
    duplicate_reason: Mapped[str | None] = mapped_column(String(16))
    similarity: Mapped[str | None] = mapped_column(Text)  # JSON: the scores of the decision
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Set when the body was purged for age; the sketch stays so the story stays known.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CopyRow(Base):
    """Another sighting of an article: same URL or same text, seen in some feed."""

    __tablename__ = "copies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id"))
    guid: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FingerprintRow(Base):
    """Every key an article is known by. With no article left it is a tombstone."""

    __tablename__ = "fingerprints"

    fp: Mapped[str] = mapped_column(String(40), primary_key=True)
    article_id: Mapped[str | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SketchRow(Base):
    """An article's near-duplicate fingerprint (monitor.near.sketch). Outlives its body."""

    __tablename__ = "sketches"

    doc: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), unique=True
    )
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    words: Mapped[bytes] = mapped_column(LargeBinary)
    masked: Mapped[bytes] = mapped_column(LargeBinary)
    names: Mapped[bytes] = mapped_column(LargeBinary)
    word_count: Mapped[int] = mapped_column(Integer)


class SketchKeyRow(Base):
    """The candidate index: a sketch's keys, each pointing at the sketches that have it."""

    __tablename__ = "sketch_keys"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (read by SQLAlchemy)

    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    doc: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class StoryRow(Base):
    """Articles about one event: copies and the outlets' own reports."""

    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_article: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    articles: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # latest article
    names: Mapped[str] = mapped_column(Text)  # JSON: {name: articles naming it}


class StoryKeyRow(Base):
    """The names of a story, to find the stories a new article may belong to."""

    __tablename__ = "story_keys"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (read by SQLAlchemy)

    key: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    story: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class MatchRow(Base):
    """A rule of a watchlist that an article satisfied, with what hit and where."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("article_id", "watchlist", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[str] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    watchlist: Mapped[str] = mapped_column(String(80))
    rule: Mapped[str] = mapped_column(String(120))
    score: Mapped[float] = mapped_column(Float)
    terms: Mapped[str] = mapped_column(Text)  # JSON: [{ref, term, hits: [[field, start, end]]}]
    snippet: Mapped[str] = mapped_column(Text)
    highlights: Mapped[str] = mapped_column(Text)  # JSON: [[start, end]] in the snippet
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RouteRow(Base):
    """Where each route's schedule stands; a route is known by its name."""

    __tablename__ = "routes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    selector: Mapped[str] = mapped_column(String(40))  # digest of what it selects
    since: Mapped[datetime] = mapped_column(UTCDateTime)  # matches from then on are its own
    last_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_key: Mapped[str | None] = mapped_column(String(40))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class DigestRow(Base):
    """A digest (or an instant alert) as built: one per route and period."""

    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("route", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # digest, alert
    period: Mapped[str] = mapped_column(String(120))
    subject: Mapped[str] = mapped_column(Text)
    entries: Mapped[int] = mapped_column(Integer)
    more: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class RouteMatchRow(Base):
    """A match a route has dealt with: sent in a digest, or folded into a story sent before."""

    __tablename__ = "route_matches"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (read by SQLAlchemy)

    route: Mapped[str] = mapped_column(String(64), primary_key=True)
    match_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    story_key: Mapped[str] = mapped_column(String(24))
    digest_id: Mapped[int | None] = mapped_column(Integer)


class DeliveryRow(Base):
    """The outbox: a rendered digest on its way to a channel, with every attempt's outcome."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    route: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # pending, sent, parked
    message_id: Mapped[str] = mapped_column(Text)  # Message-ID or webhook-id, kept for retries
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # what is sent, byte for byte
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaseRow(Base):
    """A stage that one worker runs at a time (near-duplicates, matching, building digests)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    until: Mapped[datetime] = mapped_column(UTCDateTime)


Index("ix_route_matches_story", RouteMatchRow.route, RouteMatchRow.story_key)
Index("ix_articles_published_at", ArticleRow.published_at)
# The articles the near stage still has to compare, in the order it takes them.
Index(
    "ix_articles_near_pending",
    ArticleRow.first_seen_at,
    ArticleRow.id,
    postgresql_where=ArticleRow.near_at.is_(None),
    sqlite_where=ArticleRow.near_at.is_(None),
)
# The articles matched while the meaning model was missing, to match again by meaning.
Index(
    "ix_articles_meaning_missed",
    ArticleRow.first_seen_at,
    ArticleRow.id,
    postgresql_where=ArticleRow.meaning_missed.is_not(None),
    sqlite_where=ArticleRow.meaning_missed.is_not(None),
)
