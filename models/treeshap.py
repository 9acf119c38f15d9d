"""Exact path-dependent TreeSHAP for LightGBM models by table lookup.

LightGBM's ``pred_contrib`` runs the TreeSHAP recursion (Lundberg et al. 2018) for every row and
tree, about 100 times the cost of a prediction. The recursion reads the row in exactly one way:
at every internal node it asks which child the row would take (the "hot" child; the other one is
"cold"), and it visits *every* internal node of the tree, not only those on the row's own path.
So the SHAP vector of a row in a tree with ``k`` internal nodes is a function of the ``k`` split
outcomes alone: ``2**k`` possible decision patterns (64 for a 7-leaf tree). :class:`TreeShapTables`
precomputes, per tree, the contribution of every pattern to the features the tree uses, and the
leaf value the pattern reaches. Scoring a row is then: evaluate the ``k`` splits (with
LightGBM's exact missing-value and categorical rules), pack the outcomes into an index, and add
up one table row per tree. Patterns that no row can produce (the same feature split twice with
contradictory outcomes) get an entry too; it is simply never looked up.

Tables are built in closed form, not by running LightGBM on synthetic rows. For one leaf with
the set ``U`` of distinct features on its path (``m = |U|``), ``z_j`` = product of the cover
ratios ``count(child) / count(node)`` over the path nodes splitting on feature ``j``, and
``o_j`` = 1 if the pattern sends every such node along the leaf's path, else 0, the leaf adds
``v * (o_i - z_i) * sum_k k! (m-1-k)! / m! * e_k(i)`` to feature ``i``, where ``e_k(i)`` is the
coefficient of ``t**k`` in the product over ``j`` in ``U - {i}`` of ``(z_j + o_j t)``. This is what
the EXTEND/UNWIND recursion computes (repeated features merge into one path element whose
fractions are the products above). The bias column is LightGBM's ``ExpectedValue``:
``sum(leaf_count / root_count * leaf_value)`` (the leaf value for a single-leaf tree).

Bound and fallback: a tree with ``k`` internal nodes needs ``2**k`` table rows, so trees are
tabulated only up to ``max_internal_nodes`` (default 12: 4,096 rows per tree, about
``4096 * (features in the tree + 1) * 8`` bytes). If any tree of the model exceeds the bound, or
the model is of a kind the tables do not cover (linear trees, ``average_output`` random forests),
the whole model falls back to LightGBM's own ``pred_contrib`` / ``raw_score`` predictions: exact,
just not fast. :attr:`TreeShapTables.fallback_reason` says why. Multi-output models (multiclass)
are refused.

Input conversion is LightGBM's own: a DataFrame goes through the same ``_data_from_pandas`` that
``Booster.predict`` uses (``category`` columns become codes of the categories stored with the
model, unseen ones NaN), a non-float array becomes float32, and values with
``|x| <= kZeroThreshold`` (1e-35f) become 0.0, as the C API's dense-row reader does. Columns are
taken by position, as ``Booster.predict`` does.

Split rules (LightGBM 4.7 ``Tree::NumericalDecision`` / ``CategoricalDecision``), each folded into
a single ``value <= threshold`` per node: missing type None: NaN counts as 0.0; NaN: NaN takes
the default direction; Zero: NaN *and* 0.0 take the default direction. Categorical: the value is
cast to int (truncation toward zero, so -0.5 is category 0); NaN, values <= -1 and values
>= 2**31 go right (``static_cast<int>`` gives INT_MIN on x86-64, before LightGBM's own NaN test
is reached, so NaN goes right whatever the node's missing type); categories beyond the stored
bitset go right.

Engines: ``numba`` (default when importable; numba is already a dependency of shap) runs one
compiled pass over blocks of 512 rows, tree by tree; ``numpy`` needs no compiler and is
vectorised over chunks of rows. On the project's default PD model shape (533 trees of 7 leaves,
89 features, one core) the numba engine scores about 300,000 rows/s (raw score and
contributions), against about 40,000 rows/s for LightGBM ``predict`` and 4,000 rows/s for
``pred_contrib``; the numpy engine about 30,000 rows/s (``python -m benchmarks.treeshap``).
Tables build in about 0.2 s; the numba kernel compiles on first use (about 1 s per process).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from lightgbm.basic import _data_from_pandas
from scipy import sparse

#: LightGBM's ``kZeroThreshold`` (``1e-35f``, a float widened to double).
K_ZERO_THRESHOLD = float(np.float32(1e-35))
#: LightGBM's missing types in ``dump_model`` output.
MISSING_TYPES = ("None", "Zero", "NaN")
# Value variants per feature: how a numerical node's missing rule is folded into one ``<=``.
_RAW, _NAN_LEFT, _NAN_ZERO, _ZERO_LEFT, _ZERO_RIGHT = range(5)
# Node kinds for the compiled kernel.
_KIND_NONE, _KIND_NAN, _KIND_ZERO, _KIND_CATEGORICAL = range(4)
_INT_LIMIT = 2.0**31  # static_cast<int> of larger values gives INT_MIN on x86: goes right


@dataclass
class _Node:
    feature: int
    categorical: bool
    threshold: float  # numerical threshold (unused for categorical)
    categories: tuple[int, ...]  # categorical: categories that go left
    default_left: bool
    missing_type: str
    count: float
    left: int  # >= 0: internal node index; < 0: ~leaf index
    right: int


@dataclass
class _Tree:
    nodes: list[_Node] = field(default_factory=list)
    leaf_values: list[float] = field(default_factory=list)
    leaf_counts: list[float] = field(default_factory=list)


def _parse_tree(structure: dict) -> _Tree:
    """Internal nodes indexed by LightGBM's ``split_index``, leaves by ``leaf_index``."""
    tree = _Tree()
    if "split_index" not in structure:  # single leaf
        tree.leaf_values.append(float(structure["leaf_value"]))
        tree.leaf_counts.append(float(structure.get("leaf_count", 0)))
        return tree
    nodes: dict[int, _Node] = {}
    leaves: dict[int, tuple[float, float]] = {}

    def child(sub: dict) -> int:
        if "split_index" in sub:
            visit(sub)
            return int(sub["split_index"])
        if "leaf_const" in sub or "leaf_coeff" in sub:
            raise _Unsupported("linear trees")
        leaves[int(sub["leaf_index"])] = (float(sub["leaf_value"]), float(sub["leaf_count"]))
        return ~int(sub["leaf_index"])

    def visit(node: dict) -> None:
        decision = node["decision_type"]
        categorical = decision == "=="
        if not categorical and decision != "<=":
            raise _Unsupported(f"decision_type {decision!r}")
        missing = str(node.get("missing_type", "None"))
        if missing not in MISSING_TYPES:
            raise _Unsupported(f"missing_type {missing!r}")
        if categorical:
            cats = tuple(sorted(int(c) for c in str(node["threshold"]).split("||")))
            threshold = 0.0
        else:
            cats = ()
            threshold = float(node["threshold"])
        left, right = child(node["left_child"]), child(node["right_child"])
        nodes[int(node["split_index"])] = _Node(
            feature=int(node["split_feature"]),
            categorical=categorical,
            threshold=threshold,
            categories=cats,
            default_left=bool(node["default_left"]),
            missing_type=missing,
            count=float(node["internal_count"]),
            left=left,
            right=right,
        )

    visit(structure)
    tree.nodes = [nodes[i] for i in range(len(nodes))]
    tree.leaf_values = [leaves[i][0] for i in range(len(leaves))]
    tree.leaf_counts = [leaves[i][1] for i in range(len(leaves))]
    if len(tree.leaf_values) != len(tree.nodes) + 1:
        raise ValueError("malformed tree: leaves != internal nodes + 1")
    return tree


class _Unsupported(Exception):
    """A model feature the tables do not cover: fall back to LightGBM."""


def _exact_numbers(trees: list[_Tree], model_str: str) -> None:
    """Thresholds and leaf values from the model text, which keeps ``inf`` and every digit.

    ``dump_model`` JSON passes them through LightGBM's ``AvoidInf``: a threshold of ``inf``
    (all non-missing values go left) is written as ``1e+300``, so ``x = inf`` would go the wrong
    way.
    """
    blocks = model_str.split("\nTree=")[1:]
    if len(blocks) != len(trees):
        raise ValueError(f"model text has {len(blocks)} trees; dump_model has {len(trees)}")
    for tree, block in zip(trees, blocks, strict=True):
        fields = dict(
            line.split("=", 1)
            for line in block.split("\nend of trees")[0].splitlines()[1:]
            if "=" in line
        )
        leaf_values = [float(v) for v in fields["leaf_value"].split()]
        if len(leaf_values) != len(tree.leaf_values):
            raise ValueError("model text and dump_model disagree on a tree's leaves")
        tree.leaf_values = leaf_values
        if tree.nodes:
            thresholds = [float(v) for v in fields["threshold"].split()]
            for node, threshold in zip(tree.nodes, thresholds, strict=True):
                if not node.categorical:
                    node.threshold = threshold


def _expected_value(tree: _Tree) -> float:
    """LightGBM's ``Tree::ExpectedValue``."""
    if not tree.nodes:
        return tree.leaf_values[0]
    total = tree.nodes[0].count
    value = 0.0
    for v, c in zip(tree.leaf_values, tree.leaf_counts, strict=True):
        value += (c / total) * v
    return value


def _shapley_weights(m: int, size: int) -> np.ndarray:
    """``w[k] = k! (m-1-k)! / m!`` for k < m, zero-padded to ``size``."""
    w = np.zeros(size)
    for k in range(m):
        w[k] = math.factorial(k) * math.factorial(m - 1 - k) / math.factorial(m)
    return w


def _leaf_paths(tree: _Tree) -> list[tuple[int, list[tuple[int, bool, float]]]]:
    """(leaf, [(node, goes_left, cover ratio child/node), ...]) for every leaf, root first."""
    out = []

    def count(ref: int) -> float:
        return tree.nodes[ref].count if ref >= 0 else tree.leaf_counts[~ref]

    def walk(ref: int, path: list) -> None:
        if ref < 0:
            out.append((~ref, path))
            return
        node = tree.nodes[ref]
        walk(node.left, [*path, (ref, True, count(node.left) / node.count)])
        walk(node.right, [*path, (ref, False, count(node.right) / node.count)])

    walk(0, [])
    return out


def _tree_table(tree: _Tree) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, table (n_features, 2**k), leaf value (2**k,)) for a tree with k >= 1 nodes.

    Bit ``j`` of a pattern is 1 when internal node ``j`` sends the row left.
    """
    k = len(tree.nodes)
    n_patterns = 1 << k
    left = ((np.arange(n_patterns)[None, :] >> np.arange(k)[:, None]) & 1).astype(np.float64)
    indicator = {True: left, False: 1.0 - left}
    features = sorted({node.feature for node in tree.nodes})
    slot = {f: s for s, f in enumerate(features)}
    leaf_value = np.zeros(n_patterns)
    rows = []  # (slot, m, leaf value * (o_i - z_i), [z_j], [o_j]) per (leaf, feature on path)
    for leaf, path in _leaf_paths(tree):
        z: dict[int, float] = {}
        o: dict[int, np.ndarray] = {}
        for node, goes_left, ratio in path:
            f = tree.nodes[node].feature
            if f in z:
                z[f] = z[f] * ratio
                o[f] = o[f] * indicator[goes_left][node]
            else:
                z[f] = ratio
                o[f] = indicator[goes_left][node]
        v = tree.leaf_values[leaf]
        reach = np.prod(np.stack(list(o.values())), axis=0)
        leaf_value += reach * v
        order = list(z)
        for i in order:
            others = [j for j in order if j != i]
            rows.append(
                (
                    slot[i],
                    len(order),
                    v * (o[i] - z[i]),
                    [z[j] for j in others],
                    [o[j] for j in others],
                )
            )
    width = max(r[1] for r in rows)  # longest unique path m; polynomials have m coefficients
    n_rows = len(rows)
    zs = np.ones((n_rows, max(width - 1, 1)))
    os_ = np.zeros((n_rows, max(width - 1, 1), n_patterns))
    weights = np.zeros((n_rows, width))
    for r, (_, m, _, zr, orr) in enumerate(rows):
        zs[r, : len(zr)] = zr
        if orr:
            os_[r, : len(orr)] = np.stack(orr)
        weights[r] = _shapley_weights(m, width)
    coef = np.zeros((n_rows, width, n_patterns))
    coef[:, 0, :] = 1.0
    for j in range(width - 1):  # multiply by (z_j + o_j t); padding factors are (1 + 0 t)
        shifted = coef[:, :-1, :] * os_[:, j, None, :]
        coef *= zs[:, j, None, None]
        coef[:, 1:, :] += shifted
    summed = np.einsum("rk,rkp->rp", weights, coef)
    phi = np.stack([r[2] for r in rows]) * summed
    table = np.zeros((len(features), n_patterns))
    np.add.at(table, np.array([r[0] for r in rows]), phi)
    return np.array(features, dtype=np.intp), table, leaf_value


def _kernel_source(
    x,
    var_col,
    var_kind,
    cat_col,
    cat_start,
    cat_len,
    cat_lookup,
    node_row,
    node_thr,
    slots,
    tree_nodes,
    pair_start,
    pair_col,
    tree_offset,
    flat,
    zero_threshold,
    int_limit,
    block,
    contrib,
    raw,
):  # pragma: no cover - compiled by numba
    """Blocks of rows, tree by tree: the value rows of ``_values``, then per tree the split
    outcomes as bits (one branch-free ``<=`` per node and row) and one contiguous table entry
    per output column. A tree's table stays in cache for the whole block. Every output sums
    its trees in order from 0.0, as LightGBM does."""
    n = x.shape[0]
    n_var = var_col.shape[0]
    n_cat = cat_col.shape[0]
    n_out = contrib.shape[1]
    values = np.empty((n_var + n_cat + 1, block))
    values[n_var + n_cat, :] = np.nan
    acc = np.empty((n_out + 1, block))  # last row: raw score
    index = np.empty(block, dtype=np.int64)
    for b0 in range(0, n, block):
        m = min(block, n - b0)
        for r in range(n_var):
            col = var_col[r]
            kind = var_kind[r]
            for b in range(m):
                v = x[b0 + b, col]
                if abs(v) <= zero_threshold:
                    v = 0.0
                if v != v:
                    if kind == 1 or kind == 3:  # NaN, default left / Zero, default left
                        v = -np.inf
                    elif kind == 2:  # None: NaN is 0.0
                        v = 0.0
                    # kind 0 (NaN, default right) and 4 (Zero, default right) keep NaN: right
                elif v == 0.0:
                    if kind == 3:
                        v = -np.inf
                    elif kind == 4:
                        v = np.nan
                values[r, b] = v
        for c in range(n_cat):  # categorical: int cast; NaN, negative, >= 2**31 go right
            col = cat_col[c]
            for b in range(m):
                v = x[b0 + b, col]
                if abs(v) <= zero_threshold:
                    v = 0.0
                left = np.nan
                if v > -1.0 and v < int_limit:
                    code = int(v)
                    if code < cat_len[c] and cat_lookup[cat_start[c] + code]:
                        left = 0.0
                values[n_var + c, b] = left
        acc[:, :m] = 0.0
        for t in range(tree_nodes.shape[0]):
            index[:m] = 0
            base = t * slots
            for j in range(tree_nodes[t]):
                row = node_row[base + j]
                thr = node_thr[base + j]
                for b in range(m):
                    index[b] |= np.int64(values[row, b] <= thr) << j
            start = pair_start[t]
            width = pair_start[t + 1] - start
            offset = tree_offset[t]
            for s in range(width):  # the pattern's entries are contiguous
                target = pair_col[start + s]
                if target < 0:
                    target = n_out
                for b in range(m):
                    acc[target, b] += flat[offset + index[b] * width + s]
        for b in range(m):
            for c in range(n_out):
                contrib[b0 + b, c] = acc[c, b]
            raw[b0 + b] = acc[n_out, b]


_KERNEL = None


def _kernel():
    """The numba-compiled kernel: compiled on first use (about a second), then cached on disk
    in `__pycache__` so later processes load it."""
    global _KERNEL
    if _KERNEL is None:
        import numba

        _KERNEL = numba.njit(nogil=True, cache=True)(_kernel_source)
    return _KERNEL


def on_row_ranges(work: Callable[[int, int], None], n: int, threads: int) -> None:
    """``work(lo, hi)`` on ``threads`` contiguous row ranges of ``0 .. n`` side by side (a
    compiled kernel that releases the GIL); rows are independent, so the result is the same
    whatever the thread count."""
    bounds = np.linspace(0, n, threads + 1).astype(int)
    spans = list(zip(bounds[:-1], bounds[1:], strict=True))
    if threads == 1:
        work(*spans[0])
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda span: work(*span), spans))


def numba_available() -> bool:
    """Whether numba is installed (found, not imported: importing it costs about 0.1 s)."""
    return importlib.util.find_spec("numba") is not None


class TreeShapTables:
    """Exact TreeSHAP contributions and raw scores of a LightGBM model by per-tree table lookup.

    Build with :meth:`from_booster`; :meth:`contributions` equals
    ``booster.predict(X, num_iteration=..., pred_contrib=True)`` and :meth:`raw_score` equals
    ``booster.predict(X, num_iteration=..., raw_score=True)`` (to rounding, well below 1e-9).
    :meth:`predict_with_contributions` returns both from one pass. Output is float64 and
    deterministic. See the module docstring for the method, the ``max_internal_nodes`` bound
    and the fallback to LightGBM.
    """

    chunk_rows = 1024  # rows per numpy chunk
    block_rows = 512  # rows per numba block
    #: Smaller batches take the numpy path: loading the compiled kernel (about 0.3 s) costs
    #: more than their work. Same bytes: both sum each output's trees in order from 0.0.
    min_kernel_rows = 64

    def __init__(self) -> None:
        self.n_features = 0
        self.num_iteration = 0
        self.max_internal_nodes = 0
        self.fallback_reason: str | None = None
        self.pandas_categorical: list | None = None
        self._booster: lgb.Booster | None = None
        self.engine = "numpy"
        self.n_jobs = 1

    @property
    def uses_fallback(self) -> bool:
        return self.fallback_reason is not None

    @classmethod
    def from_booster(
        cls,
        booster: lgb.Booster,
        num_iteration: int | None = None,
        max_internal_nodes: int = 12,
        engine: str = "auto",
        n_jobs: int = 1,
    ) -> TreeShapTables:
        """Tables for the first ``num_iteration`` iterations of ``booster``.

        ``num_iteration=None`` means the booster's ``best_iteration`` if it has one, else all
        iterations (``Booster.predict``'s rule); ``<= 0`` means all iterations.
        ``engine``: ``"numba"`` (one compiled pass per row, single thread), ``"numpy"``
        (vectorised over chunks of rows; no compiler) or ``"auto"`` (numba when importable;
        it is a dependency of shap). Both give the same values.
        """
        if engine not in ("auto", "numba", "numpy"):
            raise ValueError(f"engine must be auto, numba or numpy; got {engine!r}")
        if engine == "auto":
            engine = "numba" if numba_available() else "numpy"
        self = cls()
        self.engine = engine
        self.n_jobs = max(1, int(n_jobs))
        if num_iteration is None:
            num_iteration = booster.best_iteration
        if num_iteration is None or num_iteration <= 0:
            num_iteration = booster.current_iteration()
        self.num_iteration = int(num_iteration)
        self.max_internal_nodes = int(max_internal_nodes)
        self.pandas_categorical = booster.pandas_categorical
        model = booster.dump_model(num_iteration=self.num_iteration)
        self.n_features = int(model["max_feature_idx"]) + 1
        if int(model.get("num_tree_per_iteration", 1)) != 1:
            raise ValueError(
                "TreeShapTables supports single-output models only (one tree per "
                f"iteration); got {model['num_tree_per_iteration']}"
            )
        try:
            if model.get("average_output"):
                raise _Unsupported("average_output (random forest) models")
            trees = [_parse_tree(info["tree_structure"]) for info in model["tree_info"]]
            _exact_numbers(trees, booster.model_to_string(num_iteration=self.num_iteration))
            largest = max((len(t.nodes) for t in trees), default=0)
            if largest > self.max_internal_nodes:
                raise _Unsupported(
                    f"a tree has {largest} internal nodes > max_internal_nodes="
                    f"{self.max_internal_nodes}"
                )
        except _Unsupported as exc:
            self.fallback_reason = str(exc)
            self._booster = booster
            return self
        self._compile(trees)
        return self

    # ---- table layout -------------------------------------------------------------------
    def _compile(self, trees: list[_Tree]) -> None:
        n_features = self.n_features
        raw_key = n_features + 1  # sorts after every feature and the bias column
        self.bias = 0.0
        self.constant_raw = 0.0
        deep = [t for t in trees if t.nodes]
        for t in trees:
            self.bias += _expected_value(t)
        self.n_trees = len(deep)
        width = max((len(t.nodes) for t in deep), default=0)
        self.slots = max(8, -(-width // 8) * 8) if deep else 8  # bits per tree, whole bytes
        # value rows: (feature, variant) rows, then one row per categorical node, then NaN row
        variant_rows: dict[tuple[int, int], int] = {}
        cat_nodes: list[tuple[int, np.ndarray]] = []
        node_refs: list[tuple[str, object]] = []
        thresholds = []
        pairs = []  # (output key, tree number, values over patterns)
        for t_idx, tree in enumerate(deep):
            for node in tree.nodes:
                if node.categorical:
                    lookup = np.zeros(max(node.categories) + 1, dtype=bool)
                    lookup[list(node.categories)] = True
                    cat_nodes.append((node.feature, lookup))
                    node_refs.append(("cat", len(cat_nodes) - 1))
                    thresholds.append(0.0)
                    continue
                variant = {
                    "None": _NAN_ZERO,
                    "NaN": _NAN_LEFT if node.default_left else _RAW,
                    "Zero": _ZERO_LEFT if node.default_left else _ZERO_RIGHT,
                }[node.missing_type]
                key = (node.feature, variant)
                variant_rows.setdefault(key, len(variant_rows))
                node_refs.append(("var", key))
                thresholds.append(node.threshold)
            for _ in range(self.slots - len(tree.nodes)):
                node_refs.append(("pad", None))
                thresholds.append(0.0)
            features, table, leaf_value = _tree_table(tree)
            for f, col in zip(features, table, strict=True):
                pairs.append((int(f), t_idx, col))
            pairs.append((raw_key, t_idx, leaf_value))
        # rows of the per-chunk value matrix V
        self._variant_keys = list(variant_rows)
        self._cat_nodes = cat_nodes
        n_var = len(variant_rows)
        nan_row = n_var + len(cat_nodes)
        node_row = []
        for kind, ref in node_refs:
            if kind == "var":
                node_row.append(variant_rows[ref])
            elif kind == "cat":
                node_row.append(n_var + ref)
            else:
                node_row.append(nan_row)
        self._node_row = np.array(node_row, dtype=np.intp)
        self._node_threshold = np.array(thresholds, dtype=np.float64)
        self._n_value_rows = nan_row + 1
        self._used_columns = np.array(
            sorted({f for f, _ in variant_rows} | {f for f, _ in cat_nodes}), dtype=np.intp
        )
        position = {f: i for i, f in enumerate(self._used_columns)}
        by_variant: dict[int, list[tuple[int, int]]] = {}
        for (f, variant), row in variant_rows.items():
            by_variant.setdefault(variant, []).append((position[f], row))
        self._by_variant = {
            v: (
                np.array([p for p, _ in items], dtype=np.intp),
                np.array([r for _, r in items], dtype=np.intp),
            )
            for v, items in by_variant.items()
        }
        self._cat_position = [position[f] for f, _ in cat_nodes]
        # flat tables, pairs sorted by (output, tree): sums run tree by tree like LightGBM's
        pairs.sort(key=lambda p: (p[0], p[1]))
        sizes = [len(p[2]) for p in pairs]
        self._flat = np.concatenate([p[2] for p in pairs]) if pairs else np.zeros(0)
        self._pair_offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self._pair_tree = np.array([p[1] for p in pairs], dtype=np.intp)
        keys = np.array([p[0] for p in pairs], dtype=np.intp)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else keys
        self._group_starts = starts.astype(np.intp)
        self._group_keys = keys[starts] if len(keys) else keys
        self._has_raw = bool(len(keys)) and self._group_keys[-1] == raw_key
        self._feature_groups = self._group_keys[:-1] if self._has_raw else self._group_keys
        self.constant_raw = float(sum(t.leaf_values[0] for t in trees if not t.nodes))
        self.table_bytes = int(self._flat.nbytes)
        n_pairs = len(pairs)
        self._pair_sum = sparse.csr_matrix(
            (
                np.ones(n_pairs),
                (
                    np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n_pairs])),
                    np.arange(n_pairs),
                ),
            ),
            shape=(len(starts), n_pairs),
        )
        # the same decisions and tables, listed tree by tree, for the compiled kernel
        n_trees = len(deep)
        self._var_col = np.array([f for f, _ in self._variant_keys], dtype=np.int64)
        self._var_kind = np.array([v for _, v in self._variant_keys], dtype=np.int64)
        self._cat_col = np.array([f for f, _ in cat_nodes], dtype=np.int64)
        self._cat_len = np.array([len(lookup) for _, lookup in cat_nodes], dtype=np.int64)
        self._cat_start = np.r_[0, np.cumsum(self._cat_len)[:-1]].astype(np.int64)
        self._cat_lookup = (
            np.concatenate([lookup for _, lookup in cat_nodes])
            if cat_nodes
            else np.zeros(1, dtype=np.bool_)
        )
        self._tree_nodes = np.array([len(t.nodes) for t in deep], dtype=np.int64)
        order = sorted(range(n_pairs), key=lambda i: (pairs[i][1], pairs[i][0]))
        self._kernel_pair_col = np.array(
            [-1 if pairs[i][0] == raw_key else pairs[i][0] for i in order], dtype=np.int64
        )
        counts = np.bincount([pairs[i][1] for i in order], minlength=n_trees)
        self._kernel_pair_start = np.r_[0, np.cumsum(counts)].astype(np.int64)
        # tree-major tables: tree, then pattern, then the tree's output columns (one cache line)
        blocks = []
        for t_idx in range(n_trees):
            lo, hi = self._kernel_pair_start[t_idx], self._kernel_pair_start[t_idx + 1]
            blocks.append(np.stack([pairs[order[i]][2] for i in range(lo, hi)], axis=1).ravel())
        sizes = [len(b) for b in blocks]
        self._kernel_flat = np.concatenate(blocks) if blocks else np.zeros(0)
        self._kernel_tree_offset = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)

    # ---- input conversion ---------------------------------------------------------------
    def _as_array(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Feature matrix exactly as ``Booster.predict`` hands it to the C API, in float64."""
        if isinstance(X, pd.DataFrame):
            X = _data_from_pandas(
                X,
                feature_name="auto",
                categorical_feature="auto",
                pandas_categorical=self.pandas_categorical,
            )[0]
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-dimensional; got shape {X.shape}")
        if X.shape[1] != self.n_features:
            raise ValueError(
                f"the model has {self.n_features} features; X has {X.shape[1]} columns"
            )
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float32)
        return X

    # ---- scoring ------------------------------------------------------------------------
    def _values(self, cols: np.ndarray) -> np.ndarray:
        """Value matrix (rows of V) for one chunk; ``cols`` = used columns x rows."""
        n = cols.shape[1]
        x = np.where(np.abs(cols) <= K_ZERO_THRESHOLD, 0.0, cols)  # NaN stays NaN
        V = np.empty((self._n_value_rows, n))
        for variant, (positions, rows) in self._by_variant.items():
            v = x[positions]
            if variant == _NAN_LEFT:
                v = np.where(np.isnan(v), -np.inf, v)
            elif variant == _NAN_ZERO:
                v = np.where(np.isnan(v), 0.0, v)
            elif variant in (_ZERO_LEFT, _ZERO_RIGHT):
                missing = np.isnan(v) | (v == 0.0)
                v = np.where(missing, -np.inf if variant == _ZERO_LEFT else np.nan, v)
            V[rows] = v
        base = len(self._variant_keys)
        for i, ((_, lookup), pos) in enumerate(
            zip(self._cat_nodes, self._cat_position, strict=True)
        ):
            v = x[pos]
            # static_cast<int>: truncation; NaN, <= -1 and >= 2**31 give a negative int: right
            valid = (v > -1.0) & (v < _INT_LIMIT)
            code = np.where(valid, v, 0.0).astype(np.int64)
            inside = valid & (code < len(lookup))
            goes_left = np.zeros(n, dtype=bool)
            goes_left[inside] = lookup[code[inside]]
            V[base + i] = np.where(goes_left, 0.0, np.nan)
        V[-1] = np.nan
        return V

    def _chunk(self, cols: np.ndarray) -> np.ndarray:
        """(groups, rows) sums of table entries for one chunk."""
        n = cols.shape[1]
        V = self._values(cols)
        goes_left = V[self._node_row] <= self._node_threshold[:, None]
        packed = np.packbits(
            goes_left.reshape(self.n_trees, self.slots, n), axis=1, bitorder="little"
        )
        index = packed[:, 0, :].astype(np.intp)
        for b in range(1, packed.shape[1]):
            index |= packed[:, b, :].astype(np.intp) << (8 * b)
        gathered = self._flat[index[self._pair_tree] + self._pair_offset[:, None]]
        return self._pair_sum @ gathered

    def _run_kernel(self, X: np.ndarray, contrib: np.ndarray, raw: np.ndarray) -> None:
        _kernel()(
            X,
            self._var_col,
            self._var_kind,
            self._cat_col,
            self._cat_start,
            self._cat_len,
            self._cat_lookup,
            self._node_row,
            self._node_threshold,
            self.slots,
            self._tree_nodes,
            self._kernel_pair_start,
            self._kernel_pair_col,
            self._kernel_tree_offset,
            self._kernel_flat,
            K_ZERO_THRESHOLD,
            _INT_LIMIT,
            self.block_rows,
            contrib,
            raw,
        )

    def predict_with_contributions(
        self, X: pd.DataFrame | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(raw score (n,), contributions (n, n_features + 1)) from one pass over the trees."""
        if self._booster is not None:
            raw = self._booster.predict(X, num_iteration=self.num_iteration, raw_score=True)
            contrib = self._booster.predict(X, num_iteration=self.num_iteration, pred_contrib=True)
            return np.asarray(raw, dtype=np.float64), np.asarray(contrib, dtype=np.float64)
        X = self._as_array(X)
        n = X.shape[0]
        if self.engine == "numba" and self.n_trees and n >= self.min_kernel_rows:
            contrib = np.zeros((n, self.n_features + 1))
            raw = np.zeros(n)
            # A DataFrame's matrix comes column-major; the kernel reads a block of rows per
            # column, so either layout serves without a transposed copy.
            X = np.asarray(X, dtype=np.float64)
            if not (X.flags.c_contiguous or X.flags.f_contiguous):
                X = np.ascontiguousarray(X)
            # The kernel releases the GIL: contiguous row ranges run on threads side by side.
            # Rows are independent, so the result is the same whatever the thread count.
            threads = max(1, min(self.n_jobs, n // (4 * self.block_rows)))
            _kernel()  # compile once, before any thread asks for it
            on_row_ranges(
                lambda lo, hi: self._run_kernel(X[lo:hi], contrib[lo:hi], raw[lo:hi]), n, threads
            )
            contrib[:, -1] = self.bias
            raw += self.constant_raw
            return raw, contrib
        contrib = np.zeros((n, self.n_features + 1))
        contrib[:, -1] = self.bias
        raw = np.full(n, float(self.constant_raw))
        if self.n_trees == 0 or n == 0:
            return raw, contrib
        used = np.asarray(X[:, self._used_columns], dtype=np.float64).T  # (used, n)
        used = np.ascontiguousarray(used)
        features = self._feature_groups
        for start in range(0, n, self.chunk_rows):
            stop = min(start + self.chunk_rows, n)
            sums = self._chunk(used[:, start:stop])
            if self._has_raw:
                raw[start:stop] += sums[-1]
                sums = sums[:-1]
            contrib[start:stop, features] = sums.T
        return raw, contrib

    def contributions(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Exact TreeSHAP values (n, n_features + 1); the last column is the bias."""
        if self._booster is not None:
            return np.asarray(
                self._booster.predict(X, num_iteration=self.num_iteration, pred_contrib=True),
                dtype=np.float64,
            )
        return self.predict_with_contributions(X)[1]

    def raw_score(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Raw score (sum of leaf values), as ``booster.predict(raw_score=True)``."""
        if self._booster is not None:
            return np.asarray(
                self._booster.predict(X, num_iteration=self.num_iteration, raw_score=True),
                dtype=np.float64,
            )
        return self.predict_with_contributions(X)[0]


__all__ = ["K_ZERO_THRESHOLD", "TreeShapTables"]
