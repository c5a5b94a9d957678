"""numba kernels of the rule evaluator (what a numpy gather does, without its index copy)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)


@njit(cache=True, nogil=True)
def gather_flags(
    table: npt.NDArray[np.bool_], codes: npt.NDArray[np.unsignedinteger]
) -> npt.NDArray[np.bool_]:
    """``table[codes]``: the flag of each row's distinct value (codes are in range)."""
    out = np.empty(codes.shape[0], dtype=np.bool_)
    for i in range(codes.shape[0]):
        out[i] = table[codes[i]]
    return out


def code_dtype(size: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned integer type holding codes ``0 .. size - 1``."""
    if size <= 1 << 8:
        return np.uint8
    if size <= 1 << 16:
        return np.uint16
    return np.uint32
