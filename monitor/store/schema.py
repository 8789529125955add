"""Schema versions: upgrade an older database, refuse one newer than this code.

A database already at HEAD is recognised by one query, without alembic: importing
it (and mako) costs each worker about 10 MB it would keep for nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from monitor import __version__
from monitor.core.errors import SchemaTooNewError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0008"  # the newest migration's revision (a test holds it to alembic's head)


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest migration's revision, as alembic finds it."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def upgrade(engine: Engine) -> None:
    """Bring the database to this code's schema, or refuse a newer one."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers may start at once: one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(7261134)"))
        revision = _revision(connection)
        if revision == HEAD:
            return
        check_known(revision)
        from alembic import command

        command.upgrade(alembic_config(connection), "head")


def _revision(connection: Connection) -> str | None:
    """The database's schema revision; None when it has none yet."""
    # In a savepoint: on PostgreSQL a failed statement would abort the transaction.
    try:
        with connection.begin_nested():
            found = connection.execute(text("SELECT version_num FROM alembic_version"))
            return found.scalar()
    except DBAPIError:  # no such table: a new database
        return None


def check_known(revision: str | None) -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    if revision is not None and revision not in known:
        raise SchemaTooNewError(
            f"the database is at schema revision {revision}, which monitor {__version__} does "
            "not know: a newer monitor upgraded it. Upgrade monitor, or use another database."
        )
