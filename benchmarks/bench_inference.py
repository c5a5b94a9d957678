"""Inference benchmark: the compiled forest against ``lightgbm.Booster.predict``.

Both run in the same process on the same rows and the same number of threads. The model is
realistic for risk targeting: >= 300 trees, 63 leaves, 40 features of which 4 categorical,
with missing values. Compile time is measured in fresh processes: once with an empty numba
cache (cold: what the first run after installation pays) and once with the cache filled.
Single-thread CPU time per row is measured too (less sensitive to other load on the
machine), and the load average is printed beside every measurement.

    .venv/bin/python -m benchmarks.bench_inference            # 1M rows, 2 threads
    .venv/bin/python -m benchmarks.bench_inference --rows 200000 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numba
import numpy as np

from models.forest import Forest

N_FEATURES = 40
N_CATEGORICAL = 4
REPO = Path(__file__).resolve().parent.parent


def make_rows(n: int, seed: int) -> np.ndarray:
    """Rows with 36 numeric features (some missing, some zero) and 4 categorical ones."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, N_FEATURES))
    x[:, :N_CATEGORICAL] = rng.integers(0, 60, size=(n, N_CATEGORICAL))
    x[rng.random((n, N_FEATURES)) < 0.05] = np.nan
    x[:, 10][rng.random(n) < 0.3] = 0.0
    return x


def train_model(trees: int, seed: int) -> lgb.Booster:
    """A binary model with the requested number of trees and 63 leaves each."""
    rng = np.random.default_rng(seed)
    x = make_rows(20_000, seed)
    signal = (
        np.nan_to_num(x[:, 5])
        + np.nan_to_num(x[:, 6]) * np.nan_to_num(x[:, 7])
        + (np.nan_to_num(x[:, 0]) % 5 == 0)
        + 0.5 * np.sin(np.nan_to_num(x[:, 8]) * 3)
    )
    y = (signal + rng.normal(scale=1.0, size=x.shape[0]) > 1.0).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": 63,
        "learning_rate": 0.05,
        "min_data_in_leaf": 20,
        "verbose": -1,
        "num_threads": 1,
        "seed": seed,
        "max_cat_to_onehot": 4,
        "min_data_per_group": 20,
    }
    data = lgb.Dataset(x, y, categorical_feature=list(range(N_CATEGORICAL)))
    return lgb.train(params, data, num_boost_round=trees)


def compile_seconds(cache_dir: str) -> float:
    """Seconds for parse + first prediction (compile or cache load) in a fresh process."""
    code = (
        "import time, numpy as np\n"
        "from models.forest import Forest\n"
        "t = time.perf_counter()\n"
        f"f = Forest.from_model_string(open({str(Path(cache_dir) / 'model.txt')!r}).read())\n"
        "f.predict_raw(np.zeros((4, f.num_features)))\n"
        "print(time.perf_counter() - t)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "NUMBA_NUM_THREADS": "2"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=REPO, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def best_of(fn, repeats: int, clock=time.perf_counter) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        t = clock()
        fn()
        times.append(clock() - t)
    return min(times)


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cpu-rows", type=int, default=100_000, help="Rows for the single-thread CPU time."
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=None,
        help="Reuse this LightGBM text model (written here on first use).",
    )
    args = parser.parse_args()

    t = time.perf_counter()
    if args.model is not None and args.model.is_file():
        booster = lgb.Booster(model_file=str(args.model))
    else:
        booster = train_model(args.trees, args.seed)
        if args.model is not None:
            booster.save_model(str(args.model))
    print(
        f"trained benchmark model: {booster.num_trees()} trees, 63 leaves, {N_FEATURES} "
        f"features ({time.perf_counter() - t:.1f} s)"
    )
    text = booster.model_to_string()
    with tempfile.TemporaryDirectory() as cache:
        (Path(cache) / "model.txt").write_text(text)
        cold = compile_seconds(cache)
        warm = compile_seconds(cache)
    print(
        f"compile: cold cache {cold:.2f} s, warm cache {warm:.2f} s "
        f"(fresh process, after imports: parse + first call; {load()})"
    )

    forest = Forest.from_model_string(text)
    kernel = "bitvector" if forest.bitvectors is not None else "tree walk"
    x = make_rows(args.rows, args.seed + 1)
    forest.predict_raw(x[:10])  # load the compiled kernel before timing

    numba.set_num_threads(1)
    sub = x[: args.cpu_rows]
    cpu_lgb = best_of(
        lambda: booster.predict(sub, raw_score=True, num_threads=1), 2, time.process_time
    )
    cpu_ours = best_of(lambda: forest.predict_raw(sub), 2, time.process_time)
    print(
        f"single thread, {sub.shape[0]:,} rows, CPU time per row: lightgbm "
        f"{cpu_lgb / sub.shape[0] * 1e6:.2f} us, models.forest {cpu_ours / sub.shape[0] * 1e6:.2f}"
        f" us ({cpu_lgb / cpu_ours:.2f}x; {load()})"
    )

    numba.set_num_threads(args.threads)
    ours = forest.predict_raw(x)
    theirs = booster.predict(x, raw_score=True, num_threads=args.threads)
    max_diff = float(np.max(np.abs(ours - theirs)))
    n_differ = int(np.count_nonzero(ours != theirs))
    t_lgb = best_of(
        lambda: booster.predict(x, raw_score=True, num_threads=args.threads), args.repeats
    )
    load_lgb = load()
    t_ours = best_of(lambda: forest.predict_raw(x), args.repeats)
    load_ours = load()
    # In a run the model's matrix is built column-major (FeaturePlan.matrix), the layout the
    # kernels read; the row-major `x` above is copied to it inside every call.
    x_columns = np.asfortranarray(x)
    assert np.array_equal(forest.predict_raw(x_columns), ours)
    t_columns = best_of(lambda: forest.predict_raw(x_columns), args.repeats)
    load_columns = load()
    print(f"\nrows {args.rows:,}, threads {args.threads}, best of {args.repeats}")
    print(f"{'engine':<28}{'wall s':>10}{'rows/s':>14}{'ratio':>8}   {'after the runs'}")
    print(
        f"{'lightgbm.Booster.predict':<28}{t_lgb:>10.3f}{args.rows / t_lgb:>14,.0f}{1.0:>8.2f}"
        f"   {load_lgb}"
    )
    print(
        f"{'models.forest (' + kernel + ')':<28}{t_ours:>10.3f}{args.rows / t_ours:>14,.0f}"
        f"{t_lgb / t_ours:>8.2f}   {load_ours}"
    )
    print(
        f"{'  on a column-major matrix':<28}{t_columns:>10.3f}{args.rows / t_columns:>14,.0f}"
        f"{t_lgb / t_columns:>8.2f}   {load_columns}"
    )
    print(f"max |raw difference| = {max_diff:.3g} ({n_differ} rows differ)")


if __name__ == "__main__":
    main()
