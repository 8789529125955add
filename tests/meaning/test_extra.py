"""Without the optional extra: nothing of it imported until a model is loaded, and the
reason meaning-matching is off, for `monitor check` and the status page."""

from __future__ import annotations

import subprocess
import sys

from monitor.meaning.encoder import why_off
from tests.processes import user_environment


def run(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_it_is_on_here() -> None:
    assert why_off() is None


def test_without_onnxruntime_it_says_how_to_install_it() -> None:
    output = run(
        "import sys\n"
        "sys.modules['onnxruntime'] = None  # as if not installed\n"
        "from monitor.core.errors import ModelError\n"
        "from monitor.meaning.encoder import load_encoder, why_off\n"
        "print(why_off())\n"
        "try:\n"
        "    load_encoder()\n"
        "except ModelError as exc:\n"
        "    print(exc.message)\n"
    )
    assert output.splitlines() == [
        "onnxruntime is not installed (pip install 'monitor[semantic]')",
        "model sentence-transformers/all-MiniLM-L6-v2: meaning-matching is off: "
        "onnxruntime is not installed (pip install 'monitor[semantic]')",
    ]


def test_the_encoder_seam_imports_no_model_library() -> None:
    output = run(
        "import sys\n"
        "import monitor.meaning.encoder\n"
        "libraries = ('onnxruntime', 'tokenizers', 'huggingface_hub', 'torch', 'transformers')\n"
        "print(sorted(set(libraries) & set(sys.modules)))\n"
    )
    assert output == "[]"
