"""Evaluation the way customs measures success: precision at the inspection rate.

All functions take labels (0/1) and scores as numpy arrays. Rows are ranked by score with
ties broken by row position, so results are deterministic.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["RATES", "curve_points", "evaluate_scores", "plot_precision_curve", "precision_table"]

RATES: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10)
CURVE_RATES: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.10, 0.15, 0.20, 0.30)


def _ranked(y: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    order = np.lexsort((np.arange(scores.shape[0]), -scores))
    return np.asarray(y, dtype=np.float64)[order]


def _at(ranked: npt.NDArray[np.float64], rate: float, total_pos: float) -> tuple[int, float, float]:
    k = max(1, math.ceil(rate * ranked.shape[0]))
    hits = float(ranked[:k].sum())
    return k, hits / k, (hits / total_pos if total_pos else 0.0)


def average_precision(y: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> float:
    """AUC-PR as average precision (mean precision at each positive's rank)."""
    ranked = _ranked(y, scores)
    positives = ranked.sum()
    if positives == 0:
        return 0.0
    precision = np.cumsum(ranked) / np.arange(1, ranked.shape[0] + 1)
    return float((precision * ranked).sum() / positives)


def roc_auc(y: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> float:
    """ROC AUC by the rank-sum formula (average ranks for ties)."""
    y = np.asarray(y)
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.shape[0], dtype=np.float64)
    sorted_scores = scores[order]
    # Average ranks over ties so the statistic does not depend on row order.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    n_pos = float((y == 1).sum())
    n_neg = float(y.shape[0] - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibration(
    y: npt.NDArray[Any], scores: npt.NDArray[np.float64], bins: int = 10
) -> list[dict[str, float]]:
    """Mean predicted probability vs observed rate in equal-count bins of the score."""
    order = np.lexsort((np.arange(scores.shape[0]), scores))
    out = []
    for chunk in np.array_split(order, bins):
        if chunk.size:
            out.append(
                {
                    "rows": int(chunk.size),
                    "predicted": float(scores[chunk].mean()),
                    "observed": float(np.asarray(y)[chunk].mean()),
                }
            )
    return out


def evaluate_scores(y: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Precision/recall at 1, 2, 5, 10 %, AUC-PR, ROC AUC, Brier score and calibration."""
    y = np.asarray(y, dtype=np.float64)
    ranked = _ranked(y, scores)
    total = float(y.sum())
    metrics: dict[str, Any] = {
        "rows": int(y.shape[0]),
        "positives": int(total),
        "base_rate": total / y.shape[0] if y.shape[0] else 0.0,
    }
    for rate in RATES:
        k, precision, recall = _at(ranked, rate, total)
        tag = f"{rate * 100:g}pct"
        metrics[f"precision_at_{tag}"] = precision
        metrics[f"recall_at_{tag}"] = recall
        metrics[f"inspected_at_{tag}"] = k
    metrics["average_precision"] = average_precision(y, scores)
    metrics["roc_auc"] = roc_auc(y, scores)
    metrics["brier"] = float(np.mean((scores - y) ** 2))
    metrics["calibration"] = calibration(y, scores)
    metrics["curve"] = curve_points(y, scores)
    return metrics


def curve_points(y: npt.NDArray[Any], scores: npt.NDArray[np.float64]) -> list[dict[str, float]]:
    """Precision and recall at a range of inspection rates (the precision-at-capacity curve)."""
    ranked = _ranked(y, scores)
    total = float(ranked.sum())
    points = []
    for rate in CURVE_RATES:
        k, precision, recall = _at(ranked, rate, total)
        points.append({"rate": rate, "inspected": k, "precision": precision, "recall": recall})
    return points


def precision_table(metrics: dict[str, Any]) -> list[tuple[str, int, float, float]]:
    """(rate, inspected, precision, recall) rows for display."""
    return [
        (f"{p['rate'] * 100:g}%", int(p["inspected"]), float(p["precision"]), float(p["recall"]))
        for p in metrics["curve"]
    ]


def plot_precision_curve(metrics: dict[str, Any], path: Path | str, *, title: str) -> Path:
    """Save the precision-at-capacity curve (and recall) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt

    rates = [p["rate"] * 100 for p in metrics["curve"]]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(rates, [p["precision"] for p in metrics["curve"]], marker="o", label="precision")
    ax.plot(rates, [p["recall"] for p in metrics["curve"]], marker="s", label="recall")
    ax.axhline(metrics["base_rate"], color="grey", linestyle=":", label="base rate")
    ax.set_xlabel("inspection rate (% of declarations)")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out)
    plt.close(fig)
    return out
