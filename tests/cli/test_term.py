"""The one way the command line prints values: inert, whatever they contain."""

from __future__ import annotations

import ast
from pathlib import Path

from rich.console import Console
from rich.table import Table

from monitor.cli.term import Terminal, add_row, markup, printable

HOSTILE = "[bold]b[/] [/x] \x1b]8;;https://evil.example/\x07link\x1b]8;;\x07 \x9b2J \u202eevil"
CLI = Path(__file__).parents[2] / "monitor" / "cli"


def _render(console: Console, *items: object) -> str:
    with console.capture() as captured:
        console.print(*items)
    return captured.get()


def test_values_are_shown_literally_without_control_characters() -> None:
    # A terminal: there, rich draws styles and hyperlinks with escape sequences.
    console = Terminal(force_terminal=True, color_system="standard")
    shown = _render(console, markup("[i]{}[/]", HOSTILE))
    assert "[bold]b[/] [/x] ]8;;https://evil.example/link]8;; 2J evil" in shown
    assert "\x1b]8" not in shown and "\x07" not in shown and "\x9b" not in shown  # no OSC-8
    assert "\x1b[3m" in shown  # our own italic is still drawn
    assert printable("tab\tand\nline") == "tab\tand\nline"


def test_table_cells_are_never_read_as_markup() -> None:
    table = Table()
    table.add_column("a")
    add_row(table, HOSTILE)
    shown = _render(Terminal(), table)
    assert "[bold]b[/] [/x]" in shown and "\x1b" not in shown


def test_format_specs_still_apply() -> None:
    assert markup("{:.1f}s {!r}", 1.25, "[x]") == "1.2s '\\[x]'"


def test_no_fstring_reaches_a_console_or_a_table_title() -> None:
    """Every printed line is a ``markup()`` template or Text: an f-string would put a
    value into markup as it came. (matching.py's own lines are its owner's.)"""
    found = []
    for path in sorted(CLI.glob("*.py")):
        if path.name == "matching.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            values = [*node.args] if name == "print" else []
            values += [k.value for k in node.keywords if k.arg in ("title", "caption")]
            found += [f"{path.name}:{v.lineno}" for v in values if isinstance(v, ast.JoinedStr)]
    assert not found
