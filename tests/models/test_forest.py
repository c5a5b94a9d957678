"""The compiled forest must equal ``Booster.predict(raw_score=True)`` on any model and row."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.errors import ArtifactError
from models.forest import Forest

N_FEATURES = 5
N_CATS = 40  # wide enough for multi-word categorical bitsets


def _train(
    seed: int, zero_as_missing: bool, use_missing: bool, n_trees: int, num_leaves: int
) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    n = 400
    x = rng.normal(size=(n, N_FEATURES))
    x[:, 3] = rng.integers(0, N_CATS, size=n)  # categorical
    x[:, 4] = np.where(rng.random(n) < 0.3, 0.0, x[:, 4])  # many zeros
    x[rng.random((n, N_FEATURES)) < 0.1] = np.nan
    logit = np.nan_to_num(x[:, 0]) + (np.nan_to_num(x[:, 3]) % 7 == 0) - np.isnan(x[:, 1])
    y = (logit + rng.normal(scale=0.5, size=n) > 0).astype(int)
    params = {
        "objective": "binary",
        "num_leaves": num_leaves,
        "min_data_in_leaf": 5,
        "min_data_per_group": 5,
        "cat_smooth": 1,
        "max_cat_to_onehot": 2,
        "verbose": -1,
        "zero_as_missing": zero_as_missing,
        "use_missing": use_missing,
        "seed": seed,
        "num_threads": 1,
        "deterministic": True,
    }
    data = lgb.Dataset(x, y, categorical_feature=[3], params={"verbose": -1})
    return lgb.train(params, data, num_boost_round=n_trees)


_MODEL_CACHE: dict[tuple[int, bool, bool, int, int], tuple[lgb.Booster, Forest]] = {}


def _model(key: tuple[int, bool, bool, int, int]) -> tuple[lgb.Booster, Forest]:
    if key not in _MODEL_CACHE:
        booster = _train(*key)
        _MODEL_CACHE[key] = (booster, Forest.from_model_string(booster.model_to_string()))
    return _MODEL_CACHE[key]


_value = st.one_of(
    st.just(np.nan),
    st.just(0.0),
    st.just(-0.0),
    st.just(1e-40),
    st.integers(-3, N_CATS + 40).map(float),
    st.floats(-4, 4, allow_nan=False),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 3),
    zero_as_missing=st.booleans(),
    use_missing=st.booleans(),
    n_trees=st.sampled_from([1, 3, 12]),
    num_leaves=st.sampled_from([2, 7, 31]),
    rows=st.lists(
        st.lists(_value, min_size=N_FEATURES, max_size=N_FEATURES), min_size=1, max_size=30
    ),
)
def test_raw_scores_match_lightgbm(
    seed: int,
    zero_as_missing: bool,
    use_missing: bool,
    n_trees: int,
    num_leaves: int,
    rows: list[list[float]],
) -> None:
    booster, forest = _model((seed, zero_as_missing, use_missing, n_trees, num_leaves))
    x = np.array(rows, dtype=np.float64)
    expected = booster.predict(x, raw_score=True)
    np.testing.assert_allclose(forest.predict_raw(x), expected, rtol=0, atol=1e-9)


def test_probability_matches_lightgbm_on_many_rows() -> None:
    booster, forest = _model((1, False, True, 12, 31))
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3000, N_FEATURES))
    x[:, 3] = rng.integers(-2, N_CATS + 5, size=3000)
    x[rng.random(x.shape) < 0.15] = np.nan
    np.testing.assert_allclose(forest.predict(x), booster.predict(x), rtol=0, atol=1e-12)


def test_model_has_categorical_and_missing_splits() -> None:
    # Guards the property test: the random models really exercise every split kind.
    kinds: set[int] = set()
    for key in [(s, z, m, 12, 31) for s in range(2) for z in (False, True) for m in (False, True)]:
        kinds |= set(_model(key)[1].kind.tolist())
    assert kinds >= {0, 1, 2, 3}


def test_single_leaf_tree() -> None:
    x = np.zeros((50, 2))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1},
        lgb.Dataset(x, np.r_[np.zeros(25), np.ones(25)]),
        num_boost_round=2,
    )
    forest = Forest.from_model_string(booster.model_to_string())
    np.testing.assert_allclose(
        forest.predict_raw(x[:3]), booster.predict(x[:3], raw_score=True), atol=1e-12
    )


def test_wrong_width_is_a_clear_error() -> None:
    _, forest = _model((0, False, True, 3, 7))
    with pytest.raises(ArtifactError, match="5 feature columns"):
        forest.predict_raw(np.zeros((2, 3)))
