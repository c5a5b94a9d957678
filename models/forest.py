"""Exact, compiled evaluation of LightGBM forests.

LightGBM's text model is parsed into flat node arrays and evaluated by numba kernels whose
decisions mirror LightGBM's ``Tree::NumericalDecision`` and ``Tree::CategoricalDecision``
(missing types None / Zero / NaN, default direction, categorical bitsets, values with
``|x| <= kZeroThreshold`` read as zero), and tree outputs are summed in tree order from 0.0,
so raw scores are bit-identical to ``lightgbm.Booster.predict(raw_score=True)``.

Two kernels:

* **Bitvector kernel** (every tree has at most 64 leaves, the usual case). Each tree keeps a
  64-bit word with one bit per leaf, leaves numbered left to right. A split node whose test
  sends the row right ("false" node) clears the bits of the leaves in its left subtree;
  after all false nodes of a tree are applied, the lowest set bit is the exit leaf. Nodes
  are grouped by feature instead of by tree: a feature's numerical nodes are sorted by
  threshold, so the false nodes for a value ``v`` are the prefix with ``threshold < v`` and
  one scan per feature replaces a branchy walk of every tree. NaN and zero values, and
  every category of a categorical feature, have precomputed lists of per-tree masks. Eight
  rows go through together: the threshold scan runs to the largest of the eight values and
  applies each node's mask to the eight rows' words with one vector compare-and-AND.
* **Tree-walk kernel** (fallback when a tree has more than 64 leaves, or categorical tables
  would be too large): blocks of rows go through the trees one tree at a time.

Both kernels are parallel over chunks of rows (``prange``) and read the matrix in place,
column-major (what :meth:`FeaturePlan.matrix` builds) or row-major (LightGBM's own layout);
each layout is compiled once on first use and cached on disk (``cache=True``): the first
call in a fresh environment compiles in a few seconds, later processes load the compiled
code.

Per-feature contributions (LightGBM's ``pred_contrib``, bit for bit) are in
:mod:`models.contrib`.

Example:
    >>> forest = Forest.from_model_string(booster.model_to_string())  # doctest: +SKIP
    >>> raw = forest.predict_raw(X)                                    # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)
from models.errors import ArtifactError

__all__ = ["Forest"]

# LightGBM decision_type bits (include/LightGBM/tree.h).
_CATEGORICAL_MASK = 1
_DEFAULT_LEFT_MASK = 2
# Node kinds used by the kernels.
_KIND_NUM_NONE = 0
_KIND_NUM_ZERO = 1
_KIND_NUM_NAN = 2
_KIND_CATEGORICAL = 3
# LightGBM's kZeroThreshold: values this close to zero are zero for prediction. It is the
# float literal 1e-35f widened to double, 1.0000000180025095e-35, not the double 1e-35.
_ZERO_THRESHOLD = float(np.float32(1e-35))
# Tree-walk kernel: rows per block.
_BLOCK_ROWS = 256
# Bitvector kernel: rows evaluated together (one vector word per tree) and rows per
# parallel task (a multiple of _LANES).
_LANES = 8
_CHUNK_ROWS = 512
_MAX_LEAVES = 64
# Upper bound on precomputed (tree, mask) entries for categorical features; a model beyond
# it (categories in the hundreds of thousands) is evaluated by the tree-walk kernel.
_MAX_CATEGORY_ENTRIES = 1 << 22
_ALL_LEAVES = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
_NO_CATEGORY_BITS = np.zeros((0, 0), dtype=np.bool_)


@dataclass(frozen=True)
class _Bitvectors:
    """Tables of the bitvector kernel.

    Numerical splits: for column ``num_feature[k]`` the entries
    ``num_start[k] .. (first entry with threshold +inf)`` of ``thresholds`` /
    ``threshold_tree`` / ``threshold_mask`` are its split nodes sorted by threshold, closed by
    a +inf sentinel. ``num_list[k]`` is the list applied when the value is NaN, and
    ``num_list[k] + 1`` the one applied when it is zero.

    Categorical splits: for column ``cat_feature[k]``, category ``c < cat_slots[k]`` uses list
    ``cat_list[k] + c`` and every other value (NaN, <= -1, larger categories) list
    ``cat_list[k] + cat_slots[k]``.

    A list ``l`` is the entries ``list_start[l] .. list_start[l + 1]`` of ``list_tree`` /
    ``list_mask``: one combined mask per tree that the case changes.
    """

    num_feature: npt.NDArray[np.uint32]
    num_start: npt.NDArray[np.uint32]
    num_list: npt.NDArray[np.uint32]
    thresholds: npt.NDArray[np.float64]
    threshold_tree: npt.NDArray[np.uint32]
    threshold_mask: npt.NDArray[np.uint64]
    cat_feature: npt.NDArray[np.uint32]
    cat_slots: npt.NDArray[np.uint32]
    cat_list: npt.NDArray[np.uint32]
    list_start: npt.NDArray[np.uint32]
    list_tree: npt.NDArray[np.uint32]
    list_mask: npt.NDArray[np.uint64]
    leaf_start: npt.NDArray[np.uint32]
    leaf_value: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Forest:
    """A LightGBM binary or regression forest as flat arrays, ready for the kernels.

    Child pointers are global: ``>= 0`` is the index of another split node, ``< 0`` is
    ``-(leaf + 1)`` with ``leaf`` a global index into ``leaf_value``. A tree with a single
    leaf has ``root = -(leaf + 1)``. ``bitvectors`` holds the tables of the bitvector kernel,
    or ``None`` when the forest is evaluated by the tree-walk kernel.
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
    bitvectors: _Bitvectors | None = None
    average_output: bool = False
    """Random-forest mode (``boosting=rf``): the model output is the mean of the trees (the
    raw score stays their sum, as ``Booster.predict(raw_score=True)`` returns it)."""
    node_count: npt.NDArray[np.float64] | None = None
    """Training rows through each split node (``internal_count``), None when the model text
    has no counts; with ``leaf_count``, what contributions need (:mod:`models.contrib`)."""
    leaf_count: npt.NDArray[np.float64] | None = None
    """Training rows in each leaf (``leaf_count``), None when the model text has none."""

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
        # The kernels read one feature of eight rows at a time: a column-major matrix (what
        # FeaturePlan.matrix builds) or a row-major one (LightGBM's layout) is read in
        # place, each layout compiled once; any other array is copied column-major first.
        data = np.asarray(x, dtype=np.float64)
        if not (data.flags.c_contiguous or data.flags.f_contiguous):
            data = np.asfortranarray(data)
        if data.ndim != 2 or data.shape[1] != self.num_features:
            raise ArtifactError(
                f"expected a 2-D array with {self.num_features} feature columns, "
                f"got shape {data.shape}",
                hint="pass the model's features in the order of Forest.feature_names",
            )
        out = np.empty(data.shape[0], dtype=np.float64)
        bv = self.bitvectors
        if bv is not None:
            _bitvector_kernel(
                data,
                bv.num_feature,
                bv.num_start,
                bv.num_list,
                bv.thresholds,
                bv.threshold_tree,
                bv.threshold_mask,
                bv.cat_feature,
                bv.cat_slots,
                bv.cat_list,
                bv.list_start,
                bv.list_tree,
                bv.list_mask,
                bv.leaf_start,
                bv.leaf_value,
                out,
            )
            return out
        _walk_kernel(
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
        """Model output: probability for binary models, raw score otherwise.

        Random-forest models (``average_output``) give the mean of their trees, as LightGBM's
        own ``predict`` does.
        """
        raw = self.predict_raw(x)
        if self.average_output and self.num_trees:
            raw = raw / self.num_trees
        if self.objective == "binary":
            return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))
        return raw


# --------------------------------------------------------------------------------------
# Bitvector kernel


def _trailing_zeros_typing(typingctx: Any, word: Any) -> Any:
    """Index of the lowest set bit of a uint64 (64 for zero)."""
    if word != types.uint64:
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.uint64(types.uint64), codegen


# Called from the kernels only (numba intrinsics are typed by their typing function).
_trailing_zeros: Any = intrinsic(_trailing_zeros_typing)


def _and_lanes_typing(
    typingctx: Any, words: Any, first: Any, lane_value: Any, threshold: Any, mask: Any
) -> Any:
    """``words[first + lane] &= mask`` for every lane with ``threshold < lane_value[lane]``.

    The ``_LANES`` words and values are contiguous, so this is one vector load, compare,
    select, AND and store.
    """
    uint64_vector = types.Array(types.uint64, 1, "C")
    float64_vector = types.Array(types.float64, 1, "C")
    if (
        words != uint64_vector
        or first != types.uint64
        or lane_value != float64_vector
        or threshold != types.float64
        or mask != types.uint64
    ):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        word_array = context.make_array(signature.args[0])(context, builder, args[0])
        value_array = context.make_array(signature.args[2])(context, builder, args[2])
        i32 = ir.IntType(32)
        i64 = ir.IntType(64)
        word_type = ir.VectorType(i64, _LANES)
        value_type = ir.VectorType(ir.DoubleType(), _LANES)
        word_ptr = builder.bitcast(builder.gep(word_array.data, [args[1]]), word_type.as_pointer())
        value_ptr = builder.bitcast(value_array.data, value_type.as_pointer())
        thresholds = ir.Constant(value_type, ir.Undefined)
        masks = ir.Constant(word_type, ir.Undefined)
        for lane in range(_LANES):
            thresholds = builder.insert_element(thresholds, args[3], ir.Constant(i32, lane))
            masks = builder.insert_element(masks, args[4], ir.Constant(i32, lane))
        goes_right = builder.fcmp_ordered("<", thresholds, builder.load(value_ptr, align=8))
        keep_all = ir.Constant(word_type, [ir.Constant(i64, -1)] * _LANES)
        cleared = builder.select(goes_right, masks, keep_all)
        builder.store(builder.and_(builder.load(word_ptr, align=8), cleared), word_ptr, align=8)
        return context.get_dummy_value()

    return types.void(words, first, lane_value, threshold, mask), codegen


_and_lanes: Any = intrinsic(_and_lanes_typing)


@numba.njit(cache=True, inline="always")
def _apply_list(
    words: npt.NDArray[np.uint64],
    lane: np.uint64,
    entry_start: np.uint32,
    entry_stop: np.uint32,
    list_tree: npt.NDArray[np.uint32],
    list_mask: npt.NDArray[np.uint64],
) -> None:
    lanes = np.uint64(_LANES)
    for entry in range(np.uint64(entry_start), np.uint64(entry_stop)):
        words[np.uint64(list_tree[entry]) * lanes + lane] &= list_mask[entry]


# Indices are unsigned on purpose: numba then emits no negative-index wraparound code in
# the inner loops.
@numba.njit(cache=True, parallel=True, nogil=True)
def _bitvector_kernel(
    data: npt.NDArray[np.float64],
    num_feature: npt.NDArray[np.uint32],
    num_start: npt.NDArray[np.uint32],
    num_list: npt.NDArray[np.uint32],
    thresholds: npt.NDArray[np.float64],
    threshold_tree: npt.NDArray[np.uint32],
    threshold_mask: npt.NDArray[np.uint64],
    cat_feature: npt.NDArray[np.uint32],
    cat_slots: npt.NDArray[np.uint32],
    cat_list: npt.NDArray[np.uint32],
    list_start: npt.NDArray[np.uint32],
    list_tree: npt.NDArray[np.uint32],
    list_mask: npt.NDArray[np.uint64],
    leaf_start: npt.NDArray[np.uint32],
    leaf_value: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None:
    n_rows = data.shape[0]
    n_trees = leaf_start.shape[0] - 1
    lanes = np.uint64(_LANES)
    one = np.uint64(1)
    n_chunks = (n_rows + _CHUNK_ROWS - 1) // _CHUNK_ROWS
    for chunk in numba.prange(n_chunks):
        words = np.empty(n_trees * _LANES, dtype=np.uint64)
        lane_value = np.empty(_LANES, dtype=np.float64)
        total = np.empty(_LANES, dtype=np.float64)
        stop = min(n_rows, (chunk + 1) * _CHUNK_ROWS)
        for first in range(chunk * _CHUNK_ROWS, stop, _LANES):
            width = min(_LANES, stop - first)
            words[:] = _ALL_LEAVES
            # Numerical splits: NaN and zero use their lists; any other value clears the
            # nodes with threshold < value, a prefix of the column's sorted run.
            for k in range(num_feature.shape[0]):
                column = num_feature[k]
                top = -np.inf
                for lane in range(_LANES):
                    value = -np.inf
                    if lane < width:
                        value = data[first + lane, column]
                        special = np.uint64(num_list[k])
                        if math.isnan(value) or -_ZERO_THRESHOLD <= value <= _ZERO_THRESHOLD:
                            if not math.isnan(value):
                                special += one
                            _apply_list(
                                words,
                                np.uint64(lane),
                                list_start[special],
                                list_start[special + one],
                                list_tree,
                                list_mask,
                            )
                            value = -np.inf
                    lane_value[lane] = value
                    top = max(top, value)
                entry = np.uint64(num_start[k])
                while thresholds[entry] < top:
                    _and_lanes(
                        words,
                        np.uint64(threshold_tree[entry]) * lanes,
                        lane_value,
                        thresholds[entry],
                        threshold_mask[entry],
                    )
                    entry += one
            # Categorical splits: LightGBM truncates the value to int; NaN, values <= -1
            # and values outside int range go right everywhere (the last list).
            for k in range(cat_feature.shape[0]):
                column = cat_feature[k]
                for lane in range(width):
                    value = data[first + lane, column]
                    slot = np.int64(cat_slots[k])
                    if -1.0 < value < 2147483648.0:
                        category = np.int64(value)
                        if category < slot:
                            slot = category
                    chosen = np.uint64(cat_list[k]) + np.uint64(slot)
                    _apply_list(
                        words,
                        np.uint64(lane),
                        list_start[chosen],
                        list_start[chosen + one],
                        list_tree,
                        list_mask,
                    )
            # Exit leaf = lowest set bit; sum in tree order from 0.0, as LightGBM does.
            total[:] = 0.0
            for tree in range(n_trees):
                base = np.uint64(tree) * lanes
                leaf0 = np.uint64(leaf_start[tree])
                for lane in range(_LANES):
                    total[lane] += leaf_value[
                        leaf0 + _trailing_zeros(words[base + np.uint64(lane)])
                    ]
            for lane in range(width):
                out[first + lane] = total[lane]


# --------------------------------------------------------------------------------------
# Tree-walk kernel (trees with more than 64 leaves)


@numba.njit(cache=True, inline="always")
def _goes_left(
    value: float,
    node: int,
    threshold: npt.NDArray[np.float64],
    kind: npt.NDArray[np.uint8],
    default_left: npt.NDArray[np.bool_],
    cat_start: npt.NDArray[np.int32],
    cat_words: npt.NDArray[np.int32],
    cat_bits: npt.NDArray[np.uint32],
) -> bool:
    k = kind[node]
    if k == _KIND_CATEGORICAL:
        # LightGBM truncates to int: NaN, values <= -1 and values beyond int range go right.
        if not -1.0 < value < 2147483648.0:
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


@numba.njit(cache=True, inline="always")
def _row_goes_left(
    data: npt.NDArray[np.float64],
    row: int,
    node: int,
    split_feature: npt.NDArray[np.int32],
    threshold: npt.NDArray[np.float64],
    kind: npt.NDArray[np.uint8],
    default_left: npt.NDArray[np.bool_],
    cat_start: npt.NDArray[np.int32],
    cat_words: npt.NDArray[np.int32],
    cat_bits: npt.NDArray[np.uint32],
) -> bool:
    """Whether ``row`` of ``data`` goes left at split ``node``, as LightGBM's predictor reads
    the row: its dense predictor treats ``|x| <= kZeroThreshold`` as 0."""
    value = data[row, split_feature[node]]
    if -_ZERO_THRESHOLD <= value <= _ZERO_THRESHOLD:
        value = 0.0
    return _goes_left(value, node, threshold, kind, default_left, cat_start, cat_words, cat_bits)


@numba.njit(cache=True, parallel=True, nogil=True)
def _walk_kernel(
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
                    if _row_goes_left(
                        data,
                        row,
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


# --------------------------------------------------------------------------------------
# Parsing
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
    forest = builder.build(feature_names, objective, sigmoid)
    # A bare "average_output" line (no "=") marks a random-forest model.
    if "average_output" in (line.strip() for line in header.splitlines()):
        forest = replace(forest, average_output=True)
    return forest


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
        # Training rows per split node and per leaf (for contributions); None once a tree
        # lacks them.
        self.node_counts: list[npt.NDArray[np.float64]] | None = []
        self.leaf_counts: list[npt.NDArray[np.float64]] | None = []
        self.n_nodes = 0
        self.n_leaves = 0
        self.n_bits = 0
        self.tree_leaves: list[int] = []

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
        self._add_counts(kv, num_leaves)
        self.n_leaves += num_leaves
        self.tree_leaves.append(num_leaves)

    def _add_counts(self, kv: dict[str, str], num_leaves: int) -> None:
        if self.node_counts is None or self.leaf_counts is None:
            return
        try:
            leaf = np.array(kv["leaf_count"].split(), dtype=np.float64)
            node = np.array(kv.get("internal_count", "").split(), dtype=np.float64)
        except (KeyError, ValueError):
            leaf = node = np.zeros(0)
        if leaf.shape[0] != num_leaves or (num_leaves > 1 and node.shape[0] != num_leaves - 1):
            self.node_counts = self.leaf_counts = None
            return
        self.leaf_counts.append(leaf)
        if num_leaves > 1:
            self.node_counts.append(node)

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
        forest = Forest(
            feature_names=names,
            roots=np.array(self.roots, dtype=np.int32),
            split_feature=_join(self.feature, np.int32),
            threshold=_join(self.threshold, np.float64),
            kind=_join(self.kind, np.uint8),
            default_left=_join(self.default_left, np.bool_),
            left=_join(self.left, np.int32),
            right=_join(self.right, np.int32),
            cat_start=_join(self.cat_start, np.int32),
            cat_words=_join(self.cat_words, np.int32),
            cat_bits=_join(self.cat_bits, np.uint32),
            leaf_value=_join(self.leaves, np.float64),
            objective=objective,
            sigmoid=sigmoid,
        )
        used = forest.split_feature
        if used.shape[0] and (used.min() < 0 or used.max() >= len(names)):
            raise ArtifactError(
                f"a split uses a feature index outside the model's {len(names)} features"
            )
        forest = replace(forest, bitvectors=_bitvector_tables(forest, self.tree_leaves))
        if self.node_counts is None or self.leaf_counts is None:
            return forest
        return replace(
            forest,
            node_count=_join(self.node_counts, np.float64),
            leaf_count=_join(self.leaf_counts, np.float64),
        )


def _bitvector_tables(forest: Forest, tree_leaves: list[int]) -> _Bitvectors | None:
    """Tables of the bitvector kernel, or ``None`` if a tree has more than 64 leaves."""
    if any(n > _MAX_LEAVES for n in tree_leaves):
        return None
    n_nodes = forest.split_feature.shape[0]
    node_tree = np.zeros(n_nodes, dtype=np.uint32)
    node_mask = np.zeros(n_nodes, dtype=np.uint64)
    leaf_order = _number_leaves(forest, node_tree, node_mask)

    lists: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32], npt.NDArray[np.uint64]]]
    lists = []
    numerical = np.flatnonzero(forest.kind != _KIND_CATEGORICAL)
    num_feature = np.unique(forest.split_feature[numerical])
    runs_threshold: list[npt.NDArray[np.float64]] = []
    runs_tree: list[npt.NDArray[np.uint32]] = []
    runs_mask: list[npt.NDArray[np.uint64]] = []
    num_start = np.zeros(num_feature.shape[0], dtype=np.uint32)
    at = 0
    for k, column in enumerate(num_feature.tolist()):
        nodes = numerical[forest.split_feature[numerical] == column]
        threshold = forest.threshold[nodes]
        by_threshold = nodes[np.argsort(threshold, kind="stable")]
        num_start[k] = at
        runs_threshold += [forest.threshold[by_threshold], np.array([np.inf])]
        runs_tree += [node_tree[by_threshold], np.zeros(1, dtype=np.uint32)]
        runs_mask += [node_mask[by_threshold], np.array([_ALL_LEAVES])]
        at += by_threshold.shape[0] + 1
        # Which nodes send a NaN / a zero right (see LightGBM's NumericalDecision).
        kind = forest.kind[nodes]
        default_right = ~forest.default_left[nodes]
        below_zero = threshold < 0.0
        nan_right = np.where(kind == _KIND_NUM_NONE, below_zero, default_right)
        zero_right = np.where(kind == _KIND_NUM_ZERO, default_right, below_zero)
        lists.append(
            _per_tree_masks(node_tree[nodes], node_mask[nodes], np.c_[nan_right, zero_right])
        )
    num_list = np.arange(0, 2 * num_feature.shape[0], 2, dtype=np.uint32)

    categorical = np.flatnonzero(forest.kind == _KIND_CATEGORICAL)
    cat_feature = np.unique(forest.split_feature[categorical])
    cat_slots = np.zeros(cat_feature.shape[0], dtype=np.uint32)
    cat_list = np.zeros(cat_feature.shape[0], dtype=np.uint32)
    n_lists = 2 * num_feature.shape[0]
    budget = _MAX_CATEGORY_ENTRIES
    for k, column in enumerate(cat_feature.tolist()):
        nodes = categorical[forest.split_feature[categorical] == column]
        slots = 32 * int(forest.cat_words[nodes].max())
        budget -= (slots + 1) * np.unique(node_tree[nodes]).shape[0]
        if budget < 0:
            return None
        cat_slots[k] = slots
        cat_list[k] = n_lists
        n_lists += slots + 1
        goes_left = _category_bits(forest, nodes, slots)
        # One list per category in the bitsets, then one for every other value.
        for lo in range(0, slots + 1, 256):
            hi = min(lo + 256, slots + 1)
            goes_right = np.ones((nodes.shape[0], hi - lo), dtype=np.bool_)
            inside = min(hi, slots) - lo
            if inside > 0:
                goes_right[:, :inside] = ~goes_left[:, lo : lo + inside]
            lists.append(_per_tree_masks(node_tree[nodes], node_mask[nodes], goes_right))

    counts = np.concatenate([c for c, _, _ in lists]) if lists else np.zeros(0, dtype=np.int64)
    list_start = np.zeros(counts.shape[0] + 1, dtype=np.uint32)
    np.cumsum(counts, out=list_start[1:])
    leaf_start = np.zeros(len(tree_leaves) + 1, dtype=np.uint32)
    np.cumsum(tree_leaves, out=leaf_start[1:])
    return _Bitvectors(
        num_feature=num_feature.astype(np.uint32),
        num_start=num_start,
        num_list=num_list,
        thresholds=_join(runs_threshold, np.float64),
        threshold_tree=_join(runs_tree, np.uint32),
        threshold_mask=_join(runs_mask, np.uint64),
        cat_feature=cat_feature.astype(np.uint32),
        cat_slots=cat_slots,
        cat_list=cat_list,
        list_start=list_start,
        list_tree=_join([t for _, t, _ in lists], np.uint32),
        list_mask=_join([m for _, _, m in lists], np.uint64),
        leaf_start=leaf_start,
        leaf_value=forest.leaf_value[leaf_order],
    )


def _number_leaves(
    forest: Forest, node_tree: npt.NDArray[np.uint32], node_mask: npt.NDArray[np.uint64]
) -> npt.NDArray[np.int64]:
    """Number each tree's leaves left to right; fill every node's tree and mask.

    Returns the global leaf indices in left-to-right order, tree after tree. A node's mask
    has the bits of the leaves of its left subtree cleared.
    """
    left = forest.left.tolist()
    right = forest.right.tolist()
    order: list[int] = []
    masks = [0] * forest.split_feature.shape[0]
    all_bits = (1 << 64) - 1
    for tree, root in enumerate(forest.roots.tolist()):
        first = len(order)
        pending: list[tuple[int, int]] = []  # nodes whose left subtree is being numbered
        node = root
        while True:
            while node >= 0:
                pending.append((node, len(order)))
                node = left[node]
            order.append(-node - 1)
            if not pending:
                break
            parent, lo = pending.pop()
            width = len(order) - lo
            masks[parent] = all_bits ^ (((1 << width) - 1) << (lo - first))
            node_tree[parent] = tree
            node = right[parent]
    node_mask[:] = np.array(masks, dtype=np.uint64)
    return np.array(order, dtype=np.int64)


def _category_bits(
    forest: Forest, nodes: npt.NDArray[np.int64], slots: int
) -> npt.NDArray[np.bool_]:
    """``[node, category]``: the category goes left at the node (categories < slots)."""
    if slots == 0:
        return _NO_CATEGORY_BITS
    n_words = slots // 32
    word = np.arange(n_words)
    present = word[None, :] < forest.cat_words[nodes][:, None]
    index = np.where(present, forest.cat_start[nodes][:, None] + word[None, :], 0)
    words = np.where(present, forest.cat_bits[index], np.uint32(0))
    bits = (words[:, :, None] >> np.arange(32, dtype=np.uint32)) & np.uint32(1)
    return bits.reshape(nodes.shape[0], slots).astype(np.bool_)


def _per_tree_masks(
    trees: npt.NDArray[np.uint32], masks: npt.NDArray[np.uint64], goes_right: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32], npt.NDArray[np.uint64]]:
    """One list per column of ``goes_right`` (nodes × cases, nodes ordered by tree).

    A list holds, per tree, the AND of the masks of the nodes that send the case right;
    trees left unchanged are dropped. Returns (entries per list, trees, masks), lists one
    after the other.
    """
    starts = np.flatnonzero(np.r_[True, trees[1:] != trees[:-1]])
    cleared = np.where(goes_right, masks[:, None], _ALL_LEAVES)
    per_tree = np.bitwise_and.reduceat(cleared, starts, axis=0).T
    keep = per_tree != _ALL_LEAVES
    tree_ids = np.broadcast_to(trees[starts], per_tree.shape)[keep]
    return keep.sum(axis=1).astype(np.int64), tree_ids, per_tree[keep]


def _join(parts: list[npt.NDArray[Any]], dtype: type) -> npt.NDArray[Any]:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)
