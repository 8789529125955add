"""Schema versions: upgrade an older database, refuse one newer than this code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from monitor import __version__
from monitor.errors import SchemaTooNewError

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to this code's schema, or refuse a newer one."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers may start at once: one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(7261134)"))
        revision = MigrationContext.configure(connection).get_current_revision()
        check_known(revision)
        if revision != head():
            command.upgrade(alembic_config(connection), "head")


def check_known(revision: str | None) -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is not None and revision not in known:
        raise SchemaTooNewError(
            f"the database is at schema revision {revision}, which monitor {__version__} does "
            "not know: a newer monitor upgraded it. Upgrade monitor, or use another database."
        )
