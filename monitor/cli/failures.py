"""Every error the command line reports, in one style: ``error: …`` on stderr.

Exit status 2 for a wrong command line or configuration, 1 for what went wrong
while running, 130 for an interrupt. A database that cannot be read is one
line naming it (its file is left as it is), not the traceback of the driver.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import NoReturn

import click

from monitor.cli.term import err, markup
from monitor.core.errors import ConfigError, MonitorError, StorageError

USAGE, RUNTIME, INTERRUPTED = 2, 1, 130
# What SQLite says of a file that is damaged or is no database at all.
_DAMAGED = ("file is not a database", "database disk image is malformed", "malformed database")


def fail(message: str, code: int, hint: str | None = None) -> NoReturn:
    err.print(markup("[red]error:[/] {}", message))
    if hint:
        err.print(markup("[dim]{}[/]", hint))
    sys.exit(code)


def report(exc: BaseException) -> NoReturn:
    """Say what went wrong in ``exc`` (one of ours or click's) and exit."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        click.echo(exc.format_message(), err=True)  # a bare group: its help, not an error
        sys.exit(USAGE)
    if isinstance(exc, click.UsageError):
        hint = f"see '{exc.ctx.command_path} --help'" if exc.ctx else None
        fail(exc.format_message(), USAGE, hint)
    if isinstance(exc, click.ClickException):
        fail(exc.format_message(), exc.exit_code)
    if isinstance(exc, ConfigError):
        fail(exc.message, USAGE)
    if isinstance(exc, MonitorError):
        fail(exc.message, RUNTIME)
    raise exc


def database_failure(cause: BaseException, database: str) -> StorageError:
    """The driver's error ``cause`` as one clear StorageError naming ``database``."""
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    if any(words in reason for words in _DAMAGED):
        return StorageError(
            f"the database {database} cannot be read: {reason}. It was left as it is: "
            "restore it from a backup, or move it away to start a new one"
        )
    return StorageError(f"the database {database} failed: {reason}")


def driver_error(exc: BaseException) -> BaseException | None:
    """The database driver's error behind ``exc`` if it says the database itself cannot be
    used (damaged, locked, unreachable, read-only); a constraint or SQL error is a bug of
    ours and keeps its traceback."""
    seen: BaseException | None = exc
    for _ in range(20):  # a chain is short; a cycle must not hang the report
        if seen is None or _unusable(seen):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _unusable(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        return True  # SQLite raises DatabaseError itself for a damaged file
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(exc, psycopg.OperationalError)
