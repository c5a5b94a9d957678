"""Does exploration-aware control teach the model more than a uniform control sample?

One command::

    python -m benchmarks.sim_explore --weeks 8 --seeds 5

For each seed the engine's generator writes a labelled history and ``weeks × 7`` later days
(plus one week for the final evaluation) with truth files. Both arms start from the same
model, trained on the history, and then, day by day:

1. score the day with the current model (the model alone: risk = the scoring policy's model
   part; the rule pack is left out so the comparison is about what the model learns);
2. select within capacity with :func:`engine.policy.select` — the *uniform* arm spends the
   non-risk budget on the uniform control sample, the *explore* arm spends half of it on the
   same uniform control and half on the ``explore`` sample (``selection.explore_fraction``);
3. inspect the selected rows: a planted row (truth file) is a seizure, any other is clean;
4. add the outcomes to the arm's labelled history; every 7 days retrain on it (LightGBM on
   one thread, deterministic).

Reported per arm and seed: seizures per inspection over the simulated weeks (all selected
rows), seizures among the explore/control rows alone, and the final model's precision at
capacity on the evaluation week (top ``capacity`` rows per day by model probability, truth
as the label). Lift is explore ÷ uniform per seed; mean and standard deviation over seeds.

Simplifications (stated in models/README.md): history features are computed once per seed
from the manifests (new parties and routes, volumes), so features derived from inspection
outcomes (past inspections, positive rates, prior seizures) are left out of the recipe —
they would depend on the arm; inspections find every planted row and nothing else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from engine.generate import TypologyRates, generate
from engine.policy import Capacity, ScoringPolicy, combine, select
from engine.schema import ROW_INDEX
from models.artifact import ModelArtifact
from models.recipe import ModelRecipe
from models.train import train_model

# The shipped demo recipe without the features derived from inspection outcomes.
OUTCOME_FEATURES = (
    "consignee_past_inspections",
    "consignee_positive_rate",
    "shipper_positive_rate",
    "container_prior_seizures",
)
ARMS = ("uniform", "explore")


@dataclass(frozen=True)
class SimConfig:
    weeks: int = 8
    seeds: tuple[int, ...] = (1, 2, 3, 4, 5)
    rows_per_day: int = 1000
    # 91: party and route novelty (``*_is_new``) is unknown until the store covers the 90
    # days before a row (engine.history.FIRST_SEEN_LOOKBACK_DAYS); from the first simulated
    # day on it is known, as in a unit whose history store is in its fourth month.
    history_days: int = 91
    eval_days: int = 7
    capacity: str = "3%"
    budget: float = 0.2  # share of capacity not spent on risk (control, or control + explore)
    rate_factor: float = 3.0  # typology rates × this (the defaults plant ~0.3 % of rows)
    rounds: int = 200

    @property
    def days(self) -> int:
        return self.weeks * 7


@dataclass
class ArmResult:
    inspections: int = 0
    seizures: int = 0
    by_reason: dict[str, list[int]] = field(default_factory=dict)  # reason: [inspected, found]
    final_precision: float = 0.0
    final_found: int = 0
    final_inspected: int = 0

    @property
    def seizures_per_inspection(self) -> float:
        return self.seizures / self.inspections if self.inspections else 0.0


def recipe(cfg: SimConfig, seed: int) -> ModelRecipe:
    spec_path = Path(__file__).resolve().parents[1] / "models" / "examples" / "demo" / "spec.yaml"
    import yaml

    model = dict(yaml.safe_load(spec_path.read_text(encoding="utf-8"))["model"])
    model["numeric"] = [c for c in model["numeric"] if c not in OUTCOME_FEATURES]
    model["params"] = {
        **model.get("params", {}),
        "learning_rate": 0.1,
        "num_boost_round": cfg.rounds,
        "early_stopping_rounds": 30,
        "num_threads": 1,
    }
    model["seed"] = seed
    return ModelRecipe.from_dict(model)


def policies(cfg: SimConfig) -> dict[str, ScoringPolicy]:
    base: dict[str, Any] = {"risk": {"rules_weight": 0.0}, "selection": {"min_control": 0}}
    return {
        "uniform": ScoringPolicy.from_dict(
            {**base, "selection": {**base["selection"], "control_fraction": cfg.budget}}
        ),
        "explore": ScoringPolicy.from_dict(
            {
                **base,
                "selection": {
                    **base["selection"],
                    "control_fraction": cfg.budget / 2,
                    "explore_fraction": cfg.budget / 2,
                },
            }
        ),
    }


def make_world(cfg: SimConfig, seed: int, folder: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(labelled history, later days) prepared once; later days carry ``__day`` and
    ``__planted``."""
    from engine.prepare import prepare_history

    rates = TypologyRates(**{k: v * cfg.rate_factor for k, v in asdict(TypologyRates()).items()})
    data = generate(
        days=cfg.days + cfg.eval_days,
        rows_per_day=cfg.rows_per_day,
        seed=seed,
        out_dir=folder,
        history_days=cfg.history_days,
        formats=("parquet",),
        rates=rates,
    )
    assert data.history is not None
    days = []
    for k, (manifest, truth) in enumerate(zip(data.manifests, data.truth, strict=True)):
        planted = (
            pl.read_parquet(truth).select(ROW_INDEX).with_columns(pl.lit(True).alias("__planted"))
        )
        day = (
            pl.read_parquet(manifest)
            .with_row_index(ROW_INDEX)
            .with_columns(pl.col(ROW_INDEX).cast(pl.Int64))
        )
        day = day.join(planted, on=ROW_INDEX, how="left").with_columns(
            pl.col("__planted").fill_null(False), pl.lit(k).alias("__day")
        )
        days.append(day)
    history = pl.read_parquet(data.history).with_columns(
        pl.lit(-1).alias("__day"), pl.lit(False).alias("__planted")
    )
    later = pl.concat(days, how="diagonal_relaxed")
    both = pl.concat([history, later], how="diagonal_relaxed")
    prepared = prepare_history(both.with_row_index("__order")).sort("__order")
    return (
        prepared.filter(pl.col("__day") < 0).drop("__day", "__planted", "__order", ROW_INDEX),
        prepared.filter(pl.col("__day") >= 0).drop("__order"),
    )


def run_seed(cfg: SimConfig, seed: int, work: Path) -> dict[str, ArmResult]:
    history, later = make_world(cfg, seed, work / f"seed{seed}")
    rec = recipe(cfg, seed)
    capacity = Capacity.parse(cfg.capacity)
    start_model = train_model(history, rec)
    results: dict[str, ArmResult] = {}
    for arm, policy in policies(cfg).items():
        model = start_model
        labelled = [history]
        result = ArmResult(by_reason={})
        for k in range(cfg.days):
            day = later.filter(pl.col("__day") == k)
            chosen = _select_day(model, day, policy, capacity, seed * 10_000 + k)
            inspected = day.join(chosen, on=ROW_INDEX, how="inner")
            found = inspected.get_column("__planted")
            result.inspections += inspected.height
            result.seizures += int(found.sum())
            for reason, n, hits in (
                inspected.group_by("selection_reason")
                .agg(pl.len(), pl.col("__planted").sum())
                .iter_rows()
            ):
                slot = result.by_reason.setdefault(str(reason), [0, 0])
                slot[0] += int(n)
                slot[1] += int(hits)
            labelled.append(
                inspected.drop("selection_reason", "__day", "__planted", ROW_INDEX).with_columns(
                    pl.lit(True).alias("inspected"),
                    pl.when(found)
                    .then(pl.lit("seizure"))
                    .otherwise(pl.lit("clean"))
                    .alias("inspection_result"),
                )
            )
            if (k + 1) % 7 == 0:
                model = train_model(pl.concat(labelled, how="diagonal_relaxed"), rec)
        evaluation = later.filter(pl.col("__day") >= cfg.days)
        for k in range(cfg.days, cfg.days + cfg.eval_days):
            day = evaluation.filter(pl.col("__day") == k)
            top = capacity.rows_for(day.height)
            p = model.forest.predict(model.plan.matrix(day))
            order = np.lexsort((np.arange(day.height), -p))[:top]
            result.final_found += int(day.get_column("__planted").to_numpy()[order].sum())
            result.final_inspected += top
        result.final_precision = result.final_found / max(result.final_inspected, 1)
        results[arm] = result
    return results


def _select_day(
    model: ModelArtifact,
    day: pl.DataFrame,
    policy: ScoringPolicy,
    capacity: Capacity,
    seed: int,
) -> pl.DataFrame:
    probability = model.forest.predict(model.plan.matrix(day))
    scored = day.with_columns(pl.Series("model_probability", probability))
    # outcome-derived history is not simulated per arm: exploration sees parties and routes
    scored = scored.drop([c for c in OUTCOME_FEATURES if c in scored.columns])
    risk = combine(scored, policy)
    chosen = select(risk, capacity, policy, seed=seed)
    return chosen.filter(pl.col("selected")).select(ROW_INDEX, "selection_reason")


def summarise(cfg: SimConfig, per_seed: dict[int, dict[str, ArmResult]]) -> str:
    lines = [
        f"weeks {cfg.weeks}, seeds {list(cfg.seeds)}, {cfg.rows_per_day} rows/day, "
        f"history {cfg.history_days} days, capacity {cfg.capacity}, non-risk budget "
        f"{cfg.budget:.0%} of capacity (uniform: all control; explore: half control, half "
        f"explore), typology rates ×{cfg.rate_factor:g}",
        "",
        "| seed | arm | inspections | seizures | seizures/inspection | control+explore rows: "
        "found/inspected | final P@capacity |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    lifts_rate: list[float] = []
    lifts_final: list[float] = []
    for seed, arms in per_seed.items():
        for arm in ARMS:
            r = arms[arm]
            side = [r.by_reason.get(k, [0, 0]) for k in ("control", "explore")]
            lines.append(
                f"| {seed} | {arm} | {r.inspections} | {r.seizures} | "
                f"{r.seizures_per_inspection:.4f} | {sum(s[1] for s in side)}/"
                f"{sum(s[0] for s in side)} | {r.final_precision:.3f} |"
            )
        u, e = arms["uniform"], arms["explore"]
        if u.seizures_per_inspection:
            lifts_rate.append(e.seizures_per_inspection / u.seizures_per_inspection)
        if u.final_precision:
            lifts_final.append(e.final_precision / u.final_precision)
    lines.append("")
    lines.append(f"lift in seizures per inspection (explore ÷ uniform): {_spread(lifts_rate)}")
    lines.append(f"lift in final precision at capacity (explore ÷ uniform): {_spread(lifts_final)}")
    return "\n".join(lines)


def _spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    each = ", ".join(f"{v:.3f}" for v in values)
    return f"mean {mean:.3f} ± {sd:.3f} (sd over {len(values)} seeds; {each})"


def run(cfg: SimConfig, work: Path | None = None) -> tuple[str, dict[int, dict[str, ArmResult]]]:
    """Run every seed; return the Markdown summary and the results."""
    per_seed: dict[int, dict[str, ArmResult]] = {}
    with tempfile.TemporaryDirectory(prefix="sim-explore-") as tmp:
        root = work or Path(tmp)
        for seed in cfg.seeds:
            per_seed[seed] = run_seed(cfg, seed, root)
    return summarise(cfg, per_seed), per_seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=SimConfig.weeks)
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (1..N)")
    parser.add_argument("--rows-per-day", type=int, default=SimConfig.rows_per_day)
    parser.add_argument("--history-days", type=int, default=SimConfig.history_days)
    parser.add_argument("--capacity", default=SimConfig.capacity)
    parser.add_argument("--budget", type=float, default=SimConfig.budget)
    parser.add_argument("--rate-factor", type=float, default=SimConfig.rate_factor)
    args = parser.parse_args(argv)
    cfg = SimConfig(
        weeks=args.weeks,
        seeds=tuple(range(1, args.seeds + 1)),
        rows_per_day=args.rows_per_day,
        history_days=args.history_days,
        capacity=args.capacity,
        budget=args.budget,
        rate_factor=args.rate_factor,
    )
    started = time.perf_counter()
    cpu = time.process_time()
    report, _ = run(cfg)
    print(report)
    load = os.getloadavg()
    print(
        f"\n{time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} CPU-s, "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )


if __name__ == "__main__":
    main()
