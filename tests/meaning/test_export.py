"""The export (safetensors to ONNX int8), as the model_dir fixture ran it, and its failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.core.errors import ModelError
from monitor.meaning.encoder import load_encoder
from monitor.meaning.export import export
from tests.model import extract_package_model


def test_the_export_is_a_small_int8_model_that_reads_meaning(tmp_path: Path) -> None:
    # Run here, whatever the fixture's cache holds: a change to the export is tested.
    src = tmp_path / "src"
    extract_package_model(src)
    out = export(src, tmp_path / "models" / "minilm")
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "1_Pooling/config.json",
        "config.json",
        "model_int8.onnx",
        "sentence_bert_config.json",
        "tokenizer.json",
    ]
    assert [p.name for p in out.parent.iterdir()] == ["minilm"]  # no work folder left
    assert (out / "model_int8.onnx").stat().st_size < 30_000_000  # fp32: 90 MB
    encoder = load_encoder(str(out))
    report, paraphrase, other = encoder.encode(
        [
            "A strong earthquake shook the region overnight.",
            "The ground trembled violently in the night, a quake of magnitude 6.",
            "The central bank kept interest rates on hold.",
        ]
    )
    assert report @ paraphrase > report @ other + 0.3


def test_an_existing_directory_is_not_overwritten(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ModelError, match=f"model {out}: already exists"):
        export(model_dir, out)


def test_a_failed_export_leaves_nothing(model_dir: Path, tmp_path: Path) -> None:
    # A sentence-transformers directory whose weights were cut short.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("config.json", "tokenizer.json"):
        shutil.copyfile(model_dir / name, src / name)
    (src / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    (tmp_path / "models").mkdir()
    with pytest.raises(ModelError, match=f"model {src}: cannot be read"):
        export(src, tmp_path / "models" / "minilm")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_directory_that_is_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"model {tmp_path}: config.json is missing"):
        export(tmp_path, tmp_path / "out")
