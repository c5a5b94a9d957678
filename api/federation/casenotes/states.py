"""The per-recipient states of a case note.

``sent → delivered → adopted | declined``. A decision may overtake a lost delivery receipt
(``sent → adopted``), as an answer may for queries. ``adopted`` and ``declined`` are final: a
unit that changes its mind retires the adopted rule in its own pack.
"""

from __future__ import annotations

from api.federation.errors import InvalidTransition

TRANSITIONS: dict[str, frozenset[str]] = {
    "sent": frozenset({"delivered", "adopted", "declined"}),
    "delivered": frozenset({"adopted", "declined"}),
    "adopted": frozenset(),
    "declined": frozenset(),
}
DECIDED: frozenset[str] = frozenset({"adopted", "declined"})


def can_move(current: str, target: str) -> bool:
    """True if ``current → target`` is allowed."""
    return target in TRANSITIONS.get(current, frozenset())


def move(current: str, target: str, *, what: str) -> str:
    """``target`` if allowed, else an InvalidTransition error saying what is possible."""
    if not can_move(current, target):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing (decided)"
        raise InvalidTransition(
            f"{what} is {current}; it cannot become {target}",
            hint=f"from {current} it can become: {allowed}",
        )
    return target


def summarise(states: list[str]) -> str:
    """One status for a note: ``sent`` while any delivery is pending, then ``delivered``
    while any recipient has not decided, then ``decided``."""
    if "sent" in states or not states:
        return "sent"
    if "delivered" in states:
        return "delivered"
    return "decided"
