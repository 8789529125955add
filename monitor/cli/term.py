"""What the command line prints: our own markup, with every value from outside inert.

Feed titles, URLs (a 301's Location), reason phrases, OPML outlines and file
contents are written by strangers. Printed as rich markup, ``[link=…]`` would
become a hyperlink and ``[/x]`` would crash the command; printed raw, an ESC
sequence would restyle, retitle or clear the terminal. So templates are ours
and values are not: ``markup()`` fills a template with values made inert
(control characters dropped, secrets in URLs masked, markup escaped), and
``cell()`` makes a table cell of plain ``Text``, which is never read as markup.
The consoles also drop control characters from every string they render, so
a value that slips past both still cannot reach the terminal as a command.
"""

from __future__ import annotations

import string
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from monitor.core.printable import without_controls
from monitor.core.redact import redact_text


def printable(value: object) -> str:
    """``value`` as plain text a terminal cannot take for a command, secrets masked."""
    return without_controls(redact_text(str(value)))


def shown(value: object) -> str:
    """``value`` for a place in rich markup: printable, and its brackets escaped."""
    return escape(printable(value))


class _InertFields(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        return shown(format(value, format_spec))


_FORMATTER = _InertFields()


def markup(template: str, /, *args: object, **values: object) -> str:
    """``template`` (ours, rich markup allowed) with each ``{field}`` filled in inert."""
    return _FORMATTER.vformat(template, args, values)


def count(number: int, noun: str) -> str:
    """``1 article``, ``2 articles``: English nouns of the CLI's own words (plural with -s)."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def cell(value: object, style: str = "") -> Text:
    """A table cell (or a line) that shows ``value`` as it is: never read as markup."""
    return value if isinstance(value, Text) else Text(printable(value), style=style)


def add_row(table: Table, *cells: object) -> None:
    """A row of ``cell()``s: plain values shown literally, ``Text`` kept with its style."""
    table.add_row(*(cell(value) for value in cells))


class Terminal(Console):
    """A console with no emoji codes or guessed highlighting, that drops control
    characters from every string it renders (ours have none)."""

    def __init__(self, stderr: bool = False, **options: Any) -> None:
        super().__init__(stderr=stderr, soft_wrap=True, emoji=False, highlight=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(without_controls(text), **options)


out = Terminal()
err = Terminal(stderr=True)
