from typing import Any

import numpy as np
import numpy.typing as npt

LAYOUT: dict[str, int]

def views(
    codes: list[int], words: list[str], names: set[str] | frozenset[str]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], bytes, bytes, tuple[int, ...]]: ...
def shared(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> int: ...
def distinct(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]: ...
def jaccard(a: bytes, b: bytes) -> float: ...
def jaccard_pairs(
    mine: npt.NDArray[np.uint8],
    theirs: npt.NDArray[np.uint8],
    left: npt.NDArray[np.intp],
    right: npt.NDArray[np.intp],
) -> npt.NDArray[np.float64]: ...
def jaccards(one: bytes, many: list[bytes]) -> npt.NDArray[np.float64]: ...
