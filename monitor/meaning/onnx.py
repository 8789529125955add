"""The encoder run by ONNX Runtime: the one module importing onnxruntime and tokenizers.

Texts are tokenised (cut at the model's max_seq_length), run through the model one by
one, the token vectors pooled over the attention mask as the model was trained (mean,
or CLS), and L2-normalised.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer

from monitor.core.errors import ModelError
from monitor.meaning import layout
from monitor.meaning.layout import ModelFiles

# One text a run. An int8 model quantises its activations over the whole batch, so in
# a batch a sentence's vector depended on its neighbours (cosine 0.98 to itself alone):
# `explain` and the daemon could disagree near a threshold. Alone, each vector is the
# same wherever it is read, and, with no padding, faster on one core: 286 sentences/s
# against 216 in sorted batches of 32 (1,000 BBC sentences, int8 all-MiniLM-L6-v2).
BATCH = 1
_PROBES = ("a", "a longer sentence, to check the size of the vectors does not follow it")
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class OnnxEncoder:
    """A sentence-embedding model in ``directory`` (see layout.py), named ``name``."""

    def __init__(
        self, directory: Path, name: str, threads: int = 1, dimension: int | None = None
    ) -> None:
        self.name = name
        # The judge's similarities are small matrix products, which a BLAS thread per
        # CPU only slows (22 s against 1 s for 200 articles on one core): the model's
        # share of CPU is ``threads``, numpy's included.
        threadpool_limits(limits=threads, user_api="blas")
        self._files = layout.read(directory)
        self._tokenizer = _tokenizer(self._files)
        self._session = _session(self._files.onnx, threads)
        self._inputs = _inputs(self._session, self._files.onnx)
        self.dimension = self._probe(dimension)

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            out[rows] = _normalised(self._pooled([texts[i] for i in rows]))
        return out

    def _pooled(self, batch: list[str]) -> npt.NDArray[np.float32]:
        """(len(batch), d) vectors before normalisation; ModelError if the model's
        output is neither token vectors (n, tokens, d) nor sentence vectors (n, d)."""
        encodings = self._tokenizer.encode_batch(batch)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        try:
            output = np.asarray(self._session.run(None, {k: feeds[k] for k in self._inputs})[0])
        except Exception as exc:  # (onnxruntime's errors share no base)
            raise ModelError(f"model {self._files.onnx}: cannot run: {exc}") from exc
        floats = np.issubdtype(output.dtype, np.floating)
        if floats and output.ndim == 3 and output.shape[:2] == ids.shape:
            return _pool(output.astype(np.float32), mask, self._files.pooling)
        if floats and output.ndim == 2 and output.shape[0] == len(batch):
            return output.astype(np.float32)
        raise ModelError(
            f"model {self._files.onnx}: its output is {output.dtype} of shape {output.shape} "
            f"for {ids.shape} tokens; expected float vectors, one per token or per sentence"
        )

    def _probe(self, expected: int | None) -> int:
        """The size of the model's vectors, checked on two texts of different lengths."""
        shapes = sorted({self._pooled([text]).shape for text in _PROBES})
        if len(shapes) != 1 or shapes[0][1] < 1:
            raise ModelError(
                f"model {self._files.onnx}: its vectors have no fixed size "
                f"({' and '.join(map(str, shapes))} for two sentences)"
            )
        size = int(shapes[0][1])
        wanted, source = (expected, "expected") if expected else (self._files.dimension, "")
        if wanted and size != wanted:
            raise ModelError(
                f"model {self._files.directory}: gives vectors of {size} dimensions, "
                f"{wanted} {source or 'as its configuration says'}"
            )
        return size


def _tokenizer(files: ModelFiles) -> Tokenizer:
    try:
        tokenizer = Tokenizer.from_file(str(files.tokenizer))
    except Exception as exc:  # (tokenizers raises bare Exceptions)
        raise ModelError(f"model {files.tokenizer}: cannot be read: {exc}") from exc
    tokenizer.enable_truncation(files.max_tokens)
    # Padding to the batch's longest text: tokenizer.json may pad to a fixed length (128
    # for all-MiniLM-L6-v2), which would cost a short sentence the time of a long one.
    padding = tokenizer.padding or {}
    pad_token = padding.get("pad_token") or "[PAD]"
    pad_id = padding.get("pad_id", tokenizer.token_to_id(pad_token) or 0)
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
    return tokenizer


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: its warnings are not the user's business
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # (onnxruntime's errors share no base)
        raise ModelError(f"model {path}: cannot be loaded: {exc}") from exc


def _inputs(session: ort.InferenceSession, path: Path) -> tuple[str, ...]:
    names = tuple(i.name for i in session.get_inputs())
    unknown = [n for n in names if n not in _INPUTS]
    if unknown or "input_ids" not in names:
        raise ModelError(
            f"model {path}: takes inputs {', '.join(names)}; expected input_ids "
            "(and optionally attention_mask, token_type_ids)"
        )
    return names


def _pool(
    tokens: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], pooling: layout.Pooling
) -> npt.NDArray[np.float32]:
    if pooling == "cls":
        return tokens[:, 0]
    weights = mask.astype(np.float32)
    counts = np.maximum(weights.sum(axis=1, keepdims=True), np.float32(1))
    pooled: npt.NDArray[np.float32] = np.einsum("btd,bt->bd", tokens, weights) / counts
    return pooled


def _normalised(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
    unit: npt.NDArray[np.float32] = vectors / norms
    return unit
