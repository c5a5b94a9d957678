"""Screening probe: recall, false positives and the entry named, per kind of name variant.

    .venv/bin/python -m benchmarks.probe_screening                 # ~30 s, figures of the README
    .venv/bin/python -m benchmarks.probe_screening --list my.csv --negatives traders.csv

Positives are list names perturbed one class at a time — typo, merged/split words, word
order, legal form dropped/changed/added, one extra word, transliteration, and aliases (an
alias of the entry, as is or with one of the other perturbations) — drawn from the shipped
UN Security Council list (entities, individuals, aliases) and from a synthetic list of
look-alike sanctioned companies (``benchmarks/_probe_list.py``). Negatives are ordinary
company names from the demo generator's name machinery and given-name trading companies;
any negative that is near-identical to a list name (by plain string measures, independent
of the screening under test) is removed and counted. Everything is screened through
:class:`engine.watchlist.WatchlistStage` as a batch of shipper names.

Reported per class: recall at the threshold, and the share of hits whose entry is the one
perturbed (or an entry with exactly the same name, which nothing can tell apart); per
negative source: the false-positive rate; and a table of recall / false-positive rate /
precision over thresholds so a unit can choose its own.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from benchmarks._probe_list import LIST_NAME, synthetic_entries, synthetic_parties
from benchmarks._probe_perturb import CLASSES, transliteration
from engine.parties import party_key
from engine.watchlist import DEFAULT_THRESHOLD, UN_LIST_PATH, Watchlist, WatchlistStage

CONTAINS = "holds a whole listed name"
PERTURBATIONS: tuple[str, ...] = (*CLASSES, "transliteration", "alias")
THRESHOLDS: tuple[float, ...] = (70, 75, 80, 85, 88, 90, 92, 95)
_ARABIC_PROGRAMMES = ("QD", "TA", "IQ", "LY", "YE", "SO", "SD")
_STYLE_ORIGIN = {"russian": "russian", "persian": "arabic", "chinese": "chinese",
                 "korean": "korean", "brand": "other"}  # fmt: skip


@dataclass(frozen=True)
class ProbeSet:
    """The probe's names: ``name, truth, accept, kind, source`` (truth null for negatives)."""

    watchlist: Watchlist
    rows: pl.DataFrame
    skipped: dict[str, int]
    excluded_negatives: dict[str, int]


@dataclass
class ProbeReport:
    """Figures of one probe run at one threshold, plus the threshold table."""

    threshold: float
    positives: int
    negatives: int
    recall: float
    correct_entry: float
    false_positive_rate: float
    by_class: dict[str, dict[str, float]]
    by_negative_source: dict[str, dict[str, float]]
    thresholds: list[dict[str, float]]
    skipped: dict[str, int]
    excluded_negatives: dict[str, int]
    misses: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    wrong_entry: list[tuple[Any, ...]] = field(default_factory=list)
    false_positives: list[tuple[Any, ...]] = field(default_factory=list)


def _keys(names: Sequence[str | None]) -> list[str | None]:
    frame = pl.DataFrame({"n": list(names)}, schema={"n": pl.String})
    return frame.select(party_key(pl.col("n")))["n"].to_list()


def _origin(reference: str, style: str | None) -> str:
    if style is not None:
        return _STYLE_ORIGIN[style]
    if reference.startswith("KP"):
        return "korean"
    return "arabic" if reference.startswith(_ARABIC_PROGRAMMES) else "other"


def _sources(un: Watchlist, n_synthetic: int, seed: int) -> tuple[pl.DataFrame, Watchlist]:
    """List names to perturb (primary names and aliases, by source) and the whole list."""
    entries = synthetic_entries(n_synthetic, seed=seed)
    synth = synthetic_parties(entries)
    style = {f"{e.reference}": e.style for e in entries}
    parties = pl.concat([un.parties, synth.select(un.parties.columns)])
    watchlist = Watchlist(
        parties=parties, vessels=un.vessels, containers=un.containers, sources=un.sources
    )
    # names written in Latin letters only (A-Z): the perturbations are defined on those
    latin = pl.col("alias").str.contains(r"[A-Za-z]") & ~pl.col("alias").str.contains(
        r"[^\P{L}A-Za-z]"
    )
    synthetic = pl.col("list") == LIST_NAME
    names = (
        parties.filter(latin)
        .with_columns(
            pl.when(synthetic)
            .then(pl.lit("synthetic"))
            .when(pl.col("list") == "UN SC")
            .then(pl.concat_str(pl.lit("un-"), pl.col("party_type")))
            .otherwise(pl.lit("own list"))
            .alias("source"),
            (pl.col("alias") == pl.col("name")).alias("primary"),
            pl.when(synthetic)
            .then(pl.col("reference").replace_strict(style, default=None))
            .alias("style"),
        )
        .with_columns(pl.col("alias").str.to_uppercase())
        .unique(["entry", "alias"], maintain_order=True)
    )
    return names, watchlist


def _pick(frame: pl.DataFrame, quotas: dict[str, int], rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for source, n in quotas.items():
        rows = frame.filter(pl.col("source") == source).rows(named=True)
        rng.shuffle(rows)
        out += rows[: n * 3]  # spare names for classes that do not apply to every name
    return out


def _perturb(kind: str, row: dict[str, Any], rng: random.Random) -> str | None:
    name = row["alias"]
    if kind == "transliteration":
        return transliteration(name, rng, _origin(row["reference"], row["style"]))
    if kind == "alias":
        how = rng.choice(["as is", "as is", *CLASSES])
        return name if how == "as is" else CLASSES[how](name, rng)
    return CLASSES[kind](name, rng)


def _positives(
    names: pl.DataFrame, per_class: int, rng: random.Random
) -> tuple[pl.DataFrame, dict[str, int]]:
    keyed = names.with_columns(party_key(pl.col("alias")).alias("source_key"))
    # entries by normalised name: a variant equal to another entry's name has no single
    # right answer, and entries sharing the source name cannot be told apart
    key_entries = (
        keyed.drop_nulls("source_key").group_by("source_key").agg(pl.col("entry").unique())
    )
    if (names["source"] == "own list").any():  # a unit probing its own list: half of it
        quotas = {
            "own list": per_class // 2,
            "un-entity": per_class * 3 // 20,
            "un-individual": per_class // 10,
        }
    else:
        quotas = {"un-entity": per_class * 3 // 10, "un-individual": per_class // 5}
    quotas["synthetic"] = per_class - sum(quotas.values())
    tried = []
    for kind in PERTURBATIONS:
        pool = keyed.filter(~pl.col("primary") if kind == "alias" else pl.col("primary"))
        for source, quota in quotas.items():
            for row in _pick(pool, {source: quota}, rng):
                perturbed = _perturb(kind, row, rng)
                tried.append({**row, "name": perturbed, "kind": kind, "quota": quota})
    frame = (
        pl.DataFrame(tried, infer_schema_length=None)
        .with_columns(party_key(pl.col("name")).alias("key"))
        .join(key_entries.rename({"source_key": "key", "entry": "owners"}), on="key", how="left")
        .join(key_entries.rename({"entry": "accept"}), on="source_key", how="left")
        .with_columns(
            (
                pl.col("key").is_not_null()
                & (pl.col("owners").is_null() | pl.col("entry").is_in(pl.col("owners")))
            ).alias("valid")
        )
    )
    skipped = frame.filter(~pl.col("valid")).group_by("kind").len().sort("kind").rows()
    chosen = (
        frame.filter("valid")
        .with_columns(pl.int_range(pl.len()).over("kind", "source").alias("rank"))
        .filter(pl.col("rank") < pl.col("quota"))
        .select(
            "name",
            pl.col("entry").alias("truth"),
            "accept",
            "kind",
            "source",
            pl.col("alias").alias("original"),
        )
    )
    return chosen, {str(k): int(v) for k, v in skipped}


def _ordinary_names(n: int, seed: int) -> pl.DataFrame:
    """Generated trader names (the demo generator's machinery) and given-name companies."""
    from benchmarks.bench_watchlist import ordinary_names
    from engine.generate._parties import consignee_pool, forwarder_pool, shipper_pool
    from engine.generate._world import load_world

    rng = np.random.default_rng(seed)
    world = load_world()
    generated = pl.concat(
        [
            shipper_pool(rng, world, n).text["name"],
            consignee_pool(rng, world, n, 1.0, 1).text["name"],
            forwarder_pool(rng, world, n // 4).text["name"],
        ]
    ).unique(maintain_order=True)
    generated = generated.sample(min(n, generated.len()), seed=seed, shuffle=True)
    given = pl.Series(ordinary_names(n, random.Random(seed))).unique(maintain_order=True)
    return pl.DataFrame(
        {
            "name": pl.concat([generated, given]),
            "source": ["generated traders"] * generated.len()
            + ["given-name traders"] * given.len(),
        }
    )


def _near_identical(names: pl.Series, list_names: pl.Series) -> pl.DataFrame:
    """Why each negative is too close to a list name to count as ordinary, by plain string
    measures: same key, token-sort ratio ≥ 90, ratio ≥ 90 with spaces removed, or every
    word of a list name of two or more words in it."""
    neg = pl.DataFrame({"key": _keys(names.to_list())}).with_row_index("nid")
    lst = (
        pl.DataFrame({"key": _keys(list_names.to_list())})
        .drop_nulls()
        .unique()
        .with_row_index("lid")
    )
    reasons = pl.Series([None] * neg.height, dtype=pl.String)
    nk = neg["key"].fill_null("").to_list()
    lk = lst["key"].to_list()
    same = neg["key"].is_in(lst["key"].implode())
    sort_ratio = process.cdist(
        nk, lk, scorer=fuzz.ratio, score_cutoff=90, dtype=np.uint8, workers=-1
    )
    compact = process.cdist(
        [k.replace(" ", "") for k in nk],
        [k.replace(" ", "") for k in lk],
        scorer=fuzz.ratio,
        score_cutoff=90,
        dtype=np.uint8,
        workers=-1,
    )
    ltok = lst.with_columns(pl.col("key").str.split(" ").alias("tok")).with_columns(
        pl.col("tok").list.len().alias("n")
    )
    ltok = ltok.filter(pl.col("n") >= 2)
    contained = (
        neg.with_columns(pl.col("key").str.split(" ").alias("tok"))
        .explode("tok")
        .join(ltok.explode("tok").select("lid", "tok", "n"), on="tok")
        .group_by("nid", "lid", "n")
        .len()
        .filter(pl.col("len") == pl.col("n"))["nid"]
        .unique()
    )
    checks = [
        ("same key as a list name", same.to_numpy()),
        ("token-sort ratio >= 90", sort_ratio.max(axis=1, initial=0) > 0),
        ("ratio >= 90 without spaces", compact.max(axis=1, initial=0) > 0),
        (CONTAINS, np.isin(np.arange(neg.height), contained.to_numpy())),
    ]
    for reason, mask in reversed(checks):
        reasons = pl.select(
            pl.when(pl.Series(mask)).then(pl.lit(reason)).otherwise(pl.lit(reasons))
        ).to_series()
    return pl.DataFrame({"name": names, "excluded": reasons})


def build_probe(
    lists: Sequence[Path] = (UN_LIST_PATH,),
    *,
    per_class: int = 500,
    n_negatives: int = 6000,
    n_synthetic: int = 600,
    negatives_file: Path | None = None,
    seed: int = 20240926,
) -> ProbeSet:
    """Perturbed list names and ordinary names, reproducible from ``seed``."""
    rng = random.Random(seed)
    base = Watchlist.load(list(lists))
    names, watchlist = _sources(base, n_synthetic, seed)
    positives, skipped = _positives(names, per_class, rng)
    ordinary = _ordinary_names(n_negatives, seed)
    if negatives_file is not None:
        lines = negatives_file.read_text(encoding="utf-8").splitlines()
        own = pl.Series("name", [line.strip() for line in lines if line.strip()])
        ordinary = pl.concat(
            [ordinary, pl.DataFrame({"name": own, "source": ["own names"] * own.len()})]
        )
    checked = _near_identical(ordinary["name"], watchlist.parties["alias"])
    excluded = checked["excluded"].drop_nulls().value_counts().sort("excluded").rows()
    # Names holding a whole listed name ("ABDUL KARIM FRUITS" holds the alias "ABDUL
    # KARIM") are shown as their own group, outside the false-positive rate.
    holds = checked["excluded"] == CONTAINS
    negatives = ordinary.with_columns(
        pl.when(holds).then(pl.lit(CONTAINS)).otherwise(pl.col("source")).alias("source")
    ).filter(checked["excluded"].is_null() | holds)
    rows = pl.concat(
        [
            positives.cast(_ROW_SCHEMA),  # type: ignore[arg-type]
            negatives.select(
                "name",
                pl.lit(None, dtype=pl.String).alias("truth"),
                pl.lit(None, dtype=pl.List(pl.String)).alias("accept"),
                pl.lit("negative").alias("kind"),
                "source",
                pl.lit(None, dtype=pl.String).alias("original"),
            ),
        ]
    )
    return ProbeSet(watchlist, rows, skipped, {str(k): int(v) for k, v in excluded})


_ROW_SCHEMA = {
    "name": pl.String,
    "truth": pl.String,
    "accept": pl.List(pl.String),
    "kind": pl.String,
    "source": pl.String,
    "original": pl.String,
}


def screen(probe: ProbeSet, stage: WatchlistStage) -> pl.DataFrame:
    """The probe rows with ``score`` and ``entry`` from the stage (names as shipper)."""
    out = stage.apply(probe.rows.select(pl.col("name").alias("shipper_name")))
    return probe.rows.with_columns(
        out["watchlist_party_score"].alias("score"),
        out["watchlist_entry"].alias("entry"),
        *(
            [out["watchlist_party_detail"].alias("detail")]
            if "watchlist_party_detail" in out.columns
            else []
        ),
    ).with_columns(pl.col("entry").is_in(pl.col("accept")).fill_null(False).alias("correct"))


def _share(mask: pl.Series) -> float:
    return int(mask.sum()) / mask.len() if mask.len() else 0.0


def _rates(frame: pl.DataFrame, threshold: float) -> dict[str, float]:
    hit = frame.filter(pl.col("score") >= threshold)
    return {
        "n": frame.height,
        "recall": hit.height / frame.height if frame.height else 0.0,
        "correct_entry": _share(hit["correct"]),
    }


def report(probe: ProbeSet, scored: pl.DataFrame, threshold: float) -> ProbeReport:
    """Figures of a screened probe at ``threshold``, with the table over THRESHOLDS."""
    pos = scored.filter(pl.col("truth").is_not_null())
    everything = scored.filter(pl.col("truth").is_null())
    neg = everything.filter(pl.col("source") != CONTAINS)
    table = []
    for t in sorted({*THRESHOLDS, threshold}):
        tp = int((pos["score"] >= t).sum())
        fp = int((neg["score"] >= t).sum())
        by_kind = [_rates(pos.filter(pl.col("kind") == k), t)["recall"] for k in PERTURBATIONS]
        table.append(
            {
                "threshold": t,
                "recall": tp / pos.height,
                "lowest_class_recall": min(by_kind),
                "false_positive_rate": fp / neg.height,
                "precision": tp / (tp + fp) if tp + fp else 1.0,
                "correct_entry": _rates(pos, t)["correct_entry"],
            }
        )
    at = next(r for r in table if r["threshold"] == threshold)
    misses = {
        k: pos.filter((pl.col("kind") == k) & (pl.col("score") < threshold))
        .select("name", "original")
        .rows()[:8]
        for k in PERTURBATIONS
    }
    wrong = pos.filter((pl.col("score") >= threshold) & ~pl.col("correct"))
    fps = neg.filter(pl.col("score") >= threshold).sort("score", descending=True)
    return ProbeReport(
        threshold=threshold,
        positives=pos.height,
        negatives=neg.height,
        recall=at["recall"],
        correct_entry=at["correct_entry"],
        false_positive_rate=at["false_positive_rate"],
        by_class={k: _rates(pos.filter(pl.col("kind") == k), threshold) for k in PERTURBATIONS},
        by_negative_source={
            str(s): {
                "n": g.height,
                "false_positive_rate": _share(g["score"] >= threshold),
                "reported_rate": _share(g["score"] > 0),
            }
            for (s,), g in everything.group_by("source", maintain_order=True)
        },
        thresholds=table,
        skipped=probe.skipped,
        excluded_negatives=probe.excluded_negatives,
        misses=misses,
        wrong_entry=wrong.select("name", "entry", "truth").rows()[:12],
        false_positives=fps.select("name", "entry", "score").rows()[:12],
    )


def render(rep: ProbeReport, *, show: int = 5) -> str:
    """The report as the README tables (markdown) plus examples of misses and FPs."""
    lines = [
        f"threshold {rep.threshold:g}: {rep.positives} perturbed list names, "
        f"{rep.negatives} ordinary names",
        "",
        "| class | names | recall | right entry |",
        "|---|---|---|---|",
    ]
    for kind, r in rep.by_class.items():
        lines.append(f"| {kind} | {r['n']:.0f} | {r['recall']:.3f} | {r['correct_entry']:.3f} |")
    lines.append(
        f"| **all** | {rep.positives} | **{rep.recall:.3f}** | **{rep.correct_entry:.3f}** |"
    )
    lines += [
        "",
        "| ordinary names | names | false positives | reported (score > 0) |",
        "|---|---|---|---|",
    ]
    for source, r in rep.by_negative_source.items():
        lines.append(
            f"| {source} | {r['n']:.0f} | {r['false_positive_rate']:.4f} | "
            f"{r['reported_rate']:.4f} |"
        )
    lines.append(
        f"| **all but '{CONTAINS}'** | {rep.negatives} | **{rep.false_positive_rate:.4f}** | |"
    )
    lines += [
        "",
        "| threshold | recall | lowest class | false-positive rate | precision | right entry |",
        "|---|---|---|---|---|---|",
    ]
    for r in rep.thresholds:
        lines.append(
            f"| {r['threshold']:g} | {r['recall']:.3f} | {r['lowest_class_recall']:.3f} | "
            f"{r['false_positive_rate']:.4f} | {r['precision']:.4f} | {r['correct_entry']:.3f} |"
        )
    lines += [
        "",
        f"skipped (class does not apply or variant is another entry's name): {rep.skipped}",
    ]
    lines.append(
        f"ordinary names set aside (near-identical) or grouped apart: {rep.excluded_negatives}"
    )
    lines.append(f"(the '{CONTAINS}' group is reported but not in the false-positive rate)")
    for kind, rows in rep.misses.items():
        for name, original in rows[:show]:
            lines.append(f"  miss [{kind}] {name!r} (from {original!r})")
    for name, entry, truth in rep.wrong_entry[:show]:
        lines.append(f"  wrong entry {name!r} -> {entry} (planted {truth})")
    for name, entry, score in rep.false_positives[:show]:
        lines.append(f"  FP {name!r} -> {entry} ({score:.1f})")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", type=Path, action="append", help="list file(s) to probe")
    parser.add_argument("--negatives", type=Path, help="one ordinary name per line (no header)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--show", type=int, default=5, help="examples of misses / FPs shown")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    probe = build_probe(
        args.list or [UN_LIST_PATH], per_class=args.per_class, negatives_file=args.negatives
    )
    stage = WatchlistStage(probe.watchlist, threshold=args.threshold, report_floor=min(THRESHOLDS))
    scored = screen(probe, stage)
    rep = report(probe, scored, args.threshold)
    print(render(rep, show=args.show))
    if args.json:
        args.json.write_text(json.dumps(asdict(rep), indent=1))


if __name__ == "__main__":
    main()
