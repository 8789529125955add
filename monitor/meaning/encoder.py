"""The seam between meaning-matching and the model that embeds sentences.

``load_encoder(model)`` finds the model (a local directory, or a hub name downloaded once
and read offline afterwards: hub.py), then runs it in ONNX Runtime (onnx.py). Both
libraries come with the optional extra ``monitor[semantic]``; this module imports neither
until a model is loaded, so a daemon without the extra runs as before, and ``why_off()``
says why meaning-matching is off.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from monitor.core.errors import ModelError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL = "pip install 'monitor[semantic]'"


class Encoder(Protocol):
    """Embeds sentences: one row per text, float32, L2-normalised (a dot product is the
    cosine). Texts are batched (32, sorted by length) inside."""

    name: str  # the model's hub name or directory, for explanations and logs
    dimension: int

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


def why_off() -> str | None:
    """None when the optional extra can be imported, else why not, for a person."""
    try:
        from monitor.meaning import hub, onnx  # noqa: F401 (imported for their libraries)
    except ImportError as exc:
        library = (exc.name or "").partition(".")[0] or "a library of monitor[semantic]"
        if isinstance(exc, ModuleNotFoundError):
            return f"{library} is not installed ({INSTALL})"
        return f"{library} cannot be imported: {exc}"
    return None


def load_encoder(
    model: str = DEFAULT_MODEL,
    cache_dir: Path | None = None,
    threads: int = 1,
    dimension: int | None = None,
) -> Encoder:
    """The model ``model`` (a hub name or a directory) ready to encode, on ``threads`` cores.

    ``cache_dir``: where hub models are kept (default: Hugging Face's own cache).
    ``dimension``: the vector size the caller relies on; without it, the size the model's
    configuration declares. Raises ModelError naming the model: extra missing, model
    missing or broken, not downloadable, or of another dimension."""
    reason = why_off()
    if reason is not None:
        raise ModelError(f"model {model}: meaning-matching is off: {reason}")
    from monitor.meaning import hub, onnx

    directory = hub.resolve(model, cache_dir)
    return onnx.OnnxEncoder(directory, name=model, threads=threads, dimension=dimension)
