"""The compiled forest must equal ``Booster.predict(raw_score=True)`` on any model and row.

Both kernels are checked: the bitvector kernel (trees of at most 64 leaves) and the
tree-walk kernel (any tree; forced here with ``bitvectors=None``). Scores are compared bit
for bit, since both kernels sum the same leaf values in LightGBM's order.
"""

from __future__ import annotations

from dataclasses import replace

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import forest as forest_module
from models.errors import ArtifactError
from models.forest import Forest

N_FEATURES = 6
CAT_WIDE = 3  # categorical, 40 levels: bitsets of two 32-bit words
CAT_NARROW = 5  # categorical, 3 levels: one-hot style splits
ZEROS = 4  # numerical, 30 % zeros
N_CATS = 40
ZERO_THRESHOLD = float(np.float32(1e-35))  # LightGBM's kZeroThreshold (1e-35f as a double)

Key = tuple[int, bool, bool, int, int]


def _features(rng: np.random.Generator, n: int) -> npt.NDArray[np.float64]:
    x = rng.normal(size=(n, N_FEATURES))
    x[:, CAT_WIDE] = rng.integers(0, N_CATS, size=n)
    x[:, CAT_NARROW] = rng.integers(0, 3, size=n)
    x[:, ZEROS] = np.where(rng.random(n) < 0.3, 0.0, x[:, ZEROS])
    x[:, 2] = np.where(rng.random(n) < 0.2, -x[:, 2] * 1e-36, x[:, 2])  # tiny values
    x[rng.random((n, N_FEATURES)) < 0.1] = np.nan
    x[:, 1][rng.random(n) < 0.1] = 0.0
    return x


def _train(
    seed: int, zero_as_missing: bool, use_missing: bool, n_trees: int, num_leaves: int
) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    n = 400 if num_leaves < 64 else 3000
    x = _features(rng, n)
    logit = (
        np.nan_to_num(x[:, 0])
        + (np.nan_to_num(x[:, CAT_WIDE]) % 7 == 0)
        - np.isnan(x[:, 1])
        + (x[:, CAT_NARROW] == 1)
        + 0.5 * np.sign(np.nan_to_num(x[:, ZEROS]))
    )
    y = (logit + rng.normal(scale=0.5, size=n) > 0).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": num_leaves,
        "min_data_in_leaf": 5 if num_leaves < 64 else 2,
        "min_data_per_group": 5,
        "cat_smooth": 1,
        "max_cat_to_onehot": 4,
        "verbose": -1,
        "zero_as_missing": zero_as_missing,
        "use_missing": use_missing,
        "seed": seed,
        "num_threads": 1,
        "deterministic": True,
    }
    data = lgb.Dataset(x, y, categorical_feature=[CAT_WIDE, CAT_NARROW], params={"verbose": -1})
    return lgb.train(params, data, num_boost_round=n_trees)


_MODEL_CACHE: dict[Key, tuple[lgb.Booster, Forest]] = {}


def _model(key: Key) -> tuple[lgb.Booster, Forest]:
    if key not in _MODEL_CACHE:
        booster = _train(*key)
        _MODEL_CACHE[key] = (booster, Forest.from_model_string(booster.model_to_string()))
    return _MODEL_CACHE[key]


def _assert_exact(forest: Forest, booster: lgb.Booster, x: npt.NDArray[np.float64]) -> None:
    """Both kernels give LightGBM's raw scores, bit for bit, from either layout."""
    expected = booster.predict(x, raw_score=True)
    walk = replace(forest, bitvectors=None)
    for engine in (forest, walk):
        for layout in (np.ascontiguousarray(x), np.asfortranarray(x)):
            got = engine.predict_raw(layout)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
            np.testing.assert_array_equal(got, expected)


# Values at the edges of LightGBM's decisions: NaN, signed zeros, kZeroThreshold and its
# neighbours, infinities, category truncation (-0.99 is category 0, -1 goes right),
# bitset edges (31/32, 63/64) and int range (2^31 - 0.5, 2^31).
_EDGES = [
    np.nan,
    0.0,
    -0.0,
    1e-40,
    -1e-40,
    1e-35,
    -1e-35,
    ZERO_THRESHOLD,
    -ZERO_THRESHOLD,
    np.nextafter(ZERO_THRESHOLD, 1.0),
    np.nextafter(-ZERO_THRESHOLD, -1.0),
    np.inf,
    -np.inf,
    -0.99,
    -0.5,
    -1.0,
    -1.5,
    0.5,
    0.999,
    31.0,
    31.5,
    32.0,
    63.0,
    64.0,
    2147483647.5,
    2147483648.0,
    3e9,
    -3e9,
]
_value = st.one_of(
    st.sampled_from(_EDGES),
    st.integers(-3, N_CATS + 40).map(float),
    st.floats(-4, 4, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
)


def _near(thresholds: npt.NDArray[np.float64]) -> st.SearchStrategy[float]:
    """A split threshold of the model, or the float just above or below it."""
    return st.sampled_from(sorted(set(thresholds.tolist()))).flatmap(
        lambda t: st.sampled_from(
            [t, float(np.nextafter(t, np.inf)), float(np.nextafter(t, -np.inf))]
        )
    )


@st.composite
def model_cases(
    draw: st.DrawFn,
) -> tuple[lgb.Booster, Forest, npt.NDArray[np.float64]]:
    """A random model (missing types, 1–12 trees of 2–63 leaves) and 1–30 rows of edge
    values, the model's own thresholds and their neighbours."""
    key = (
        draw(st.integers(0, 3)),
        draw(st.booleans()),
        draw(st.booleans()),
        draw(st.sampled_from([1, 3, 12])),
        draw(st.sampled_from([2, 7, 31, 63])),
    )
    booster, forest = _model(key)
    numerical = forest.threshold[forest.kind != 3]
    value = st.one_of(_value, _near(numerical)) if numerical.size else _value
    rows = draw(
        st.lists(st.lists(value, min_size=N_FEATURES, max_size=N_FEATURES), min_size=1, max_size=30)
    )
    return booster, forest, np.array(rows, dtype=np.float64)


MODEL_CASES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
"""The settings of the property tests over :func:`model_cases`."""


@MODEL_CASES
@given(model_cases())
def test_raw_scores_match_lightgbm(
    case: tuple[lgb.Booster, Forest, npt.NDArray[np.float64]],
) -> None:
    booster, forest, x = case
    _assert_exact(forest, booster, x)


def test_every_threshold_and_its_neighbours() -> None:
    # Each numerical split sees a value equal to its threshold (goes left) and the floats
    # just above and below, the rest of the row random.
    for key in [(0, False, True, 12, 31), (1, True, True, 12, 31), (2, False, False, 12, 31)]:
        booster, forest = _model(key)
        numerical = np.flatnonzero(forest.kind != 3)
        rng = np.random.default_rng(key[0])
        x = _features(rng, 3 * numerical.size)
        for i, node in enumerate(numerical):
            t = forest.threshold[node]
            column = forest.split_feature[node]
            x[3 * i : 3 * i + 3, column] = [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf)]
        _assert_exact(forest, booster, x)


def test_categorical_values_truncate_like_lightgbm() -> None:
    # LightGBM casts a categorical value to int: -0.5 is category 0, -1 and NaN go right.
    booster, forest = _model((1, False, True, 12, 31))
    categorical = np.flatnonzero(forest.kind == 3)
    zero_left = [n for n in categorical if forest.cat_bits[forest.cat_start[n]] & 1]
    assert zero_left, "the model must send category 0 left somewhere for this test to bite"
    rng = np.random.default_rng(7)
    base = _features(rng, 64)
    for column in (CAT_WIDE, CAT_NARROW):
        x = np.concatenate([base] * len(_EDGES))
        x[:, column] = np.repeat(_EDGES, base.shape[0])
        _assert_exact(forest, booster, x)
        as_zero = forest.predict_raw(np.where(np.arange(N_FEATURES) == column, -0.5, base))
        np.testing.assert_array_equal(
            as_zero, forest.predict_raw(np.where(np.arange(N_FEATURES) == column, 0.0, base))
        )


def test_probability_matches_lightgbm_on_many_rows() -> None:
    # Not a multiple of the kernel's 8-row groups nor of its 512-row chunks.
    booster, forest = _model((1, False, True, 12, 31))
    rng = np.random.default_rng(5)
    x = _features(rng, 3001)
    x[:, CAT_WIDE] = rng.integers(-2, N_CATS + 5, size=3001)
    x[rng.random(x.shape) < 0.05] = np.nan
    # Probabilities agree to rounding (numpy's exp is not the C library's); raw scores exactly.
    np.testing.assert_allclose(forest.predict(x), booster.predict(x), rtol=0, atol=1e-12)
    _assert_exact(forest, booster, x)


def test_model_has_categorical_and_missing_splits() -> None:
    # Guards the property test: the random models really exercise every split kind.
    kinds: set[int] = set()
    for key in [(s, z, m, 12, 31) for s in range(2) for z in (False, True) for m in (False, True)]:
        forest = _model(key)[1]
        assert forest.bitvectors is not None
        kinds |= set(forest.kind.tolist())
    assert kinds >= {0, 1, 2, 3}


def test_trees_over_64_leaves_use_the_tree_walk() -> None:
    booster, forest = _model((0, False, True, 3, 100))
    leaves = [tree["num_leaves"] for tree in booster.dump_model()["tree_info"]]
    assert max(leaves) > 64
    assert forest.bitvectors is None
    rng = np.random.default_rng(3)
    x = _features(rng, 500)
    x[:40] = rng.choice(_EDGES, size=(40, N_FEATURES))
    _assert_exact(forest, booster, x)


def test_wide_categories_and_the_table_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # Categories up to ~500 (bitsets of 16 words); past the table budget the forest falls
    # back to the tree walk, with the same scores.
    rng = np.random.default_rng(11)
    x = _features(rng, 2000)
    x[:, CAT_WIDE] = rng.choice(np.arange(0, 500, 7), size=2000)
    y = ((np.nan_to_num(x[:, CAT_WIDE]) % 3 == 0) ^ (np.nan_to_num(x[:, 0]) > 0)).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 31, "min_data_per_group": 5},
        lgb.Dataset(x, y, categorical_feature=[CAT_WIDE], params={"verbose": -1}),
        num_boost_round=10,
    )
    rows = _features(np.random.default_rng(12), 400)
    rows[:, CAT_WIDE] = rng.integers(-2, 520, size=400) + rng.choice([0.0, 0.5, -0.5], size=400)
    text = booster.model_to_string()
    forest = Forest.from_model_string(text)
    assert forest.bitvectors is not None and forest.bitvectors.cat_slots.max() > 256
    _assert_exact(forest, booster, rows)
    monkeypatch.setattr(forest_module, "_MAX_CATEGORY_ENTRIES", 100)
    small_budget = Forest.from_model_string(text)
    assert small_budget.bitvectors is None
    _assert_exact(small_budget, booster, rows)


def test_single_leaf_trees() -> None:
    rng = np.random.default_rng(0)
    x = _features(rng, 400)
    y = (np.nan_to_num(x[:, 0]) > 0).astype(int)
    data = lgb.Dataset(x, y, categorical_feature=[CAT_WIDE], params={"verbose": -1})
    stump = lgb.train(
        {"objective": "binary", "verbose": -1, "min_gain_to_split": 1e9}, data, num_boost_round=2
    )
    mixed = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 15},
        lgb.Dataset(x, y, categorical_feature=[CAT_WIDE], params={"verbose": -1}),
        num_boost_round=4,
        init_model=stump,
    )
    leaves = [tree["num_leaves"] for tree in mixed.dump_model()["tree_info"]]
    assert leaves[0] == 1 and max(leaves) > 1
    for booster in (stump, mixed):
        forest = Forest.from_model_string(booster.model_to_string())
        _assert_exact(forest, booster, x[:50])


def test_random_forest_mode_averages_the_trees() -> None:
    rng = np.random.default_rng(3)
    x = _features(rng, 600)
    y = (np.nan_to_num(x[:, 0]) + (x[:, CAT_NARROW] == 1) > 0.3).astype(int)
    params = {
        "objective": "binary",
        "boosting": "rf",
        "bagging_fraction": 0.6,
        "bagging_freq": 1,
        "num_leaves": 31,
        "verbose": -1,
        "seed": 3,
    }
    data = lgb.Dataset(x, y, categorical_feature=[CAT_WIDE, CAT_NARROW], params={"verbose": -1})
    forest_mode = lgb.train(params, data, num_boost_round=7)
    forest = Forest.from_model_string(forest_mode.model_to_string())
    assert forest.average_output and forest.num_trees == 7
    _assert_exact(forest, forest_mode, x)  # raw: the sum of the trees, as LightGBM's raw_score
    # The output is their mean (before the sigmoid), as LightGBM's predict.
    np.testing.assert_allclose(forest.predict(x), forest_mode.predict(x), rtol=0, atol=1e-12)
    summed = replace(forest, average_output=False).predict(x)
    assert np.abs(summed - forest_mode.predict(x)).max() > 0.01  # the mean matters here
    # A boosted model of the same data is summed, not averaged.
    boosted = _model((0, False, True, 3, 7))[1]
    assert not boosted.average_output


def test_input_layout_and_empty_input() -> None:
    booster, forest = _model((0, False, True, 3, 7))
    x = _features(np.random.default_rng(1), 100)
    expected = booster.predict(x, raw_score=True)
    # Row-major and column-major are read in place; a strided view (every other row of a
    # wider matrix, here) is copied first. The scores are the same.
    wide = np.zeros((200, N_FEATURES + 3))
    wide[::2, 1 : N_FEATURES + 1] = x
    strided = wide[::2, 1 : N_FEATURES + 1]
    assert not (strided.flags.c_contiguous or strided.flags.f_contiguous)
    for layout in (np.ascontiguousarray(x), np.asfortranarray(x), strided):
        for engine in (forest, replace(forest, bitvectors=None)):
            np.testing.assert_array_equal(engine.predict_raw(layout), expected)
    assert forest.predict_raw(np.zeros((0, N_FEATURES))).shape == (0,)


def test_wrong_width_is_a_clear_error() -> None:
    _, forest = _model((0, False, True, 3, 7))
    with pytest.raises(ArtifactError, match="6 feature columns"):
        forest.predict_raw(np.zeros((2, 3)))
