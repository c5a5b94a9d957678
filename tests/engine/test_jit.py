"""numba's set-up without its BLAS probe (engine/_jit.py), in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def _run(code: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_a_kernel_runs_without_importing_scipy_linalg() -> None:
    out = _run(
        """
        import json, sys
        import polars as pl
        from engine.reference import distinct_codes
        distinct, codes = distinct_codes(pl.Series(["b", "a", "b", None]))
        import numba.np.arraymath as arraymath
        print(json.dumps({
            "distinct": distinct.to_list(),
            "codes": codes.to_list(),
            "scipy_linalg": "scipy.linalg" in sys.modules,
            "have_blas": arraymath._HAVE_BLAS,
        }))
        """
    )
    assert out == {
        "distinct": ["b", "a", None],
        "codes": [0, 1, 0, 2],
        "scipy_linalg": False,
        "have_blas": False,
    }


def test_the_probe_is_put_back_for_numbas_linear_algebra() -> None:
    # A kernel that does use BLAS (np.dot on floats) still compiles and runs: numba's
    # own linear algebra checks for it when it is typed, through the restored probe.
    out = _run(
        """
        import json, sys
        import numpy as np
        import engine.kernels  # noqa: F401  (sets numba up)
        from numba import njit
        from numba.np import linalg

        @njit
        def dot(a, b):
            return np.dot(a, b)

        value = dot(np.arange(3.0), np.arange(3.0))
        print(json.dumps({
            "probe": linalg.ensure_blas.__module__ + "." + linalg.ensure_blas.__name__,
            "dot": float(value),
            "scipy_linalg": "scipy.linalg" in sys.modules,
        }))
        """
    )
    assert out == {"probe": "numba.np.linalg.ensure_blas", "dot": 5.0, "scipy_linalg": True}
