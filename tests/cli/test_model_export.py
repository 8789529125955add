"""``monitor model export``: a sentence-transformers directory made into the model
``meaning.model`` names, then used by ``monitor check`` as the daemon would."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import monitor
from tests.model import extract_package_model


def test_an_exported_model_is_taken_up_by_check(tmp_path: Path) -> None:
    src = tmp_path / "minilm"
    extract_package_model(src)
    made = monitor("model", "export", str(src), str(tmp_path / "ready"), cwd=tmp_path)
    assert "set meaning.model to this directory" in made.stdout
    (tmp_path / "monitor.yaml").write_text("feeds: []\nmeaning: {model: ready}\n")
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "w.yaml").write_text(
        "concepts:\n  layoffs: [job cuts]\nrules:\n  r: {all: [layoffs]}\n"
    )
    checked = monitor("check", cwd=tmp_path).stdout
    assert f"ok meaning: model {tmp_path / 'ready'}, 1 concept" in " ".join(checked.split())


def test_export_refuses_a_directory_that_is_not_a_model_and_writes_nothing(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes").mkdir()
    failed = monitor("model", "export", "notes", "ready", cwd=tmp_path, code=None)
    assert failed.returncode != 0
    assert "notes" in failed.stderr and "not a sentence-transformers model" in failed.stderr
    assert not (tmp_path / "ready").exists()
