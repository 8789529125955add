"""What a model directory holds, read without any model library.

Accepted: an ONNX file at the top or under ``onnx/`` (an int8 one preferred), with
``tokenizer.json``; optionally sentence-transformers' ``sentence_bert_config.json``
(max_seq_length), ``1_Pooling/config.json`` (pooling, dimension) and ``config.json``
(hidden_size). A hub snapshot of sentence-transformers/all-MiniLM-L6-v2 is laid out so.
"""

from __future__ import annotations

import json
import platform
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from monitor.core.errors import ModelError

TOKENIZER = "tokenizer.json"
SENTENCE_CONFIG = "sentence_bert_config.json"
POOLING_CONFIG = "1_Pooling/config.json"
MODEL_CONFIG = "config.json"
CONFIG_FILES = (TOKENIZER, SENTENCE_CONFIG, POOLING_CONFIG, MODEL_CONFIG)
DEFAULT_MAX_TOKENS = 256

# The int8 files sentence-transformers publishes are tuned per CPU family; on x86-64 the
# AVX2 one (unsigned, reduced range) is exact on any CPU of the last ten years, AVX-512 or not.
_ARM = ("arm64", "aarch64")

Pooling = Literal["mean", "cls"]


@dataclass(frozen=True, slots=True)
class ModelFiles:
    directory: Path
    onnx: Path
    tokenizer: Path
    max_tokens: int  # longer texts are cut (the model was trained on this many)
    pooling: Pooling
    dimension: int | None  # as the configuration declares it, if it does


def choose_onnx(names: Iterable[str]) -> str | None:
    """The ONNX file to run among a model's files (paths relative to it, with ``/``):
    int8 first (4x smaller, twice as fast on a CPU), then the plain ``model.onnx``."""
    candidates = [n for n in names if n.endswith(".onnx") and posixpath.dirname(n) in ("", "onnx")]
    ranked = [(rank, n) for n in candidates if (rank := _rank(posixpath.basename(n))) < 9]
    return min(ranked, default=(0, None))[1]


def _rank(base: str) -> int:
    arm = platform.machine().lower() in _ARM
    if base in ("model_int8.onnx", "model_quantized.onnx"):
        return 0
    if base == ("model_qint8_arm64.onnx" if arm else "model_quint8_avx2.onnx"):
        return 1
    if "int8" in base and ("arm64" in base) == arm:
        return 2
    # model_O1..O4 are graph-optimised copies (O4: float16, for GPUs): not taken.
    return 3 if base == "model.onnx" else 9


def download_tiers() -> tuple[tuple[str, ...], ...]:
    """The ONNX files to fetch from a hub repository, tier after tier until one exists:
    int8 ones first, the plain model.onnx only when the repository has none."""
    arm = platform.machine().lower() in _ARM
    machine = "model_qint8_arm64.onnx" if arm else "model_quint8_avx2.onnx"
    int8 = ("model_int8.onnx", "model_quantized.onnx", machine)
    return tuple(
        tuple(f"{folder}{base}" for base in bases for folder in ("", "onnx/"))
        for bases in (int8, ("model.onnx",))
    )


def read(directory: Path) -> ModelFiles:
    """The files of the model in ``directory``; ModelError naming it when one is missing."""
    if not directory.is_dir():
        raise ModelError(f"model {directory}: no such directory")
    names = [p.relative_to(directory).as_posix() for p in _onnx_files(directory)]
    chosen = choose_onnx(names)
    if chosen is None:
        raise ModelError(
            f"model {directory}: no ONNX file (model.onnx or model_int8.onnx, at the top or "
            "under onnx/); a sentence-transformers model can be exported to one"
        )
    tokenizer = directory / TOKENIZER
    if not tokenizer.is_file():
        raise ModelError(f"model {directory}: {TOKENIZER} is missing")
    sentence = _json(directory, SENTENCE_CONFIG)
    pooling = _json(directory, POOLING_CONFIG)
    declared = pooling.get("word_embedding_dimension") or _json(directory, MODEL_CONFIG).get(
        "hidden_size"
    )
    return ModelFiles(
        directory=directory,
        onnx=directory / chosen,
        tokenizer=tokenizer,
        max_tokens=int(sentence.get("max_seq_length") or DEFAULT_MAX_TOKENS),
        pooling=_pooling(directory, pooling),
        dimension=int(declared) if declared else None,
    )


def _onnx_files(directory: Path) -> list[Path]:
    sub = directory / "onnx"
    return [*directory.glob("*.onnx"), *(sub.glob("*.onnx") if sub.is_dir() else [])]


def _json(directory: Path, name: str) -> dict[str, Any]:
    path = directory / name
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"model {directory}: {name} cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"model {directory}: {name} is not a JSON object")
    return data


def _pooling(directory: Path, config: dict[str, Any]) -> Pooling:
    if not config or config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    modes = sorted(k for k, v in config.items() if k.startswith("pooling_mode") and v)
    raise ModelError(f"model {directory}: pooling {', '.join(modes) or '(none)'} not supported")
