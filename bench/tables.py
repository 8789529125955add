"""Result tables, written once for the terminal (rich) and for the Markdown files.

A table's cells come formatted already; ``align`` gives each column's side, one
letter a column: ``l`` or ``r`` (figures are right-aligned).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable

DASH = "—"  # a figure that was not measured
TARGET_COLUMNS = ("met", "target", "value")


@dataclass(frozen=True)
class Table:
    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    align: str

    def rich(self, styles: Iterable[str | None] = ()) -> RichTable:
        """The table for the terminal; ``styles``, when given, one a row."""
        return rich_table(self.title, self.columns, self.rows, self.align, styles)

    def markdown(self) -> list[str]:
        """The header, the rule that aligns the columns, then one line a row."""
        rule = "|" + "".join("---:|" if side == "r" else "---|" for side in self.align)
        return [markdown_row(self.columns), rule, *(markdown_row(row) for row in self.rows)]

    def markdown_section(self) -> list[str]:
        """The table under a heading of its title, after a blank line."""
        return ["", f"## {self.title}", "", *self.markdown()]


def rich_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    align: str,
    styles: Iterable[str | None] = (),
) -> RichTable:
    table = RichTable(title=title)
    for column, side in zip(columns, align, strict=True):
        table.add_column(column, justify="right" if side == "r" else "left")
    row_styles = list(styles) or [None] * len(rows)
    for row, style in zip(rows, row_styles, strict=True):
        table.add_row(*row, style=style)
    return table


def markdown_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def dash(value: float | None, spec: str = "{:,.0f}") -> str:
    """``value`` formatted by ``spec``, or a dash when it was not measured."""
    return DASH if value is None else spec.format(value)


def mark(met: bool | None) -> str:
    """A target met, missed, or not measured."""
    return {True: "✓", False: "✗", None: DASH}[met]


def target_rows(
    targets: Iterable[Mapping[str, Any]],
    value: Callable[[Mapping[str, Any]], str] = lambda t: str(t["value"]),
) -> list[list[str]]:
    """Mark, target and its value: one row a target."""
    return [[mark(t["met"]), t["target"], value(t)] for t in targets]


def print_tables(console: Console, tables: Iterable[Table], notes: Iterable[str]) -> None:
    """Each table, then the notes in yellow."""
    for table in tables:
        console.print(table.rich())
    for note in notes:
        console.print(f"[yellow]{note}[/]")


def markdown_document(head: Sequence[str], tables: Iterable[Table], notes: Iterable[str]) -> str:
    """A results file: its head lines, each table under its title, then the notes."""
    lines = list(head)
    for table in tables:
        lines += table.markdown_section()
    return "\n".join([*lines, "", *(f"- {note}" for note in notes)]) + "\n"
