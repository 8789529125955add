"""Where a model is: the one module importing huggingface_hub.

A model is given as a local directory (used as it is) or as a hub name such as
``sentence-transformers/all-MiniLM-L6-v2``. A hub model is looked up in the cache first
(no network at all once it is there), and only when missing downloaded: its tokenizer,
configuration and one ONNX file (an int8 one when the repository has it), never the
PyTorch weights. Nothing is sent anywhere at match time.
"""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import snapshot_download

from monitor.core.errors import ModelError
from monitor.meaning import layout


def resolve(model: str, cache_dir: Path | None = None) -> Path:
    """The directory holding ``model``; ModelError naming it when it cannot be had."""
    local = Path(model).expanduser()
    if local.is_dir():
        return local
    if local.is_absolute() or model.startswith((".", "~")) or model.count("/") > 1:
        raise ModelError(f"model {model}: no such directory")
    cached = _cached(model, cache_dir)
    return cached if cached is not None else _download(model, cache_dir)


def _cached(model: str, cache_dir: Path | None) -> Path | None:
    try:
        found = Path(snapshot_download(model, cache_dir=cache_dir, local_files_only=True))
    except (OSError, ValueError):  # not in the cache (LocalEntryNotFoundError), or no name
        return None
    # A snapshot cut short by an earlier failed download is completed by downloading.
    return found if _complete(found) else None


def _download(model: str, cache_dir: Path | None) -> Path:
    """Downloaded, an int8 ONNX file if the repository has one, else its model.onnx."""
    for onnx_files in layout.download_tiers():
        patterns = [*layout.CONFIG_FILES, *onnx_files]
        try:
            found = Path(snapshot_download(model, cache_dir=cache_dir, allow_patterns=patterns))
        except Exception as exc:  # (hub, HTTP and OS errors: none is ours to fix)
            raise ModelError(
                f"model {model}: not in the model cache ({cache_dir or 'Hugging Face default'})"
                f" and it could not be downloaded ({_first_line(exc)}); give instead"
                " the path of a local directory holding the model's ONNX file and tokenizer.json"
            ) from exc
        if _complete(found):
            return found
    raise ModelError(
        f"model {model}: the hub repository has no ONNX file (model.onnx or an int8 one) "
        "with a tokenizer.json; export the model to a local directory and give its path"
    )


def _complete(found: Path) -> bool:
    names = [p.relative_to(found).as_posix() for p in found.rglob("*.onnx")]
    return (found / layout.TOKENIZER).is_file() and layout.choose_onnx(names) is not None


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
