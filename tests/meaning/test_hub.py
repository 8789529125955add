"""Models given by hub name: read from the cache without network, and a clear error when
a name is neither cached nor downloadable (this machine has no hub: the real failure)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from monitor.core.errors import ModelError
from monitor.meaning import layout
from monitor.meaning.encoder import DEFAULT_MODEL, load_encoder
from tests.processes import user_environment

COMMIT = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"


def hub_cache(root: Path, repo: str, model_dir: Path, onnx_name: str) -> Path:
    """``root`` laid out as huggingface_hub lays out its cache after a download:
    blobs, a snapshot of links to them, and the ref naming the snapshot."""
    repo_dir = root / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / COMMIT
    files = {layout.TOKENIZER: layout.TOKENIZER, layout.SENTENCE_CONFIG: layout.SENTENCE_CONFIG}
    files |= {layout.POOLING_CONFIG: layout.POOLING_CONFIG, onnx_name: "model_int8.onnx"}
    for name, source in files.items():
        blob = repo_dir / "blobs" / f"blob-{len(name)}-{Path(name).name}"
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes((model_dir / source).read_bytes())
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).symlink_to(blob)
    (repo_dir / "refs").mkdir()
    (repo_dir / "refs" / "main").write_text(COMMIT)
    return root


def test_a_hub_name_is_read_from_the_cache_as_downloaded(model_dir: Path, tmp_path: Path) -> None:
    # The hub repository's int8 file for this machine, under onnx/ as the hub has it.
    onnx_name = layout.download_tiers()[0][-1]
    cache = hub_cache(tmp_path / "hub", DEFAULT_MODEL, model_dir, onnx_name)
    by_name = load_encoder(DEFAULT_MODEL, cache_dir=cache)
    by_directory = load_encoder(str(model_dir))
    assert by_name.name == DEFAULT_MODEL and by_name.dimension == 384
    texts = ["Soldiers were deployed to the border.", "The bank raised rates."]
    assert np.allclose(by_name.encode(texts), by_directory.encode(texts), atol=1e-6)


def test_the_int8_file_is_preferred_over_the_full_one() -> None:
    hub_files = ["onnx/model.onnx", "onnx/model_O4.onnx", "onnx/model_qint8_avx512.onnx"]
    hub_files += ["onnx/model_quint8_avx2.onnx", "onnx/model_qint8_arm64.onnx", "openvino/x.onnx"]
    assert layout.choose_onnx(hub_files) == layout.download_tiers()[0][-1]
    assert layout.choose_onnx(["onnx/model.onnx", "model_int8.onnx"]) == "model_int8.onnx"
    assert layout.choose_onnx(["onnx/model_O4.onnx", "model.safetensors"]) is None


@pytest.mark.parametrize(
    "network",
    [
        {"HF_HUB_OFFLINE": "1"},  # offline by choice
        {"HF_ENDPOINT": "http://127.0.0.1:9"},  # the hub cannot be reached (refused)
    ],
    ids=["offline", "unreachable"],
)
def test_a_name_neither_cached_nor_downloadable_is_a_clear_error(
    tmp_path: Path, network: dict[str, str]
) -> None:
    # A process of its own: huggingface_hub reads its environment once, when imported.
    script = (
        "import sys; from pathlib import Path\n"
        "from monitor.meaning.encoder import load_encoder\n"
        "from monitor.core.errors import ModelError\n"
        "try:\n"
        "    load_encoder('example-org/no-such-model', cache_dir=Path(sys.argv[1]))\n"
        "except ModelError as exc:\n"
        "    print(exc.message)\n"
    )
    env = user_environment({"HF_HOME": str(tmp_path / "hf"), **network})
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "cache")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert time.monotonic() - started < 20
    message = done.stdout.strip()
    assert message.startswith("model example-org/no-such-model: not in the model cache")
    assert "could not be downloaded" in message and "local directory" in message
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*.onnx"))


def test_a_path_that_is_not_a_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=f"model {tmp_path}/missing: no such directory"):
        load_encoder(str(tmp_path / "missing"))
