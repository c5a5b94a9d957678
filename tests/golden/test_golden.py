"""The scored outputs of a fixed batch are those committed in tests/fixtures/golden/expected,
column by column (floats to 1e-9), rows in the same order — in one process and on Ray.

A failure lists every difference; see README.md for when regenerating is legitimate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from tests.golden import _scenario as sc


def test_single_process_outputs_are_the_golden_ones(tmp_path: Path) -> None:
    actual = sc.outputs(sc.run_local(tmp_path), tmp_path)
    expected = sc.read_expected("local")
    assert actual.scored.height == 3_057  # the scenario is not empty by accident
    assert sc.differences(actual, expected) == []


@pytest.mark.xdist_group("ray")
@pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")
def test_ray_outputs_are_the_golden_ones(local_ray: None, tmp_path: Path) -> None:
    actual = sc.outputs(sc.run_ray(tmp_path), tmp_path)
    expected = sc.read_expected("ray")
    assert actual.record["parameters"]["engine"] == "ray"
    assert sc.differences(actual, expected) == []


def test_a_changed_output_is_reported_column_by_column(tmp_path: Path) -> None:
    """The comparison itself can fail: a nudged score, a reordered row, a changed count."""
    expected = sc.read_expected("local")
    nudged = sc.Outputs(
        scored=expected.scored.with_columns(pl.col("risk_score") + 1e-6),
        flagged=expected.flagged.reverse(),
        quarantine=expected.quarantine,
        record={**expected.record, "counts": {**expected.record["counts"], "selected": 0}},
        history_rows=expected.history_rows + 1,
    )
    found = sc.differences(nudged, expected)
    assert any(d.startswith("scored.risk_score") for d in found)
    assert any(d.startswith("flagged.") for d in found)
    assert "run.json.counts.selected: 0 != 92" in found
    assert any(d.startswith("history store") for d in found)
    within = replace(expected, scored=expected.scored.with_columns(pl.col("risk_score") + 1e-12))
    assert sc.differences(within, expected) == []
