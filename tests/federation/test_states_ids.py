"""The state machine, the status summary, ids and retry backoff."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.federation import (
    STATES,
    TRANSITIONS,
    InvalidTransition,
    backoff_seconds,
    can_move,
    move,
    summarise,
)
from api.federation._ids import new_id, ulid


def test_happy_path_and_final_states() -> None:
    state = "sent"
    for target in ("delivered", "acknowledged", "answered", "closed"):
        state = move(state, target)
    assert state == "closed"
    for final in ("closed", "cancelled"):
        assert all(not can_move(final, s) for s in STATES)
    with pytest.raises(InvalidTransition, match="cannot become closed") as err:
        move("delivered", "closed")
    assert "acknowledged" in str(err.value.hint)


def test_no_going_back_except_late_answer() -> None:
    order = ["sent", "delivered", "acknowledged", "answered", "closed"]
    for i, current in enumerate(order):
        for earlier in order[:i]:
            assert not can_move(current, earlier)
    assert can_move("expired", "answered") and not can_move("answered", "expired")
    assert set(TRANSITIONS) == set(STATES)


def _reference_summary(states: list[str]) -> str:
    rank = {"sent": 0, "delivered": 1, "acknowledged": 2, "answered": 3, "closed": 4}
    if not states:
        return "sent"
    if any(s == "expired" for s in states):
        return "expired"
    live = [s for s in states if s != "cancelled"]
    if not live:
        return "cancelled"
    best = live[0]
    for s in live:
        if rank[s] < rank[best]:
            best = s
    return best


@given(st.lists(st.sampled_from(STATES), max_size=6))
def test_summary_matches_reference(states: list[str]) -> None:
    assert summarise(states) == _reference_summary(states)


@given(st.lists(st.sampled_from(STATES), max_size=12))
def test_random_walks_never_leave_a_final_state(targets: list[str]) -> None:
    state = "sent"
    for target in targets:
        if can_move(state, target):
            state = move(state, target)
        else:
            with pytest.raises(InvalidTransition):
                move(state, target)
    assert state in STATES


def test_ids_sort_by_time_and_are_unique() -> None:
    early, late = ulid(1_700_000_000_000), ulid(1_800_000_000_000)
    assert early < late and len(early) == 26
    ids = [new_id("UZ-TAS-PCU") for _ in range(2000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(i.endswith("-UZ-TAS-PCU") for i in ids)


@given(st.integers(1, 40), st.floats(0.01, 10), st.floats(1, 1000), st.integers(0, 2**32))
def test_backoff_grows_is_capped_and_jittered(
    attempts: int, base: float, cap: float, seed: int
) -> None:
    rng = random.Random(seed)
    delay = backoff_seconds(attempts, base, cap, rng)
    full = min(cap, base * 2 ** (attempts - 1))
    assert full / 2 <= delay <= full
