"""Backtest figures on a tiny labelled history, checked by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from rules import load_pack_text
from rules._backtest import BacktestError, backtest, filter_period

PACK = """\
kind: rule
id: reefer
title: reefer
description: d
status: active
severity: medium
weight: 20
owner: o
match: {a: {is_reefer: true}, condition: a}
---
kind: rule
id: cash
title: cash
description: d
status: experimental
severity: medium
weight: 15
owner: o
match: {a: {freight_payment: cash}, condition: a}
---
kind: rule
id: needs-history
title: h
description: d
status: active
severity: medium
weight: 15
owner: o
match: {a: {consignee_is_new: true}, condition: a}
"""


def history() -> pl.DataFrame:
    day = [dt.datetime(2026, 3, d, tzinfo=dt.UTC) for d in (1, 1, 2, 2, 3, 3)]
    return pl.DataFrame(
        {
            "filed_at": day,
            "is_reefer": [True, True, True, False, False, True],
            "freight_payment": ["cash", None, "cash", "cash", None, None],
            "inspected": [True, True, False, True, True, False],
            "inspection_result": ["seizure", "clean", None, "irregularity", "clean", None],
        }
    )


def test_per_rule_figures() -> None:
    report = backtest(load_pack_text(PACK), history(), prepare=False)
    rows = {r["rule"]: r for r in report.rules.to_dicts()}
    reefer, cash = rows["reefer"], rows["cash"]
    # reefer hits rows 0,1,2,5; inspected among them: 0,1; positive: 0
    assert reefer["hits"] == 4 and reefer["inspected_hits"] == 2 and reefer["positives"] == 1
    assert reefer["hits_per_day"] == pytest.approx(4 / 3)
    assert reefer["hit_rate_inspected"] == pytest.approx(2 / 4)
    assert reefer["precision"] == pytest.approx(0.5)
    base_rate = 2 / 4
    assert reefer["lift"] == pytest.approx(0.5 / base_rate)
    assert reefer["recall"] == pytest.approx(1 / 2)
    # cash (shadow) hits rows 0,2,3; inspected 0,3; both positive
    assert cash["status"] == "experimental" and cash["precision"] == pytest.approx(1.0)
    assert report.overlap["reefer"]["cash"] == 2
    assert reefer["top_overlap"] == "cash" and reefer["top_overlap_share"] == pytest.approx(0.5)
    assert report.skipped[0]["id"] == "needs-history"
    t = report.totals
    assert (t["rows"], t["days"], t["inspected"], t["positives"]) == (6, 3, 4, 2)
    assert t["rows_with_active_hit"] == 4 and t["rows_with_shadow_hit"] == 3
    assert t["active_precision"] == pytest.approx(0.5)


def test_period_filter() -> None:
    frame = filter_period(history(), dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    assert frame.height == 2
    with pytest.raises(BacktestError):
        filter_period(history().drop("filed_at"), dt.date(2026, 3, 2), None)
