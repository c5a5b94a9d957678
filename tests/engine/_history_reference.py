"""Plain-Python reference for the history features: loops over rows, no cleverness."""

from __future__ import annotations

from datetime import datetime
from typing import Any

DAY = 86_400.0
POSITIVE = {"seizure", "irregularity"}


def _days(a: datetime, b: datetime) -> float:
    return (a - b).total_seconds() / DAY


def reference_features(
    query: list[dict[str, Any]], history: list[dict[str, Any]], *, rate: float = 0.05,
    strength: float = 10.0,
) -> list[dict[str, Any]]:
    """Features of each query row against the history rows filed strictly before it.

    Rows carry: t, s, c (party keys), chapter, pol, pod, box, inspected, result, amendments.
    """
    out = []
    for q in query:
        t = q["t"]
        past = [h for h in history if h["t"] is not None and h["t"] < t]
        row: dict[str, Any] = {}
        for role, key, other in (("consignee", "c", "s"), ("shipper", "s", "c")):
            k = q[key]
            mine = [h for h in past if k is not None and h[key] == k]
            if k is None:
                for name in ("is_new", "first_seen_days", "shipments_30d", "shipments_90d",
                             "shipments_365d", "past_inspections", "past_positives",
                             "positive_rate", "hs_chapter_share"):
                    row[f"{role}_{name}"] = None
                row[f"{role}_distinct_365d"] = None
                continue
            row[f"{role}_is_new"] = not mine
            row[f"{role}_first_seen_days"] = _days(t, min(h["t"] for h in mine)) if mine else 0.0
            for w in (30, 90, 365):
                row[f"{role}_shipments_{w}d"] = sum(1 for h in mine if _days(t, h["t"]) <= w)
            insp = [h for h in mine if h["inspected"] or h["result"] is not None]
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
            row["consignee_route_is_new"] = not any(
                h["c"] == c and h["pol"] == q["pol"] and h["pod"] == q["pod"] for h in past
            )
        box = q["box"]
        if box is None:
            row["container_past_appearances_365d"] = None
            row["container_prior_seizures"] = None
        else:
            same_box = [h for h in past if h["box"] == box]
            row["container_past_appearances_365d"] = sum(
                1 for h in same_box if _days(t, h["t"]) <= 365
            )
            row["container_prior_seizures"] = sum(1 for h in same_box if h["result"] == "seizure")
        amended = [
            h["t"] for h in past if c is not None and h["c"] == c and (h["amendments"] or 0) > 0
        ]
        row["consignee_days_since_last_amendment"] = _days(t, max(amended)) if amended else None
        row["consignee_distinct_shippers_365d"] = row.pop("consignee_distinct_365d")
        row["shipper_distinct_consignees_365d"] = row.pop("shipper_distinct_365d")
        out.append(row)
    return out
