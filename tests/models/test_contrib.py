"""The compiled contributions must equal ``Booster.predict(pred_contrib=True)`` bit for bit.

The random models of ``test_forest`` (numerical splits with every missing type, narrow and
wide categorical splits, features split on again below themselves, up to 63 leaves) and
the shipped model are compared cell by cell on edge values and on many rows that share
decision patterns; forests the kernels do not handle say so (None) and the model stage then
asks LightGBM, with the same reasons.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import replace

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
import pytest
from hypothesis import given

from api.wiring import SHIPPED_MODEL_DIR
from models import contrib as contrib_module
from models.artifact import ModelArtifact, load_model
from models.contrib import TreeShap, _additions_per_tree
from models.errors import ArtifactError
from models.forest import Forest
from models.stage import ModelStage
from tests.models.test_forest import (
    _EDGES,
    CAT_WIDE,
    MODEL_CASES,
    N_CATS,
    N_FEATURES,
    _features,
    _model,
    model_cases,
)


def _assert_same(forest: Forest, booster: lgb.Booster, x: npt.NDArray[np.float64]) -> None:
    expected = booster.predict(x, pred_contrib=True)
    shap = TreeShap.of(forest)
    assert shap is not None
    got = shap.contributions(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got, expected)


@MODEL_CASES
@given(model_cases())
def test_contributions_match_lightgbm(
    case: tuple[lgb.Booster, Forest, npt.NDArray[np.float64]],
) -> None:
    booster, forest, x = case
    _assert_same(forest, booster, x)


def test_many_rows_sharing_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    # Repeated rows and a few distinct values per column: most (tree, pattern) pairs are
    # shared, so the replay of recorded additions carries most cells. Blocks of 1,000 rows
    # (the last one partial) instead of 65,536: the rows go through in five blocks.
    monkeypatch.setattr(contrib_module, "_BLOCK_ROWS", 1000)
    for key in [(1, False, True, 12, 31), (2, True, True, 12, 63), (3, False, False, 12, 7)]:
        booster, forest = _model(key)
        rng = np.random.default_rng(key[0])
        base = _features(rng, 300)
        x = base[rng.integers(0, 300, size=4001)]
        x[:200] = rng.choice(_EDGES, size=(200, N_FEATURES))
        x[:, CAT_WIDE][200:400] = rng.integers(-2, N_CATS + 5, size=200)
        _assert_same(forest, booster, x)
        _assert_same(forest, booster, np.asfortranarray(x))


def test_additions_per_tree_counts_distinct_features_on_each_path() -> None:
    # The kernels write each pattern's additions into slots sized by this count: at every
    # leaf, one per distinct feature split on above it.
    for key in [(0, False, True, 12, 31), (2, True, True, 12, 63)]:
        forest = _model(key)[1]
        shap = TreeShap.of(forest)
        assert shap is not None
        left, right, feature = forest.left.tolist(), forest.right.tolist(), forest.split_feature
        expected = []
        for root in forest.roots.tolist():
            total = 0
            stack: list[tuple[int, frozenset[int]]] = [(root, frozenset())]
            while stack:
                node, seen = stack.pop()
                if node < 0:
                    total += len(seen)
                    continue
                below = seen | {int(feature[node])}
                stack += [(left[node], below), (right[node], below)]
            expected.append(total)
        got = _additions_per_tree(
            forest.roots.astype(np.int64),
            shap.splits,
            forest.split_feature,
            forest.left,
            forest.right,
        )
        assert got.tolist() == expected
        assert max(expected) > 0


def test_single_leaf_trees_add_their_value_to_the_bias() -> None:
    rng = np.random.default_rng(0)
    x = _features(rng, 400)
    y = (np.nan_to_num(x[:, 0]) > 0).astype(int)
    stump = lgb.train(
        {"objective": "binary", "verbose": -1, "min_gain_to_split": 1e9},
        lgb.Dataset(x, y, categorical_feature=[CAT_WIDE], params={"verbose": -1}),
        num_boost_round=2,
    )
    mixed = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 15},
        lgb.Dataset(x, y, categorical_feature=[CAT_WIDE], params={"verbose": -1}),
        num_boost_round=4,
        init_model=stump,
    )
    for booster in (stump, mixed):
        _assert_same(Forest.from_model_string(booster.model_to_string()), booster, x[:50])


def test_forests_left_to_lightgbm() -> None:
    # Over 64 leaves, random-forest mode, or a model text without split counts: None.
    forest = _model((0, False, True, 3, 100))[1]
    assert forest.node_count is not None and TreeShap.of(forest) is None
    _, small = _model((0, False, True, 3, 7))
    assert TreeShap.of(small) is not None
    assert TreeShap.of(replace(small, average_output=True)) is None
    text = _model((0, False, True, 3, 7))[0].model_to_string()
    bare = re.sub(r"^(leaf_count|internal_count)=.*\n", "", text, flags=re.MULTILINE)
    assert Forest.from_model_string(bare).node_count is None
    assert TreeShap.of(Forest.from_model_string(bare)) is None


def test_empty_input() -> None:
    _, forest = _model((0, False, True, 3, 7))
    shap = TreeShap.of(forest)
    assert shap is not None
    assert shap.contributions(np.zeros((0, N_FEATURES))).shape == (0, N_FEATURES + 1)
    with pytest.raises(ArtifactError, match="6 feature columns"):
        shap.contributions(np.zeros((2, 3)))


def test_shipped_model_and_the_stage_fallback() -> None:
    artifact = load_model(SHIPPED_MODEL_DIR)
    rng = np.random.default_rng(9)
    x = rng.normal(scale=50.0, size=(3000, artifact.forest.num_features))
    x[rng.random(x.shape) < 0.2] = np.nan
    x[rng.random(x.shape) < 0.2] = 0.0
    cats = [i for i, f in enumerate(artifact.plan.features) if f.kind == "categorical"]
    x[:, cats] = rng.integers(-1, 40, size=(3000, len(cats)))
    x = x[rng.integers(0, 3000, size=6000)]
    _assert_same(artifact.forest, artifact.booster(), x)

    # The stage's reasons: the same by the kernels as by LightGBM (a forest without tables).
    frame = _source_rows(artifact, rng, 800)
    by_kernels = ModelStage(artifact).explain(frame)
    left_to_lightgbm = replace(artifact, forest=replace(artifact.forest, leaf_count=None))
    assert TreeShap.of(left_to_lightgbm.forest) is None
    by_lightgbm = ModelStage(left_to_lightgbm).explain(frame)
    assert by_kernels["model_reasons"].list.len().sum() > 0
    assert by_kernels.equals(by_lightgbm)


def _source_rows(artifact: ModelArtifact, rng: np.random.Generator, n: int) -> pl.DataFrame:
    """Rows of the model's source columns: known and missing codes, skewed numbers, nulls."""
    columns: dict[str, pl.Series] = {}
    for f in artifact.plan.features:
        if f.kind == "categorical":
            codes = sorted(f.extra["codes"])
            picked = [codes[i % len(codes)] if i % 7 else None for i in rng.integers(0, 999, n)]
            columns[f.source] = pl.Series(picked, dtype=pl.String)
        else:
            values = rng.gamma(1.5, 20.0, size=n)
            values[rng.random(n) < 0.15] = np.nan
            columns[f.source] = pl.Series(values).fill_nan(None)
    return pl.DataFrame(columns)


def test_a_stage_sent_to_another_process_explains_with_the_kernels() -> None:
    # A scorer is pickled to Ray workers and back: its model stage still uses the kernels.
    artifact = load_model(SHIPPED_MODEL_DIR)
    frame = _source_rows(artifact, np.random.default_rng(4), 300)
    here = ModelStage(artifact)
    expected = here.explain(frame)
    copy = pickle.loads(pickle.dumps(ModelStage(artifact)))
    assert copy.explain(frame).equals(expected)
    assert copy._shap is not None and copy._booster is None  # no LightGBM booster was made
