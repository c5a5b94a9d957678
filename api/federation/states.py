"""The per-recipient state machine of a query.

``sent → delivered → acknowledged → answered → closed``, plus ``expired`` (the deadline
passed without an answer) and ``cancelled`` (withdrawn by the sending unit). A late answer
to an expired query is still recorded (``expired → answered``). ``closed`` and
``cancelled`` are final.
"""

from __future__ import annotations

from typing import Literal, get_args

from api.federation.errors import InvalidTransition

State = Literal["sent", "delivered", "acknowledged", "answered", "closed", "expired", "cancelled"]
STATES: tuple[State, ...] = get_args(State)
FINAL: frozenset[str] = frozenset({"closed", "cancelled"})
AWAITING_ANSWER: frozenset[str] = frozenset({"sent", "delivered", "acknowledged"})

TRANSITIONS: dict[str, frozenset[str]] = {
    "sent": frozenset({"delivered", "acknowledged", "answered", "expired", "cancelled"}),
    "delivered": frozenset({"acknowledged", "answered", "expired", "cancelled"}),
    "acknowledged": frozenset({"answered", "expired", "cancelled"}),
    "answered": frozenset({"closed"}),
    "expired": frozenset({"answered", "closed", "cancelled"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
"""Allowed moves. ``sent`` may skip ahead because the origin learns of an acknowledgement or
answer by a message that can overtake a lost delivery receipt."""

# Progress order used to summarise several recipients into one query status.
_RANK = {"sent": 0, "delivered": 1, "acknowledged": 2, "answered": 3, "closed": 4}


def can_move(current: str, target: str) -> bool:
    """True if ``current → target`` is allowed."""
    return target in TRANSITIONS.get(current, frozenset())


def move(current: str, target: str, *, what: str = "query") -> str:
    """``target`` if ``current → target`` is allowed, else an InvalidTransition error."""
    if not can_move(current, target):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, ()))) or "nothing (final state)"
        raise InvalidTransition(
            f"{what} is {current}; it cannot become {target}",
            hint=f"from {current} it can become: {allowed}",
        )
    return target


def summarise(states: list[str]) -> str:
    """One status for a query from its recipients' states.

    Expired wins (it must be raised in lists), then the least advanced live state;
    cancelled only when every recipient is cancelled.
    """
    if not states:
        return "sent"
    if "expired" in states:
        return "expired"
    live = [s for s in states if s != "cancelled"]
    if not live:
        return "cancelled"
    return min(live, key=lambda s: _RANK[s])
