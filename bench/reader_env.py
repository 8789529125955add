"""The baseline's own virtual environment: bench/.venv-reader (Python 3.12).

reader 3.27 needs Python >= 3.12 while monitor runs on 3.11, so reader lives in
a separate venv, created on first use and reused while its marker matches.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".venv-reader"
REQUIREMENTS = ("reader==3.27", "psutil")
MARKER = VENV / ".bench-requirements"


def _is_312(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "True"


def find_python312() -> str:
    """A working Python 3.12: $BENCH_PYTHON312, python3.12 on PATH, or pyenv's."""
    candidates = [os.environ.get("BENCH_PYTHON312", ""), shutil.which("python3.12") or ""]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(pyenv_root.glob("versions/3.12*/bin/python3.12"), reverse=True)
    candidates += [str(p) for p in found]
    candidates += ["/usr/local/bin/python3.12", "/usr/bin/python3.12"]
    for python in candidates:
        if python and _is_312(python):
            return python
    raise RuntimeError("no working python3.12 found (set BENCH_PYTHON312=/path/to/python3.12)")


def venv_python() -> Path:
    return VENV / "bin" / "python"


def is_ready() -> bool:
    if not MARKER.exists() or MARKER.read_text() != "\n".join(REQUIREMENTS):
        return False
    check = "import reader, sys; sys.exit(reader.__version__ != '3.27')"
    try:
        res = subprocess.run([venv_python(), "-c", check], timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def ensure(timeout: float = 900.0) -> Path:
    """Create (or repair) the venv if needed; return its interpreter."""
    if is_ready():
        return venv_python()
    if VENV.exists():
        shutil.rmtree(VENV)
    python = find_python312()
    subprocess.run([python, "-m", "venv", str(VENV)], check=True, timeout=timeout)
    pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, *REQUIREMENTS], check=True, timeout=timeout)
    MARKER.write_text("\n".join(REQUIREMENTS))
    return venv_python()
