"""The exploration simulation runs end to end on a tiny configuration."""

from __future__ import annotations

from benchmarks.sim_explore import SimConfig, run


def test_a_tiny_simulation_compares_the_two_arms() -> None:
    cfg = SimConfig(weeks=1, seeds=(3,), rows_per_day=600, history_days=28, eval_days=2, rounds=30)
    report, results = run(cfg)
    uniform, explore = results[3]["uniform"], results[3]["explore"]
    capacity = 18  # 3 % of 600 rows a day
    assert uniform.inspections == explore.inspections == 7 * capacity
    # the same non-risk budget: all control in one arm, half control half explore in the other
    assert "explore" not in uniform.by_reason
    assert uniform.by_reason["control"][0] == explore.by_reason["control"][0] * 2 == 28
    assert explore.by_reason["explore"][0] == 14
    assert uniform.by_reason["risk"][0] == explore.by_reason["risk"][0]
    for arm in (uniform, explore):
        assert arm.seizures == sum(found for _, found in arm.by_reason.values())
        assert arm.final_inspected == 2 * capacity
        assert 0.0 <= arm.final_precision <= 1.0
    assert "| 3 | uniform | 126 |" in report
    assert "lift in seizures per inspection" in report
