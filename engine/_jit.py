"""numba, made ready once for the project's compiled kernels.

Every module with a numba kernel imports this one (for its effect, once per process). The
first kernel call of a process sets up numba's typing registries, and one of them,
``numba.np.arraymath``, probes at import for a BLAS by importing ``scipy.linalg`` (~0.2-0.3 s
here, ``numpy.f2py`` included):
that probe only decides whether numba's ``np.convolve``/``np.correlate`` use BLAS, and no
kernel of the project uses BLAS (no ``np.dot``, ``np.linalg`` or ``@``). So the module is
imported here with the probe answering "no BLAS" at once, and the probe is put back right
after, so that anything which does use numba's linear algebra still gets its check.

When numba is laid out differently (another version), nothing is changed: the probe then runs
as it always did.
"""

from __future__ import annotations

import sys


def _no_blas() -> None:
    raise ImportError("BLAS not probed: no Lookout kernel uses it (engine/_jit.py)")


def _import_arraymath_without_blas_probe() -> None:
    if "numba.np.arraymath" in sys.modules:
        return  # imported already (its probe has run)
    try:
        from numba.np import linalg
    except ImportError:  # pragma: no cover - another numba layout
        return
    probe = getattr(linalg, "ensure_blas", None)
    if probe is None:  # pragma: no cover - another numba layout
        return
    linalg.ensure_blas = _no_blas
    try:
        import numba.np.arraymath  # noqa: F401  (its probe reads linalg.ensure_blas)
    finally:
        linalg.ensure_blas = probe


_import_arraymath_without_blas_probe()
