from typing import Any

import numpy as np
import numpy.typing as npt

LAYOUT: dict[str, int]

def views(
    codes: list[int], words: list[str], names: set[str] | frozenset[str]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], bytes, bytes, tuple[int, ...]]: ...
def shared(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> int: ...
