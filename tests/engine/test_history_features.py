"""History features: exact agreement with a brute-force reference, and no leakage."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.history import (
    FIRST_SEEN_LOOKBACK_DAYS,
    HISTORY_COLUMNS,
    HISTORY_FEATURES,
    point_in_time_features,
)
from engine.schema import DERIVED

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PARTIES = ["ALPHA", "BRAVO", "CHARLIE", None]
CHAPTERS = ["0901", "8471", "2402", None]
PORTS = ["ECGYE", "CNSHA", None]
BOXES = ["MSCU1234565", "TGHU0000001", None]
RESULTS = [None, None, "clean", "seizure", "irregularity"]
DAY = 86_400.0
POSITIVE = {"seizure", "irregularity"}

# ---- plain-Python reference: loops over rows, no cleverness ----


def _days(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds() / DAY


def reference_features(
    query: list[dict[str, Any]],
    history: list[dict[str, Any]],
    *,
    rate: float = 0.05,
    strength: float = 10.0,
) -> list[dict[str, Any]]:
    """Features of each query row against the history rows filed strictly before it.

    Rows carry: t, s, c (party keys), chapter, pol, pod, box, inspected, result, amendments.
    """
    out = []
    times = [h["t"] for h in history if h["t"] is not None]
    # Ages are known only for sightings at least LOOKBACK days after the history begins.
    known_from = min(times) + timedelta(days=FIRST_SEEN_LOOKBACK_DAYS) if times else None
    for q in query:
        t = q["t"]
        past = [h for h in history if h["t"] is not None and h["t"] < t]
        row: dict[str, Any] = {}
        for role, key, other in (("consignee", "c", "s"), ("shipper", "s", "c")):
            k = q[key]
            mine = [h for h in past if k is not None and h[key] == k]
            if k is None:
                for name in (
                    "is_new",
                    "first_seen_days",
                    "shipments_30d",
                    "shipments_90d",
                    "shipments_365d",
                    "past_inspections",
                    "past_positives",
                    "positive_rate",
                    "hs_chapter_share",
                ):
                    row[f"{role}_{name}"] = None
                row[f"{role}_distinct_365d"] = None
                continue
            first = min(h["t"] for h in mine) if mine else t
            # Unseen is "new" only when the history reaches back far enough before the row.
            tellable = known_from is not None and t >= known_from
            row[f"{role}_is_new"] = False if mine else (True if tellable else None)
            row[f"{role}_first_seen_days"] = (
                _days(t, first) if known_from is not None and first >= known_from else None
            )
            for w in (30, 90, 365):
                row[f"{role}_shipments_{w}d"] = sum(1 for h in mine if _days(t, h["t"]) <= w)
            insp = [
                h
                for h in mine
                if (h["inspected"] or h["result"] is not None) and h.get("known", h["t"]) < t
            ]
            pos = [h for h in insp if h["result"] in POSITIVE]
            row[f"{role}_past_inspections"] = len(insp)
            row[f"{role}_past_positives"] = len(pos)
            row[f"{role}_positive_rate"] = (len(pos) + strength * rate) / (len(insp) + strength)
            if q["chapter"] is None or not mine:
                row[f"{role}_hs_chapter_share"] = None
            else:
                same = sum(1 for h in mine if h["chapter"] == q["chapter"])
                row[f"{role}_hs_chapter_share"] = same / len(mine)
            row[f"{role}_distinct_365d"] = len(
                {h[other] for h in mine if h[other] is not None and _days(t, h["t"]) <= 365}
            )
        c = q["c"]
        if c is None or q["pol"] is None or q["pod"] is None:
            row["consignee_route_is_new"] = None
        else:
            seen = any(h["c"] == c and h["pol"] == q["pol"] and h["pod"] == q["pod"] for h in past)
            tellable = known_from is not None and t >= known_from
            row["consignee_route_is_new"] = False if seen else (True if tellable else None)
        box = q["box"]
        if box is None:
            row["container_past_appearances_365d"] = None
            row["container_prior_seizures"] = None
        else:
            same_box = [h for h in past if h["box"] == box]
            row["container_past_appearances_365d"] = sum(
                1 for h in same_box if _days(t, h["t"]) <= 365
            )
            row["container_prior_seizures"] = sum(
                1 for h in same_box if h["result"] == "seizure" and h.get("known", h["t"]) < t
            )
        amended = [
            h["t"] for h in past if c is not None and h["c"] == c and (h["amendments"] or 0) > 0
        ]
        row["consignee_days_since_last_amendment"] = _days(t, max(amended)) if amended else None
        row["consignee_distinct_shippers_365d"] = row.pop("consignee_distinct_365d")
        row["shipper_distinct_consignees_365d"] = row.pop("shipper_distinct_365d")
        out.append(row)
    return out


# ---- tests ----


def _row_strategy() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            # Few distinct times (hours spread over ~2 years) so same-time ties are common.
            "hours": st.sampled_from(
                [
                    0,
                    1,
                    1,
                    24,
                    24 * 29,
                    24 * 30,
                    24 * 31,
                    24 * 90,
                    24 * 364,
                    24 * 365,
                    24 * 366,
                    24 * 700,
                ]
            ),
            "shipper_name": st.sampled_from(PARTIES),
            "consignee_name": st.sampled_from(PARTIES),
            "hs_code": st.sampled_from(CHAPTERS),
            "port_of_loading": st.sampled_from(PORTS),
            "port_of_discharge": st.sampled_from(["GEPTI", None]),
            "container_number": st.sampled_from(BOXES),
            "inspected": st.sampled_from([True, False, None]),
            "inspection_result": st.sampled_from(RESULTS),
            "amendments": st.sampled_from([0, 0, 1, None]),
            # Hours after filing that the result became known (None: at filing; negative:
            # bad data, which must not count before the filing).
            "result_lag": st.sampled_from([None, None, 0, 1, 24 * 3, 24 * 40, -24]),
        }
    )


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    data = [
        {
            **{k: v for k, v in r.items() if k not in ("hours", "result_lag")},
            "filed_at": T0 + timedelta(hours=r["hours"]),
            "inspected_at": (
                None
                if r.get("result_lag") is None
                else T0 + timedelta(hours=r["hours"] + r["result_lag"])
            ),
            "bl_number": f"BL{i}",
        }
        for i, r in enumerate(rows)
    ]
    return pl.DataFrame(
        data,
        schema_overrides={
            "filed_at": pl.Datetime("us", "UTC"),
            "inspected_at": pl.Datetime("us", "UTC"),
            "amendments": pl.Int32,
        },
    )


def _reference_rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [
        {
            "t": r["filed_at"],
            "s": r["shipper_name"],
            "c": r["consignee_name"],
            "chapter": r["hs_code"][:2] if r["hs_code"] else None,
            "pol": r["port_of_loading"],
            "pod": r["port_of_discharge"],
            "box": r["container_number"],
            "inspected": r["inspected"],
            "result": r["inspection_result"],
            # the result counts once known, and never before the row's filing
            "known": max(r["filed_at"], r["inspected_at"] or r["filed_at"]),
            "amendments": r["amendments"],
        }
        for r in frame.iter_rows(named=True)  # reference only: plain loops on purpose
    ]


def _assert_matches_reference(got: pl.DataFrame, expected: list[dict[str, Any]]) -> None:
    for i, exp in enumerate(expected):
        for name in HISTORY_FEATURES:
            value, want = got[name][i], exp[name]
            if isinstance(want, float) and value is not None:
                assert math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-9), (i, name, value, want)
            else:
                assert value == want, (i, name, value, want)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_row_strategy(), min_size=1, max_size=25))
def test_point_in_time_features_match_brute_force(rows: list[dict[str, Any]]) -> None:
    frame = _frame(rows)
    got = point_in_time_features(frame)
    refs = _reference_rows(frame)
    _assert_matches_reference(got, reference_features(refs, refs))


def test_columns_and_dtypes_are_the_schema_history_fields() -> None:
    frame = _frame(
        [
            {
                "hours": 0,
                "shipper_name": "A",
                "consignee_name": "B",
                "hs_code": "0901",
                "port_of_loading": "ECGYE",
                "port_of_discharge": "GEPTI",
                "container_number": "MSCU1234565",
                "inspected": None,
                "inspection_result": None,
                "amendments": 0,
            }
        ]
    )
    out = point_in_time_features(frame)
    added = [c for c in out.columns if c not in frame.columns]
    assert set(added) == set(HISTORY_COLUMNS)
    schema_history = {n for n, f in DERIVED.items() if n in HISTORY_COLUMNS}
    assert schema_history == set(HISTORY_COLUMNS)
    for name in HISTORY_COLUMNS:
        assert out.schema[name] == DERIVED[name].dtype, name
    assert out.columns[: frame.width] == frame.columns


def test_no_leakage_future_and_same_time_rows_cannot_change_features() -> None:
    rng = random.Random(7)
    rows = [
        {
            "hours": rng.randrange(0, 24 * 400, 6),
            "shipper_name": rng.choice(PARTIES),
            "consignee_name": rng.choice(PARTIES),
            "hs_code": rng.choice(CHAPTERS),
            "port_of_loading": rng.choice(PORTS),
            "port_of_discharge": "GEPTI",
            "container_number": rng.choice(BOXES),
            "inspected": rng.choice([True, None]),
            "inspection_result": rng.choice(RESULTS),
            "amendments": rng.choice([0, 1]),
        }
        for _ in range(300)
    ]
    frame = _frame(rows).sort("filed_at")
    cutoff = frame["filed_at"][150]
    before = point_in_time_features(frame).filter(pl.col("filed_at") <= cutoff)
    # Rewrite everything at or after the cutoff (including rows at the cutoff instant
    # itself): other parties, seizures everywhere, other containers and routes, reordered.
    later = frame.filter(pl.col("filed_at") >= cutoff)
    altered = later.with_columns(
        pl.lit("seizure").alias("inspection_result"),
        pl.lit(True).alias("inspected"),
        pl.col("consignee_name").reverse(),
        pl.col("shipper_name").shuffle(seed=1),
        pl.col("container_number").shuffle(seed=2),
        pl.lit("9999").alias("hs_code"),
        pl.lit(5, dtype=pl.Int32).alias("amendments"),
    )
    earlier = frame.filter(pl.col("filed_at") < cutoff)
    changed = pl.concat([altered.sample(fraction=1.0, shuffle=True, seed=3), earlier])
    after = point_in_time_features(changed)
    # Rows strictly before the cutoff are untouched, so their features must be identical.
    key = ["bl_number"]
    strict = before.filter(pl.col("filed_at") < cutoff).sort(key)
    assert_frame_equal(strict, after.filter(pl.col("filed_at") < cutoff).sort(key))
    # Rows AT the cutoff had their own values changed, but not what they can see: features
    # depend only on strictly earlier rows, so the history columns are unchanged.
    # (The chapter shares are left out: the altered rows' own hs_code changed.)
    at = [c for c in HISTORY_FEATURES if not c.endswith("hs_chapter_share")]
    same_before = before.filter(pl.col("filed_at") == cutoff)
    same_after = after.filter(pl.col("filed_at") == cutoff)
    assert same_before.height >= 1
    # Counts that do not depend on the row's own (altered) keys stay put for rows whose
    # parties did not change; check those rows explicitly.
    joined = same_before.join(same_after, on=key, suffix="_after")
    steady = joined.filter(
        (pl.col("consignee_name").eq_missing(pl.col("consignee_name_after")))
        & (pl.col("shipper_name").eq_missing(pl.col("shipper_name_after")))
        & (pl.col("container_number").eq_missing(pl.col("container_number_after")))
    )
    for name in at:
        assert steady[name].to_list() == steady[f"{name}_after"].to_list(), name


def test_row_sees_earlier_rows_but_never_itself_or_same_instant() -> None:
    base = {
        "shipper_name": "Acme Ltd",
        "consignee_name": "Kappa LLC",
        "hs_code": "0901",
        "port_of_loading": "ECGYE",
        "port_of_discharge": "GEPTI",
        "container_number": "MSCU1234565",
        "inspected": True,
        "inspection_result": "seizure",
        "amendments": 1,
    }
    # An unrelated row 100 days earlier: the history reaches back far enough for ages.
    early = {**base, "consignee_name": "Other Co", "container_number": None, "hours": -2400}
    rows = [early, {**base, "hours": 0}, {**base, "hours": 0}, {**base, "hours": 48}]
    out = point_in_time_features(_frame(rows))[1:]
    assert out["consignee_is_new"].to_list() == [True, True, False]
    assert out["consignee_shipments_30d"].to_list() == [0, 0, 2]
    assert out["container_prior_seizures"].to_list() == [0, 0, 2]
    assert out["consignee_days_since_last_amendment"].to_list() == [None, None, 2.0]
    assert out["consignee_first_seen_days"].to_list() == [0.0, 0.0, 2.0]
    assert out["consignee_positive_rate"][2] == pytest.approx((2 + 0.5) / (2 + 10))
    assert out["consignee_route_is_new"].to_list() == [True, True, False]


def test_party_age_is_unknown_until_the_history_reaches_back_far_enough() -> None:
    base = {"shipper_name": "Acme Ltd", "hs_code": "0901", "container_number": None}
    lookback = FIRST_SEEN_LOOKBACK_DAYS * 24
    rows = [
        {**base, "consignee_name": "Old Trader", "hours": 0},  # the history's first day
        {**base, "consignee_name": "Old Trader", "hours": lookback + 240},
        {**base, "consignee_name": "Newcomer", "hours": lookback - 24},  # too early to tell
        {**base, "consignee_name": "Newcomer", "hours": lookback + 240},
        {**base, "consignee_name": "Later", "hours": lookback + 24},  # after the lookback
        {**base, "consignee_name": "Later", "hours": lookback + 240},
    ]
    out = point_in_time_features(_frame(rows))
    # Seen on the history's first day: could be years old, so its age is unknown.
    assert out["consignee_first_seen_days"].to_list()[:2] == [None, None]
    assert out["consignee_first_seen_days"].to_list()[2:4] == [None, None]
    # First seen 90+ days into the history: a real first sighting (0 days, then 9 days).
    assert out["consignee_first_seen_days"].to_list()[4:] == [0.0, 9.0]
    # "New" follows the same rule: unknown before the lookback, never new once seen.
    assert out["consignee_is_new"].to_list() == [None, False, None, False, True, False]
    assert out["shipper_is_new"].to_list() == [None, False, False, False, False, False]


def test_empty_frame_gives_empty_typed_columns() -> None:
    frame = pl.DataFrame(schema={"filed_at": pl.Datetime("us", "UTC"), "bl_number": pl.String})
    out = point_in_time_features(frame)
    assert out.height == 0
    assert set(HISTORY_COLUMNS) <= set(out.columns)


def test_row_without_filing_time_gets_null_features() -> None:
    frame = pl.DataFrame(
        {
            "filed_at": [T0, None, T0 + timedelta(days=1)],
            "consignee_name": ["A", "A", "A"],
            "container_number": ["X", "X", "X"],
        },
        schema_overrides={"filed_at": pl.Datetime("us", "UTC")},
    )
    out = point_in_time_features(frame)
    # A one-day history cannot call the first row new; the third has been seen before.
    assert out["consignee_is_new"].to_list() == [None, None, False]
    assert out["consignee_shipments_30d"].to_list() == [0, None, 1]
    assert out["container_past_appearances_365d"].to_list() == [0, None, 1]

    none_timed = point_in_time_features(frame.with_columns(pl.lit(None).alias("filed_at")))
    assert none_timed["consignee_is_new"].to_list() == [None, None, None]
