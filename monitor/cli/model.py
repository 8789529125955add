"""``monitor model export``: a sentence-transformers model made ready for meaning-matching."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.term import markup, out
from monitor.core.errors import ConfigError

# What the export needs beyond monitor[semantic]: it runs once, not in the daemon.
EXPORT_NEEDS = "pip install torch transformers onnx"


@click.group("model")
def model() -> None:
    """The sentence-embedding model of meaning-matching."""


@model.command("export")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", metavar="OUT", type=click.Path(path_type=Path))
def export_command(src: Path, out_dir: Path) -> None:
    """Export SRC, a sentence-transformers model directory (safetensors), to OUT as an
    int8 ONNX model that `meaning.model` can name. Needs PyTorch, transformers and onnx
    (once, on any machine); the daemon needs only monitor[semantic]."""
    try:
        from monitor.meaning.export import export
    except ImportError as exc:
        raise ConfigError(f"the export needs {exc.name or 'torch'}: {EXPORT_NEEDS}") from exc
    made = export(src, out_dir)
    out.print(markup("[green]ok[/] {}: set meaning.model to this directory", made))
