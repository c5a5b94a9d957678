"""Exact, compiled evaluation of LightGBM forests.

LightGBM's text model is parsed into flat node arrays (one row per split node across the
whole forest) and walked by a numba kernel that is parallel over blocks of rows and
tree-major inside a block, so a tree's nodes stay in cache while a block of rows goes
through it. The decision at each node mirrors LightGBM's ``Tree::NumericalDecision`` and
``Tree::CategoricalDecision`` (missing types None / Zero / NaN, default direction,
categorical bitsets), and tree outputs are summed in tree order, so raw scores equal
``lightgbm.Booster.predict(raw_score=True)`` to rounding.

The kernel has one fixed signature and is cached on disk (``cache=True``): the first call
in a fresh environment compiles in a few seconds, later processes load it.

Example:
    >>> forest = Forest.from_model_string(booster.model_to_string())  # doctest: +SKIP
    >>> raw = forest.predict_raw(X)                                    # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from models.errors import ArtifactError

__all__ = ["Forest"]

# LightGBM decision_type bits (include/LightGBM/tree.h).
_CATEGORICAL_MASK = 1
_DEFAULT_LEFT_MASK = 2
# Node kinds used by the kernel.
_KIND_NUM_NONE = 0
_KIND_NUM_ZERO = 1
_KIND_NUM_NAN = 2
_KIND_CATEGORICAL = 3
# LightGBM's kZeroThreshold: values this close to zero are zero for prediction.
_ZERO_THRESHOLD = 1e-35
_BLOCK_ROWS = 256


@dataclass(frozen=True)
class Forest:
    """A LightGBM binary or regression forest as flat arrays, ready for the kernel.

    Child pointers are global: ``>= 0`` is the index of another split node, ``< 0`` is
    ``-(leaf + 1)`` with ``leaf`` a global index into ``leaf_value``. A tree with a single
    leaf has ``root = -(leaf + 1)``.
    """

    feature_names: tuple[str, ...]
    roots: npt.NDArray[np.int32]
    split_feature: npt.NDArray[np.int32]
    threshold: npt.NDArray[np.float64]
    kind: npt.NDArray[np.uint8]
    default_left: npt.NDArray[np.bool_]
    left: npt.NDArray[np.int32]
    right: npt.NDArray[np.int32]
    cat_start: npt.NDArray[np.int32]
    cat_words: npt.NDArray[np.int32]
    cat_bits: npt.NDArray[np.uint32]
    leaf_value: npt.NDArray[np.float64]
    objective: str
    sigmoid: float

    @property
    def num_trees(self) -> int:
        """Number of trees in the forest."""
        return int(self.roots.shape[0])

    @property
    def num_features(self) -> int:
        """Number of input columns the model expects."""
        return len(self.feature_names)

    @classmethod
    def from_model_string(cls, text: str) -> Forest:
        """Parse a LightGBM text model (``Booster.model_to_string()`` / ``model.txt``)."""
        return _parse(text)

    def predict_raw(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Raw scores (sum of tree outputs) for rows of ``x`` (n_rows × n_features)."""
        data = np.ascontiguousarray(x, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != self.num_features:
            raise ArtifactError(
                f"expected a 2-D array with {self.num_features} feature columns, "
                f"got shape {data.shape}",
                hint="pass the model's features in the order of Forest.feature_names",
            )
        out = np.empty(data.shape[0], dtype=np.float64)
        _predict_kernel(
            data,
            self.roots,
            self.split_feature,
            self.threshold,
            self.kind,
            self.default_left,
            self.left,
            self.right,
            self.cat_start,
            self.cat_words,
            self.cat_bits,
            self.leaf_value,
            out,
        )
        return out

    def predict(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Model output: probability for binary models, raw score otherwise."""
        raw = self.predict_raw(x)
        if self.objective == "binary":
            return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))
        return raw


@numba.njit(cache=True, inline="always")
def _goes_left(
    value: float,
    node: int,
    split_feature: npt.NDArray[np.int32],
    threshold: npt.NDArray[np.float64],
    kind: npt.NDArray[np.uint8],
    default_left: npt.NDArray[np.bool_],
    cat_start: npt.NDArray[np.int32],
    cat_words: npt.NDArray[np.int32],
    cat_bits: npt.NDArray[np.uint32],
) -> bool:
    k = kind[node]
    if k == _KIND_CATEGORICAL:
        # NaN, negative and out-of-int-range categories go right, as in LightGBM.
        if math.isnan(value) or value < 0.0 or value >= 2147483648.0:
            return False
        category = int(value)
        word = category >> 5
        if word >= cat_words[node]:
            return False
        return bool(((cat_bits[cat_start[node] + word] >> np.uint32(category & 31)) & 1) == 1)
    if math.isnan(value):
        if k == _KIND_NUM_NAN:
            return bool(default_left[node])
        value = 0.0
    if k == _KIND_NUM_ZERO and value == 0.0:
        return bool(default_left[node])
    return bool(value <= threshold[node])


@numba.njit(cache=True, parallel=True, nogil=True)
def _predict_kernel(
    data: npt.NDArray[np.float64],
    roots: npt.NDArray[np.int32],
    split_feature: npt.NDArray[np.int32],
    threshold: npt.NDArray[np.float64],
    kind: npt.NDArray[np.uint8],
    default_left: npt.NDArray[np.bool_],
    left: npt.NDArray[np.int32],
    right: npt.NDArray[np.int32],
    cat_start: npt.NDArray[np.int32],
    cat_words: npt.NDArray[np.int32],
    cat_bits: npt.NDArray[np.uint32],
    leaf_value: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None:
    n_rows = data.shape[0]
    n_blocks = (n_rows + _BLOCK_ROWS - 1) // _BLOCK_ROWS
    for block in numba.prange(n_blocks):
        start = block * _BLOCK_ROWS
        stop = min(start + _BLOCK_ROWS, n_rows)
        for row in range(start, stop):
            out[row] = 0.0
        for tree in range(roots.shape[0]):
            root = roots[tree]
            for row in range(start, stop):
                node = root
                while node >= 0:
                    value = data[row, split_feature[node]]
                    # LightGBM's dense predictor treats |x| <= kZeroThreshold as 0.
                    if -_ZERO_THRESHOLD <= value <= _ZERO_THRESHOLD:
                        value = 0.0
                    if _goes_left(
                        value,
                        node,
                        split_feature,
                        threshold,
                        kind,
                        default_left,
                        cat_start,
                        cat_words,
                        cat_bits,
                    ):
                        node = left[node]
                    else:
                        node = right[node]
                out[row] += leaf_value[-node - 1]


def _parse(text: str) -> Forest:
    """Read the header and every ``Tree=`` block of a LightGBM text model."""
    header, _, rest = text.partition("\nTree=")
    head = _key_values(header)
    if head.get("num_class", "1") != "1" or head.get("num_tree_per_iteration", "1") != "1":
        raise ArtifactError(
            "only single-output LightGBM models (binary or regression) are supported",
            hint="train with objective=binary",
        )
    feature_names = tuple(head.get("feature_names", "").split())
    objective_parts = head.get("objective", "regression").split()
    objective = objective_parts[0] if objective_parts else "regression"
    sigmoid = 1.0
    for part in objective_parts[1:]:
        if part.startswith("sigmoid:"):
            sigmoid = float(part.split(":", 1)[1])
    body = rest.split("\nend of trees", 1)[0]
    blocks = ("Tree=" + body).split("\nTree=") if rest else []
    builder = _ForestBuilder()
    for block in blocks:
        builder.add_tree(_key_values(block))
    return builder.build(feature_names, objective, sigmoid)


def _key_values(block: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            pairs[key.strip()] = value.strip()
    return pairs


class _ForestBuilder:
    """Accumulates trees into global node/leaf arrays."""

    def __init__(self) -> None:
        self.roots: list[int] = []
        self.feature: list[npt.NDArray[np.int32]] = []
        self.threshold: list[npt.NDArray[np.float64]] = []
        self.kind: list[npt.NDArray[np.uint8]] = []
        self.default_left: list[npt.NDArray[np.bool_]] = []
        self.left: list[npt.NDArray[np.int32]] = []
        self.right: list[npt.NDArray[np.int32]] = []
        self.cat_start: list[npt.NDArray[np.int32]] = []
        self.cat_words: list[npt.NDArray[np.int32]] = []
        self.cat_bits: list[npt.NDArray[np.uint32]] = []
        self.leaves: list[npt.NDArray[np.float64]] = []
        self.n_nodes = 0
        self.n_leaves = 0
        self.n_bits = 0

    def add_tree(self, kv: dict[str, str]) -> None:
        if kv.get("is_linear", "0") != "0":
            raise ArtifactError(
                "linear-tree LightGBM models are not supported", hint="train with linear_tree=false"
            )
        num_leaves = int(kv["num_leaves"])
        leaves = np.array(kv["leaf_value"].split(), dtype=np.float64)
        shrink_ok = leaves.shape[0] == num_leaves
        if not shrink_ok:
            raise ArtifactError(f"tree {kv.get('Tree', '?')}: leaf count does not match")
        if num_leaves == 1:
            self.roots.append(-(self.n_leaves + 1))
        else:
            self._add_splits(kv, num_leaves - 1)
            self.roots.append(self.n_nodes)
            self.n_nodes += num_leaves - 1
        self.leaves.append(leaves)
        self.n_leaves += num_leaves

    def _add_splits(self, kv: dict[str, str], n: int) -> None:
        decision = np.array(kv["decision_type"].split(), dtype=np.int64)
        thr = np.array(kv["threshold"].split(), dtype=np.float64)
        is_cat = (decision & _CATEGORICAL_MASK) != 0
        missing = (decision >> 2) & 3
        kind = np.where(is_cat, _KIND_CATEGORICAL, missing).astype(np.uint8)
        cat_start = np.zeros(n, dtype=np.int32)
        cat_words = np.zeros(n, dtype=np.int32)
        if int(kv.get("num_cat", "0")) > 0:
            bounds = np.array(kv["cat_boundaries"].split(), dtype=np.int64)
            bits = np.array(kv["cat_threshold"].split(), dtype=np.uint64).astype(np.uint32)
            idx = thr[is_cat].astype(np.int64)
            cat_start[is_cat] = self.n_bits + bounds[idx]
            cat_words[is_cat] = bounds[idx + 1] - bounds[idx]
            self.cat_bits.append(bits)
            self.n_bits += bits.shape[0]
        self.feature.append(np.array(kv["split_feature"].split(), dtype=np.int32))
        self.threshold.append(thr)
        self.kind.append(kind)
        self.default_left.append((decision & _DEFAULT_LEFT_MASK) != 0)
        self.left.append(self._globalise(kv["left_child"]))
        self.right.append(self._globalise(kv["right_child"]))
        self.cat_start.append(cat_start)
        self.cat_words.append(cat_words)

    def _globalise(self, children: str) -> npt.NDArray[np.int32]:
        local = np.array(children.split(), dtype=np.int64)
        # Internal children shift by the tree's first node; leaves (~leaf) by its first leaf.
        glob = np.where(local >= 0, local + self.n_nodes, -((-local - 1) + self.n_leaves) - 1)
        return glob.astype(np.int32)

    def build(self, names: tuple[str, ...], objective: str, sigmoid: float) -> Forest:
        def cat(parts: list[npt.NDArray[np.generic]], dtype: type) -> npt.NDArray[np.generic]:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

        return Forest(
            feature_names=names,
            roots=np.array(self.roots, dtype=np.int32),
            split_feature=cat(self.feature, np.int32),  # type: ignore[arg-type]
            threshold=cat(self.threshold, np.float64),  # type: ignore[arg-type]
            kind=cat(self.kind, np.uint8),  # type: ignore[arg-type]
            default_left=cat(self.default_left, np.bool_),  # type: ignore[arg-type]
            left=cat(self.left, np.int32),  # type: ignore[arg-type]
            right=cat(self.right, np.int32),  # type: ignore[arg-type]
            cat_start=cat(self.cat_start, np.int32),  # type: ignore[arg-type]
            cat_words=cat(self.cat_words, np.int32),  # type: ignore[arg-type]
            cat_bits=cat(self.cat_bits, np.uint32),  # type: ignore[arg-type]
            leaf_value=cat(self.leaves, np.float64),  # type: ignore[arg-type]
            objective=objective,
            sigmoid=sigmoid,
        )
