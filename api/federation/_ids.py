"""Sortable, globally unique ids: a ULID (48-bit milliseconds + 80 random bits) + unit id.

The time prefix makes ids sort by creation time across units; the random part and the unit
suffix make collisions between units impossible in practice. Within one process the random
part is incremented inside the same millisecond, so ids are strictly increasing.
"""

from __future__ import annotations

import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
_lock = threading.Lock()
_last: list[int] = [0, 0]  # [milliseconds, random part] of the previous id


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def ulid(now_ms: int | None = None) -> str:
    """A 26-character ULID, strictly increasing within this process."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _lock:
        if ms <= _last[0]:
            ms, rand = _last[0], (_last[1] + 1) % (1 << 80)
        else:
            rand = secrets.randbits(80)
        _last[0], _last[1] = ms, rand
    return _encode(ms, 10) + _encode(rand, 16)


def new_id(unit_id: str) -> str:
    """A query or message id: ``<ULID>-<unit id>``, e.g. ``01JDX…-UZ-TAS-PCU``."""
    return f"{ulid()}-{unit_id}"
