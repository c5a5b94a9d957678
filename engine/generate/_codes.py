"""Vectorised code arithmetic for the demo generator: ISO 6346 and IMO check digits,
weighted draws.

Both check digits are computed on whole numpy arrays at once; the tests compare them with a
plain per-string reference implementation.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.kernels import ISO6346_LETTER_VALUES

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Value of each byte of a container number: ISO 6346 letter values (engine.kernels' table)
# for A-Z, the digit itself for 0-9.
_LETTER_VALUES = np.zeros(256, dtype=np.int64)
_LETTER_VALUES[ord("A") : ord("Z") + 1] = ISO6346_LETTER_VALUES
_LETTER_VALUES[ord("0") : ord("9") + 1] = np.arange(10)
_POSITION_WEIGHTS = 2 ** np.arange(10, dtype=np.int64)


def iso6346_check_digits(owner_codes: npt.NDArray[np.str_], serials: IntArray) -> IntArray:
    """Check digits of ISO 6346 container numbers from 4-letter owner codes and serials.

    ``owner_codes`` holds strings like ``"MSCU"``; ``serials`` integers 0..999999. The check
    digit is sum(value_i * 2**i) mod 11, with remainder 10 written as 0.

    >>> int(iso6346_check_digits(np.array(["CSQU"]), np.array([305438]))[0])
    3
    """
    owners = np.asarray(owner_codes, dtype="S4").view(np.uint8).reshape(-1, 4)
    serial = np.asarray(serials, dtype=np.int64)
    digits = (serial[:, None] // 10 ** np.arange(5, -1, -1, dtype=np.int64)) % 10
    values = np.concatenate([_LETTER_VALUES[owners], digits], axis=1)
    return (values @ _POSITION_WEIGHTS % 11) % 10


def imo_numbers(bodies: IntArray) -> IntArray:
    """Seven-digit IMO ship numbers from six-digit bodies (check digit appended).

    The check digit is the last digit of sum(d_i * (7 - i)) over the six body digits.

    >>> int(imo_numbers(np.array([907472]))[0])
    9074729
    """
    body = np.asarray(bodies, dtype=np.int64)
    digits = (body[:, None] // 10 ** np.arange(5, -1, -1, dtype=np.int64)) % 10
    check = (digits @ np.arange(7, 1, -1, dtype=np.int64)) % 10
    return body * 10 + check


def weighted_choice(rng: np.random.Generator, weights: FloatArray, size: int) -> IntArray:
    """Indices drawn with probability proportional to ``weights`` (inverse-CDF search)."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    draws = rng.random(size) * cumulative[-1]
    picked = np.minimum(np.searchsorted(cumulative, draws, side="right"), len(cumulative) - 1)
    return np.asarray(picked, dtype=np.int64)


def hash_uniform(*keys: IntArray | int) -> FloatArray:
    """Deterministic uniform numbers in [0, 1) from integer keys (splitmix64 mixing).

    Used for stable per-party traits (a consignee's usual goods, usual shippers) that must
    not depend on which day or row asks for them.
    """
    mixed = np.zeros(1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i, key in enumerate(keys):
            part = np.asarray(key, dtype=np.int64).astype(np.uint64)
            mixed = mixed * np.uint64(0x9E3779B97F4A7C15) + part + np.uint64(i + 1)
            mixed ^= mixed >> np.uint64(30)
            mixed *= np.uint64(0xBF58476D1CE4E5B9)
            mixed ^= mixed >> np.uint64(27)
            mixed *= np.uint64(0x94D049BB133111EB)
            mixed ^= mixed >> np.uint64(31)
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)
