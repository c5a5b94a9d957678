"""Per-feature contributions (TreeSHAP), bit-identical to LightGBM's ``pred_contrib``.

``Booster.predict(x, pred_contrib=True)`` runs the TreeSHAP recursion of every tree for
every row: all nodes of the tree are visited, and at each split the value of the row only
decides which child is *hot* (the one the row takes) and which is *cold*. What a tree adds to
a row's contributions is therefore fixed by the row's decision at each of the tree's split
nodes — its *pattern*, one bit per split node — and the rows an officer looks at share few
patterns per tree (the 20,000 explained rows of a 1M-row batch of the shipped model: 63k
distinct (tree, pattern) pairs for 1.48M (tree, row) pairs).

So :meth:`TreeShap.contributions` computes each row's pattern in every tree, runs the recursion once
per distinct (tree, pattern), records the additions it makes — (feature, amount), in the
order LightGBM makes them — and replays them for every row with that pattern, tree after
tree from zero, as LightGBM accumulates. The recursion is a transcription of LightGBM's
``Tree::TreeSHAP`` (``ExtendPath``, ``UnwindPath``, ``UnwoundPathSum``, with the same
operations in the same order) over an explicit stack, and the decisions are those of the
forest's kernels (:mod:`models.forest`), so every output is the same double as LightGBM's:
the tests compare them bit for bit. The last column is the bias: the sum of the trees'
expected values (``Tree::ExpectedValue``).

Forests with a tree of more than 64 leaves, or without the split counts of a LightGBM text
model, or in random-forest mode, are left to LightGBM (:meth:`TreeShap.of` returns None).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

import engine._jit  # noqa: F401  (numba's set-up without its BLAS probe: see there)
from models.errors import ArtifactError
from models.forest import Forest, _row_goes_left

__all__ = ["TreeShap"]

_MAX_SPLITS = 63
"""Split nodes per tree at most: a pattern is one 64-bit word (trees of up to 64 leaves)."""
_PATH_SLOTS = (_MAX_SPLITS + 2) * (_MAX_SPLITS + 3) // 2
"""Path elements of the recursion, every depth's segment in one buffer (as LightGBM)."""
_STACK = 2 * _MAX_SPLITS + 4
_BLOCK_ROWS = 65_536
"""Rows whose patterns are tabled together."""


@dataclass(frozen=True)
class TreeShap:
    """The contribution kernels' view of a forest: build with :meth:`of`.

    ``splits[t]``: split nodes of tree ``t`` (global ``roots[t] .. roots[t] + splits[t]``);
    ``additions[t]``: the additions its recursion makes for any pattern (fixed by the tree's
    shape); ``expected[t]``: its expected value.
    """

    forest: Forest
    roots: npt.NDArray[np.int64]
    splits: npt.NDArray[np.int64]
    additions: npt.NDArray[np.int64]
    expected: npt.NDArray[np.float64]
    node_count: npt.NDArray[np.float64]
    leaf_count: npt.NDArray[np.float64]

    @classmethod
    def of(cls, forest: Forest) -> TreeShap | None:
        """The kernels for ``forest``; None when they do not handle it (a tree of more than
        64 leaves, a model text without split counts, random-forest mode)."""
        if forest.node_count is None or forest.leaf_count is None or forest.average_output:
            return None
        roots = forest.roots.astype(np.int64)
        splits = np.zeros(roots.shape[0], dtype=np.int64)
        following = forest.split_feature.shape[0]  # split nodes are numbered tree by tree
        for t in range(roots.shape[0] - 1, -1, -1):
            if roots[t] >= 0:
                splits[t] = following - roots[t]
                following = int(roots[t])
        if splits.size and splits.max() > _MAX_SPLITS:
            return None
        expected = np.zeros(roots.shape[0], dtype=np.float64)
        first_leaf = 0
        for t, n in enumerate((splits + 1).tolist()):
            values = forest.leaf_value[first_leaf : first_leaf + n].tolist()
            counts = forest.leaf_count[first_leaf : first_leaf + n].tolist()
            if n == 1:
                expected[t] = values[0]
            else:
                # Tree::ExpectedValue: sum of (leaf count / root count) * leaf value, in order.
                total = float(forest.node_count[roots[t]])
                value = 0.0
                for count, leaf in zip(counts, values, strict=True):
                    value += (count / total) * leaf
                expected[t] = value
            first_leaf += n
        additions = _additions_per_tree(
            roots, splits, forest.split_feature, forest.left, forest.right
        )
        return cls(forest, roots, splits, additions, expected, forest.node_count, forest.leaf_count)

    def contributions(self, x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """``Booster.predict(x, pred_contrib=True)`` of the forest's model, bit for bit: one
        row per row of ``x``, one column per feature and the bias last."""
        forest = self.forest
        data = np.asfortranarray(x, dtype=np.float64)
        if data.ndim != 2 or data.shape[1] != forest.num_features:
            raise ArtifactError(
                f"expected a 2-D array with {forest.num_features} feature columns, "
                f"got shape {data.shape}",
                hint="pass the model's features in the order of Forest.feature_names",
            )
        out = np.zeros((data.shape[0], forest.num_features + 1), dtype=np.float64)
        if self.splits.shape[0] == 0:
            return out
        # A block of rows at a time: the tables of patterns and additions stay bounded
        # (rows of a block share patterns about as much as a whole batch's do).
        for lo in range(0, data.shape[0], _BLOCK_ROWS):
            hi = min(lo + _BLOCK_ROWS, data.shape[0])
            self._block(np.asfortranarray(data[lo:hi]), out[lo:hi])
        return out

    def _block(self, data: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> None:
        forest = self.forest
        n_trees = self.splits.shape[0]
        patterns = np.zeros((n_trees, data.shape[0]), dtype=np.uint64)
        _patterns_kernel(
            data,
            self.roots,
            self.splits,
            forest.split_feature,
            forest.threshold,
            forest.kind,
            forest.default_left,
            forest.cat_start,
            forest.cat_words,
            forest.cat_bits,
            patterns,
        )
        codes = np.zeros((n_trees, data.shape[0]), dtype=np.int32)
        distinct = np.zeros(n_trees, dtype=np.int64)
        _distinct_kernel(patterns, codes, distinct)  # patterns[t, :distinct[t]]: the distinct
        start = np.zeros(n_trees + 1, dtype=np.int64)
        np.cumsum(distinct * self.additions, out=start[1:])
        feature = np.zeros(int(start[-1]), dtype=np.int32)
        amount = np.zeros(int(start[-1]), dtype=np.float64)
        _recursion_kernel(
            patterns,
            distinct,
            start,
            self.roots,
            self.additions,
            forest.split_feature,
            forest.left,
            forest.right,
            forest.leaf_value,
            self.node_count,
            self.leaf_count,
            feature,
            amount,
        )
        _replay_kernel(codes, start, self.additions, self.expected, feature, amount, out)


@numba.njit(cache=True, nogil=True)
def _additions_per_tree(
    roots: npt.NDArray[np.int64],
    splits: npt.NDArray[np.int64],
    split_feature: npt.NDArray[np.int32],
    left: npt.NDArray[np.int32],
    right: npt.NDArray[np.int32],
) -> npt.NDArray[np.int64]:
    """Additions of a tree's recursion: at each leaf, its path's distinct features (a
    feature split on again is unwound and extended anew, so it counts once)."""
    out = np.zeros(roots.shape[0], dtype=np.int64)
    path = np.empty(_STACK, dtype=np.int64)
    node_stack = np.empty(_STACK, dtype=np.int64)
    depth_stack = np.empty(_STACK, dtype=np.int64)
    for t in range(roots.shape[0]):
        if splits[t] == 0:
            continue
        top = 0
        node_stack[0] = roots[t]
        depth_stack[0] = 0
        total = 0
        while top >= 0:
            node = node_stack[top]
            depth = depth_stack[top]
            top -= 1
            if node < 0:
                seen = 0
                for i in range(depth):
                    repeated = False
                    for j in range(i + 1, depth):
                        if path[j] == path[i]:
                            repeated = True
                            break
                    if not repeated:
                        seen += 1
                total += seen
                continue
            path[depth] = split_feature[node]
            for child in (right[node], left[node]):
                top += 1
                node_stack[top] = child
                depth_stack[top] = depth + 1
        out[t] = total
    return out


@numba.njit(cache=True, parallel=True, nogil=True)
def _patterns_kernel(
    data: npt.NDArray[np.float64],
    roots: npt.NDArray[np.int64],
    splits: npt.NDArray[np.int64],
    split_feature: npt.NDArray[np.int32],
    threshold: npt.NDArray[np.float64],
    kind: npt.NDArray[np.uint8],
    default_left: npt.NDArray[np.bool_],
    cat_start: npt.NDArray[np.int32],
    cat_words: npt.NDArray[np.int32],
    cat_bits: npt.NDArray[np.uint32],
    patterns: npt.NDArray[np.uint64],
) -> None:
    """Bit ``k`` of ``patterns[t, row]``: the row goes left at split ``roots[t] + k``."""
    one = np.uint64(1)
    for t in numba.prange(roots.shape[0]):
        root = roots[t]
        for row in range(data.shape[0]):
            bits = np.uint64(0)
            for k in range(splits[t]):
                if _row_goes_left(
                    data,
                    row,
                    root + k,
                    split_feature,
                    threshold,
                    kind,
                    default_left,
                    cat_start,
                    cat_words,
                    cat_bits,
                ):
                    bits |= one << np.uint64(k)
            patterns[t, row] = bits


@numba.njit(cache=True, parallel=True, nogil=True)
def _distinct_kernel(
    patterns: npt.NDArray[np.uint64],
    codes: npt.NDArray[np.int32],
    distinct: npt.NDArray[np.int64],
) -> None:
    """Per tree: each row's position among the distinct patterns (``codes``), and the
    distinct patterns themselves written over the first ``distinct[t]`` of ``patterns[t]``."""
    n_rows = patterns.shape[1]
    for t in numba.prange(patterns.shape[0]):
        order = np.argsort(patterns[t])
        seen = patterns[t][order]
        count = 0
        for i in range(n_rows):
            if i == 0 or seen[i] != seen[i - 1]:
                patterns[t, count] = seen[i]
                count += 1
            codes[t, order[i]] = count - 1
        distinct[t] = count


@numba.njit(cache=True, inline="always")
def _extend(
    feature: npt.NDArray[np.int64],
    zero: npt.NDArray[np.float64],
    one: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    at: int,
    depth: int,
    zero_fraction: float,
    one_fraction: float,
    feature_index: int,
) -> None:
    """LightGBM's ``ExtendPath`` on the path at ``at`` of ``depth`` elements."""
    feature[at + depth] = feature_index
    zero[at + depth] = zero_fraction
    one[at + depth] = one_fraction
    weight[at + depth] = 1.0 if depth == 0 else 0.0
    for i in range(depth - 1, -1, -1):
        weight[at + i + 1] += one_fraction * weight[at + i] * (i + 1) / float(depth + 1)
        weight[at + i] = zero_fraction * weight[at + i] * (depth - i) / float(depth + 1)


@numba.njit(cache=True, inline="always")
def _unwind(
    feature: npt.NDArray[np.int64],
    zero: npt.NDArray[np.float64],
    one: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    at: int,
    depth: int,
    index: int,
) -> None:
    """LightGBM's ``UnwindPath``: element ``index`` taken out of the path."""
    one_fraction = one[at + index]
    zero_fraction = zero[at + index]
    next_one = weight[at + depth]
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0:
            tmp = weight[at + i]
            weight[at + i] = next_one * (depth + 1) / float((i + 1) * one_fraction)
            next_one = tmp - weight[at + i] * zero_fraction * (depth - i) / float(depth + 1)
        else:
            weight[at + i] = (weight[at + i] * (depth + 1)) / float(zero_fraction * (depth - i))
    for i in range(index, depth):
        feature[at + i] = feature[at + i + 1]
        zero[at + i] = zero[at + i + 1]
        one[at + i] = one[at + i + 1]


@numba.njit(cache=True, inline="always")
def _unwound_sum(
    zero: npt.NDArray[np.float64],
    one: npt.NDArray[np.float64],
    weight: npt.NDArray[np.float64],
    at: int,
    depth: int,
    index: int,
) -> float:
    """LightGBM's ``UnwoundPathSum``."""
    one_fraction = one[at + index]
    zero_fraction = zero[at + index]
    next_one = weight[at + depth]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one_fraction != 0:
            tmp = next_one * (depth + 1) / float((i + 1) * one_fraction)
            total += tmp
            next_one = weight[at + i] - tmp * zero_fraction * ((depth - i) / float(depth + 1))
        else:
            total += (weight[at + i] / zero_fraction) / ((depth - i) / float(depth + 1))
    return total


@numba.njit(cache=True, parallel=True, nogil=True)
def _recursion_kernel(
    patterns: npt.NDArray[np.uint64],
    distinct: npt.NDArray[np.int64],
    start: npt.NDArray[np.int64],
    roots: npt.NDArray[np.int64],
    additions: npt.NDArray[np.int64],
    split_feature: npt.NDArray[np.int32],
    left: npt.NDArray[np.int32],
    right: npt.NDArray[np.int32],
    leaf_value: npt.NDArray[np.float64],
    node_count: npt.NDArray[np.float64],
    leaf_count: npt.NDArray[np.float64],
    out_feature: npt.NDArray[np.int32],
    out_amount: npt.NDArray[np.float64],
) -> None:
    """LightGBM's ``TreeSHAP`` once per distinct (tree, pattern), its additions recorded in
    order at ``start[t] + p * additions[t]``.

    A stack frame is a call ``TreeSHAP(node, unique_depth, parent path at, parent zero
    fraction, parent one fraction, parent feature)``; the hot child is pushed last so that
    it runs first, and every call's path lives after its parent's in one buffer, so a
    parent's path is intact when its cold child runs (as in the recursion)."""
    one_bit = np.uint64(1)
    for t in numba.prange(roots.shape[0]):
        if additions[t] == 0:
            continue
        feature = np.empty(_PATH_SLOTS, dtype=np.int64)
        zero = np.empty(_PATH_SLOTS, dtype=np.float64)
        one = np.empty(_PATH_SLOTS, dtype=np.float64)
        weight = np.empty(_PATH_SLOTS, dtype=np.float64)
        s_node = np.empty(_STACK, dtype=np.int64)
        s_depth = np.empty(_STACK, dtype=np.int64)
        s_parent = np.empty(_STACK, dtype=np.int64)
        s_zero = np.empty(_STACK, dtype=np.float64)
        s_one = np.empty(_STACK, dtype=np.float64)
        s_feature = np.empty(_STACK, dtype=np.int64)
        root = roots[t]
        for p in range(distinct[t]):
            bits = patterns[t, p]
            slot = start[t] + p * additions[t]
            top = 0
            s_node[0] = root
            s_depth[0] = 0
            s_parent[0] = 0
            s_zero[0] = 1.0
            s_one[0] = 1.0
            s_feature[0] = -1
            while top >= 0:
                node = s_node[top]
                depth = s_depth[top]
                parent = s_parent[top]
                at = parent + depth
                if depth > 0:
                    for i in range(depth):
                        feature[at + i] = feature[parent + i]
                        zero[at + i] = zero[parent + i]
                        one[at + i] = one[parent + i]
                        weight[at + i] = weight[parent + i]
                _extend(
                    feature, zero, one, weight, at, depth, s_zero[top], s_one[top], s_feature[top]
                )
                top -= 1
                if node < 0:
                    value = leaf_value[-node - 1]
                    for i in range(1, depth + 1):
                        w = _unwound_sum(zero, one, weight, at, depth, i)
                        out_feature[slot] = feature[at + i]
                        out_amount[slot] = w * (one[at + i] - zero[at + i]) * value
                        slot += 1
                    continue
                goes_left = (bits >> np.uint64(node - root)) & one_bit
                hot = left[node] if goes_left else right[node]
                cold = right[node] if goes_left else left[node]
                w = node_count[node]
                hot_zero = (node_count[hot] if hot >= 0 else leaf_count[-hot - 1]) / w
                cold_zero = (node_count[cold] if cold >= 0 else leaf_count[-cold - 1]) / w
                incoming_zero = 1.0
                incoming_one = 1.0
                split = split_feature[node]
                index = 0
                while index <= depth:
                    if feature[at + index] == split:
                        break
                    index += 1
                if index != depth + 1:
                    incoming_zero = zero[at + index]
                    incoming_one = one[at + index]
                    _unwind(feature, zero, one, weight, at, depth, index)
                    depth -= 1
                top += 1  # the cold child, run second
                s_node[top] = cold
                s_depth[top] = depth + 1
                s_parent[top] = at
                s_zero[top] = cold_zero * incoming_zero
                s_one[top] = 0.0
                s_feature[top] = split
                top += 1  # the hot child, run first
                s_node[top] = hot
                s_depth[top] = depth + 1
                s_parent[top] = at
                s_zero[top] = hot_zero * incoming_zero
                s_one[top] = incoming_one
                s_feature[top] = split


@numba.njit(cache=True, parallel=True, nogil=True)
def _replay_kernel(
    codes: npt.NDArray[np.int32],
    start: npt.NDArray[np.int64],
    additions: npt.NDArray[np.int64],
    expected: npt.NDArray[np.float64],
    feature: npt.NDArray[np.int32],
    amount: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> None:
    """Each row's contributions: tree after tree, the bias plus the tree's expected value,
    and the recorded additions of the row's pattern in their order (``out`` starts at 0)."""
    bias = out.shape[1] - 1
    for row in numba.prange(out.shape[0]):
        for t in range(expected.shape[0]):
            out[row, bias] += expected[t]
            slot = start[t] + codes[t, row] * additions[t]
            for j in range(additions[t]):
                out[row, feature[slot + j]] += amount[slot + j]
