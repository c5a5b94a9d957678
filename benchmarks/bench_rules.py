"""Rules benchmark: the compiled polars pack vs the same rule tree as DuckDB SQL.

    python -m benchmarks.bench_rules --rows 1000000

Runs the shipped default pack and a synthetic 200-rule pack on a generated frame holding
every field the packs read (values drawn so that rules hit at realistic rates), in the same
process, and prints load+compile time, wall times, throughput and the ratio. The DuckDB
query computes the same outputs (score, hit ids, reasons, shadow hits) and returns only
those four columns, which favours DuckDB (polars returns the whole frame).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from rules import CompiledPack, RulePack, load_pack, load_pack_text
from rules._compile import hit_column
from rules._ir import iter_tests
from rules._pack import catalogue_dtypes
from rules._sql import pack_sql
from rules._types import family

NULL_RATE = 0.03


# ----------------------------------------------------------------------------- data
def _vocabulary(field: str, packs: list[RulePack]) -> list[str]:
    """Values for a text field: ones the rules look for (shaped per operator) + filler."""
    hot: list[str] = []
    for pack in packs:
        for rule in pack.rules:
            for test in iter_tests(rule.condition):
                if test.field != field or test.fieldref or test.op in ("exists", "re"):
                    continue
                for v in test.values[:6]:
                    s = str(v)
                    if test.op == "startswith":
                        hot.append(s + "10")
                    elif test.op == "endswith":
                        hot.append("X" + s)
                    elif test.op == "contains":
                        hot.append(f"ITEM {s} LOT")
                    else:
                        hot.append(s)
    filler = _filler(field)
    common = set(filler)
    return [v for v in dict.fromkeys(hot) if v not in common] + filler


def _numeric_values(
    rng: np.random.Generator, name: str, dtype: pl.DataType, rows: int
) -> np.ndarray:
    """Plausible distributions, so that rules hit at rates like real traffic (a few %)."""
    if name.endswith(("_rate", "_share")):
        return rng.beta(0.5, 5.0, size=rows)
    if name.endswith("_score"):
        return np.where(
            rng.random(rows) < 0.01, rng.uniform(80, 100, rows), rng.uniform(0, 80, rows)
        )
    if name.endswith("_hours"):
        return rng.normal(-24.0, 20.0, size=rows)
    if name.endswith("_days"):
        return rng.exponential(400.0, size=rows)
    if name.endswith(("seizures", "positives")):
        return rng.poisson(0.02, size=rows).astype(np.float64)
    if dtype.is_integer():
        return rng.poisson(1.5, size=rows).astype(np.float64)
    return rng.lognormal(mean=2.5, sigma=1.2, size=rows)


def _text_column(rng: np.random.Generator, vocab: list[str], n: int, hot: int) -> pl.Series:
    weights = np.ones(len(vocab))
    if hot and hot < len(vocab):  # rule-relevant values: 5 % of rows in total
        weights[:hot] = 0.05 / hot
        weights[hot:] = 0.95 / (len(vocab) - hot)
    idx = rng.choice(len(vocab), size=n, p=weights / weights.sum())
    return pl.Series(vocab, dtype=pl.String).gather(idx)


def generate_frame(packs: list[RulePack], rows: int, seed: int = 7) -> pl.DataFrame:
    """A frame with every field the packs read, vectorised (numpy + polars)."""
    rng = np.random.default_rng(seed)
    dtypes = catalogue_dtypes()
    fields = sorted(
        {f for p in packs for r in p.rules for f in r.fields() | set(r.reason_fields())}
    )
    columns: list[pl.Series] = []
    for name in fields:
        dtype = dtypes[name]
        fam = family(dtype)
        if fam in ("text", "text_list"):
            vocab = _vocabulary(name, packs)
            hot = len(vocab) - 40
            if fam == "text":
                col = _text_column(rng, vocab, rows, hot)
            else:
                parts = [_text_column(rng, vocab, rows, hot) for _ in range(3)]
                lengths = pl.Series(rng.integers(0, 4, rows))
                col = (
                    pl.DataFrame({"a": parts[0], "b": parts[1], "c": parts[2], "k": lengths})
                    .select(pl.concat_list("a", "b", "c").list.head(pl.col("k")))
                    .to_series()
                )
        elif fam == "numeric":
            col = pl.Series(_numeric_values(rng, name, dtype, rows)).cast(dtype)
        elif fam == "bool":
            col = pl.Series(rng.random(rows) < 0.02)
        elif fam == "temporal":
            seconds = rng.integers(1_735_689_600, 1_798_761_600, rows)  # 2025-2026
            col = pl.Series(seconds * 1_000_000).cast(pl.Datetime("us", "UTC"))
        else:
            continue
        nulls = pl.Series(rng.random(rows) < NULL_RATE)
        col = pl.select(pl.when(nulls).then(None).otherwise(col)).to_series().cast(dtype)
        columns.append(col.alias(name))
    return pl.DataFrame(columns)


# ----------------------------------------------------------------------------- packs
_SYNTH_FIELDS = [
    "port_of_loading",
    "port_of_discharge",
    "hs_code",
    "hs_chapter",
    "goods_description",
    "consignee_name",
    "shipper_name",
    "bl_type",
    "freight_payment",
    "freight_terms",
    "iso_type",
    "origin_country",
    "consignee_country",
    "carrier_scac",
    "package_type",
    "kg_per_package",
    "value_per_kg",
    "gross_weight_kg",
    "packages",
    "amendments",
    "consignee_first_seen_days",
    "consignee_shipments_30d",
    "shipper_hs_chapter_share",
    "consignee_positive_rate",
    "watchlist_party_score",
    "amended_after_departure_hours",
    "is_reefer",
    "consignee_is_new",
    "dq_vague_goods_description",
    "watchlist_vessel_hit",
    "transshipment_ports",
    "transit_days",
]
_SYNTH_LISTS = {
    "ports_a": ["ECGYE", "COBUN", "COCTG", "PECLL", "BRSSZ", "PAONX", "CRMOB", "PABLB"],
    "ports_b": ["ESALG", "PAMIT", "MAPTM", "BEANR", "NLRTM", "ESVLC", "GRPIR", "TRMER"],
}


def _filler(field: str) -> list[str]:
    """The 40 common values of a text field in the generated frame (2.4 % of rows each)."""
    if field == "hs_code":
        return [
            f"{c:02d}{h:02d}{s:02d}"
            for c, h, s in zip(range(1, 41), range(10, 50), range(40), strict=True)
        ]
    return [f"{field[:4].upper()}{i:03d}" for i in range(40)]


def _threshold(rnd: random.Random, sample: np.ndarray, q: float, integer: bool) -> str:
    value = float(np.quantile(sample, q))
    return str(round(value)) if integer else f"{value:.4g}"


def _synthetic_test(
    rnd: random.Random,
    field: str,
    samples: dict[str, np.ndarray],
    dtypes: dict[str, pl.DataType],
    *,
    selective: bool,
) -> str:
    """One field test. ``selective`` tests keep a few % of rows (a tail, one value, a
    flag set); the others (``neq``, a flag unset, a wide range) keep most rows and only
    narrow a selection that already has a selective test."""
    fam = family(dtypes[field])
    if fam == "bool":
        return f"{field}: {'true' if selective else 'false'}"
    if fam == "numeric":
        sample, integer = samples[field], dtypes[field].is_integer()
        if not selective:
            return f"{field}|gte: {_threshold(rnd, sample, rnd.uniform(0.05, 0.3), integer)}"
        if integer:  # counts: the upper tail only (a band of a count is one or two values)
            count = max(1, math.ceil(float(np.quantile(sample, rnd.uniform(0.95, 0.995)))))
            return f"{field}|gte: {count}"
        op = rnd.choice(["gt", "gte", "lt", "lte", "between"])
        if op == "between":  # a band holding 2-5 % of the values
            lo = rnd.uniform(0.05, 0.9)
            low = _threshold(rnd, sample, lo, integer)
            high = _threshold(rnd, sample, lo + rnd.uniform(0.02, 0.05), integer)
            return f"{field}|between: [{low}, {high}]"
        q = rnd.uniform(0.95, 0.995) if op in ("gt", "gte") else rnd.uniform(0.005, 0.05)
        return f"{field}|{op}: {_threshold(rnd, sample, q, integer)}"
    if field in ("port_of_loading", "port_of_discharge", "transshipment_ports"):
        return f"{field}|in: ${rnd.choice(list(_SYNTH_LISTS))}"
    filler = _filler(field)
    if field == "hs_code":  # one to three headings of the common codes
        prefixes = [c[:4] for c in rnd.sample(filler, rnd.randint(1, 3))]
        return f"hs_code|startswith: [{', '.join(repr(p) for p in prefixes)}]"
    token = rnd.choice(filler)
    if not selective:
        return f"{field}|neq: {token}"
    op = rnd.choice(["", "|contains", "|startswith", "|re", "|in"])
    if op == "|re":
        return f"{field}|re: '^{token}$'"
    if op == "|in":
        return f"{field}|in: [{', '.join(rnd.sample(filler, rnd.randint(2, 4)))}]"
    return f"{field}{op}: {token}"


def synthetic_pack_text(n_rules: int = 200, seed: int = 11) -> str:
    """YAML of ``n_rules`` random rules shaped like real targeting rules.

    Each selection ANDs one selective test (a numeric tail, one or a few text values, a
    flag that is set) with up to two narrowing ones (two selective ones when the rule has
    a single selection); a rule ANDs one to three selections,
    sometimes ORs two or excludes one with ``and not``. Numeric thresholds are quantiles of
    the distributions :func:`generate_frame` draws from, so a rule hits well under 1 % of
    rows on the generated data, as rules do on real traffic (see README_rules.md).
    """
    rnd = random.Random(seed)
    dtypes = catalogue_dtypes()
    rng = np.random.default_rng(seed)
    samples = {
        f: _numeric_values(rng, f, dtypes[f], 20_000)
        for f in _SYNTH_FIELDS
        if family(dtypes[f]) == "numeric"
    }
    docs = [
        f"kind: list\nname: {name}\ntype: locode\nitems: [{', '.join(items)}]"
        for name, items in _SYNTH_LISTS.items()
    ]
    for i in range(n_rules):
        selections = []
        n_selections = rnd.choice([1, 2, 2, 3])
        for s in range(n_selections):
            # a rule of one selection needs two selective tests to stay narrow
            n_selective = 2 if n_selections == 1 else 1
            fields = rnd.sample(_SYNTH_FIELDS, rnd.randint(n_selective, 3))
            tests = [
                _synthetic_test(rnd, f, samples, dtypes, selective=(k < n_selective))
                for k, f in enumerate(fields)
            ]
            selections.append(f"  s{s}: {{{', '.join(tests)}}}")
        names = [f"s{s}" for s in range(len(selections))]
        condition = names[0]
        for name in names[1:]:
            condition += f" {rnd.choice(['and', 'and', 'and', 'and', 'or', 'and not'])} {name}"
        status = "experimental" if rnd.random() < 0.1 else "active"
        docs.append(
            f"kind: rule\nid: synthetic-{i:03d}\ntitle: synthetic rule {i}\n"
            f"description: generated for the benchmark\nstatus: {status}\nseverity: medium\n"
            f"weight: {rnd.randint(10, 30)}\nowner: bench\n"
            f"reason: 'synthetic {i}: {{{rnd.choice(_SYNTH_FIELDS)}}}'\n"
            "match:\n" + "\n".join(selections) + f"\n  condition: {condition}"
        )
    return "\n---\n".join(docs) + "\n"


# ----------------------------------------------------------------------------- timing
def _best(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result


def run_case(
    name: str, compiled: CompiledPack, frame: pl.DataFrame, repeat: int, con: Any
) -> dict[str, Any]:
    """Time polars and DuckDB on one pack; check they agree on every rule's hit count."""
    sql = pack_sql(compiled)
    outputs = "SELECT rule_score, rule_hits, rule_reasons, rule_shadow_hits FROM (" + sql + ")"
    # Warm both engines up (first-use imports and caches) outside the timed runs.
    compiled.apply(frame.head(1000))
    con.sql(outputs + " LIMIT 1000").to_arrow_table()
    polars_s, scored = _best(lambda: compiled.apply(frame), repeat)
    lean_s, _ = _best(lambda: compiled.apply(frame, reasons=False), repeat)
    duck_s, duck = _best(lambda: con.sql(outputs).to_arrow_table(), repeat)
    # Agreement check (outside the timed region): per-rule hit counts.
    ours = compiled.apply(frame, keep_rule_columns=True)
    hit_cols = ", ".join(f'"{hit_column(r)}"' for r in compiled.rule_ids) or "rule_score"
    theirs = pl.from_arrow(
        con.sql(
            f"SELECT {hit_cols} FROM (" + pack_sql(compiled, keep_rule_columns=True) + ")"
        ).to_arrow_table()
    )
    assert isinstance(theirs, pl.DataFrame)
    mismatched = [
        r
        for r in compiled.rule_ids
        if int(ours[hit_column(r)].sum()) != int(theirs[hit_column(r)].sum())
    ]
    per_row = scored["rule_hits"].list.len() + scored["rule_shadow_hits"].list.len()
    rates = [int(ours[hit_column(r)].sum()) / max(frame.height, 1) for r in compiled.rule_ids]
    return {
        "case": name,
        "rules": len(compiled.rules),
        "rows": frame.height,
        "polars_s": polars_s,
        "lean_s": lean_s,
        "duckdb_s": duck_s,
        "ratio": duck_s / polars_s,
        "rows_with_hit": int((per_row > 0).sum()),
        "hits_per_row": int(per_row.sum()) / max(frame.height, 1),
        "median_rule_rate": statistics.median(rates) if rates else 0.0,
        "max_rule_rate": max(rates, default=0.0),
        "mismatched_rules": mismatched,
        "duck_rows": duck.num_rows,
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry: generate data, time both engines, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synthetic-rules", type=int, default=200)
    args = parser.parse_args(argv)
    import duckdb

    t0 = time.perf_counter()
    shipped = load_pack()
    shipped_load_s = time.perf_counter() - t0
    text = synthetic_pack_text(args.synthetic_rules)
    t0 = time.perf_counter()
    synthetic = load_pack_text(text, file="<synthetic>.yaml")
    synth_load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    frame = generate_frame([shipped, synthetic], args.rows)
    gen_s = time.perf_counter() - t0
    print(
        f"polars {pl.__version__}, duckdb {duckdb.__version__}, {os.cpu_count()} cores; "
        f"{frame.height:,} rows x {frame.width} columns generated in {gen_s:.1f} s"
    )

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("batch", frame.to_arrow())
    load_before = os.getloadavg()
    results = []
    for name, pack, load_s in (
        ("shipped pack", shipped, shipped_load_s),
        (f"synthetic {args.synthetic_rules}", synthetic, synth_load_s),
    ):
        t0 = time.perf_counter()
        compiled = pack.compile(frame.schema)
        compile_s = time.perf_counter() - t0
        result = run_case(name, compiled, frame, args.repeat, con)
        result.update(load_s=load_s, compile_s=compile_s)
        results.append(result)
    load_after = os.getloadavg()

    print(
        f"\n{'case':<15}{'rules':>6}{'load+lint':>10}{'compile':>9}{'polars':>9}"
        f"{'no reasons':>11}{'duckdb':>9}{'rows/s':>11}{'duckdb/polars':>14}"
        f"{'hit rows':>10}{'hits/row':>9}{'rule rate median/max':>22}"
    )
    for r in results:
        print(
            f"{r['case']:<15}{r['rules']:>6}{r['load_s']:>9.3f}s{r['compile_s']:>8.3f}s"
            f"{r['polars_s']:>8.3f}s{r['lean_s']:>10.3f}s{r['duckdb_s']:>8.3f}s"
            f"{r['rows'] / r['polars_s']:>11,.0f}{r['ratio']:>13.2f}x"
            f"{r['rows_with_hit'] / r['rows']:>9.1%}{r['hits_per_row']:>9.2f}"
            f"{r['median_rule_rate']:>13.2%} / {r['max_rule_rate']:.1%}"
        )
        if r["mismatched_rules"]:
            print(f"  WARNING: hit counts differ for {r['mismatched_rules'][:5]}")
    print(
        "\npolars: apply() with every output (reasons rendered for every row with a hit); "
        "no reasons: apply(reasons=False)\n(reasons then rendered for chosen rows only with "
        "CompiledPack.reasons); duckdb: the same four outputs in SQL.\n"
        f"median ratio {statistics.median(r['ratio'] for r in results):.2f}x "
        "(DuckDB time / polars time; > 1 means polars is faster); load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
