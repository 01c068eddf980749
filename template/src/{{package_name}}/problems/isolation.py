"""Export a scikit-learn IsolationForest as a LightGBM text model.

Why: a LightGBM booster loads anywhere LightGBM runs and explains itself with TreeSHAP
(``pred_contrib``), so an Isolation Forest in that format is served and explained with the
same tooling as supervised models.

Trick: each leaf stores ``-(depth + c(n_leaf)) * ln 2 / (n_trees * c(psi))``, so the raw sum
over trees is ``ln s(x)``; ``objective=poisson`` makes LightGBM apply ``exp`` and ``predict``
returns the anomaly score ``s(x) = 2 ** (-E[h(x)] / c(psi))`` (= ``-score_samples`` in sklearn).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.tree import ExtraTreeRegressor

ISOLATION_OBJECTIVE = "poisson"
_MISSING_NAN = 2 << 2  # decision_type bits 2-3: missing type NaN
_DEFAULT_LEFT = 2  # decision_type bit 1: missing values go left
_F32_MAX = float(np.finfo(np.float32).max)


def average_path_length(n: np.ndarray | int) -> np.ndarray:
    """c(n): mean unsuccessful-BST-search length, the depth credit for n samples left unsplit."""
    n_arr = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n_arr)
    out[n_arr == 2] = 1.0
    big = n_arr > 2
    m = n_arr[big]
    # np.euler_gamma, as sklearn uses, so scores agree to the last bit.
    out[big] = 2.0 * (np.log(m - 1.0) + np.euler_gamma) - 2.0 * (m - 1.0) / m
    return out


def _float64_threshold(t: float) -> float:
    """Return t' with ``x <= t'`` iff ``float32(x) <= t``: sklearn trees compare float32 inputs.

    Why: LightGBM compares the float64 input itself; without this, rows within a float32
    rounding step of a threshold would take a different branch than in sklearn.
    """
    f = np.float32(t)
    if float(f) > t:  # f = largest float32 <= t
        f = np.nextafter(f, np.float32(-np.inf))
    g = float(np.nextafter(f, np.float32(np.inf)))
    mid = (float(f) + (2.0**128 if math.isinf(g) else g)) / 2.0  # exact in float64
    # float64 -> float32 rounds half to even: the midpoint itself goes to f iff f is even.
    return mid if int(f.view(np.uint32)) & 1 == 0 else math.nextafter(mid, -math.inf)


def _fmt(values: list[float]) -> str:
    """Space-joined, round-trip exact values; plain repr, since numpy 2 reprs ``np.float64(..)``."""
    return " ".join(repr(float(v)) if isinstance(v, float) else str(int(v)) for v in values)


# Per-tree array fields, in the order LightGBM writes them.
_FIELDS = "split_feature split_gain threshold decision_type left_child right_child leaf_value"
_FIELDS += " leaf_weight leaf_count internal_value internal_weight internal_count"
_SPLIT_FIELDS = _FIELDS.split()[:6] + _FIELDS.split()[9:]
_LEAF_FIELDS = _FIELDS.split()[6:9]


def _tree_block(
    index: int, estimator: ExtraTreeRegressor, medians: np.ndarray, scale: float, bias: float
) -> tuple[str, list[int], float]:
    """One ``Tree=`` block (leaf value ``-(h * scale + bias)``), its split features and
    sample-weighted mean leaf depth (for the summary)."""
    tree = estimator.tree_
    left, right, counts = tree.children_left, tree.children_right, tree.n_node_samples
    rows: dict[str, list[float]] = {key: [] for key in _FIELDS.split()}  # ints stay ints
    depths: list[int] = []

    def visit(node: int, depth: int) -> tuple[int, float]:
        """Pre-order walk; returns the LightGBM child code and count-weighted value sum."""
        n = int(counts[node])
        if left[node] == -1:  # leaves are coded ~leaf_index in left_child/right_child
            value = -((depth + float(average_path_length(n))) * scale + bias)
            for key, v in zip(_LEAF_FIELDS, (value, float(n), n), strict=True):
                rows[key].append(v)
            depths.append(depth)
            return ~(len(depths) - 1), value * n
        i = len(rows["split_feature"])
        f, t = int(tree.feature[node]), _float64_threshold(float(tree.threshold[node]))
        # NaN follows the median: it was the median during fitting.
        kind = _MISSING_NAN | (_DEFAULT_LEFT if medians[f] <= t else 0)
        for key, v in zip(_SPLIT_FIELDS, (f, 0, t, kind, 0, 0, 0.0, float(n), n), strict=True):
            rows[key].append(v)
        rows["left_child"][i], s_left = visit(int(left[node]), depth + 1)
        rows["right_child"][i], s_right = visit(int(right[node]), depth + 1)
        rows["internal_value"][i] = (s_left + s_right) / n
        return i, s_left + s_right

    visit(0, 0)
    head = [f"Tree={index}", f"num_leaves={len(depths)}", "num_cat=0"]
    body = [f"{key}={_fmt(values)}" for key, values in rows.items()]
    lines = [*head, *body, "is_linear=0", "shrinkage=1", "", ""]
    avg_depth = float(np.dot(depths, rows["leaf_count"])) / float(sum(rows["leaf_count"]))
    return "\n".join(lines) + "\n", [int(f) for f in rows["split_feature"]], avg_depth


def fit_isolation_forest(
    matrix: np.ndarray,
    *,
    n_trees: int = 100,
    max_samples: int = 256,
    seed: int = 0,
    feature_names: list[str],
) -> tuple[str, dict[str, float]]:
    """Fit an Isolation Forest and return it as a LightGBM model string plus a summary.

    NaN is filled with the column's training median (0 if all NaN) before fitting, and the
    exported splits send NaN the median's way, so scores need no imputation at predict time.
    """
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"matrix must be 2-D with at least one row, got shape {x.shape}")
    if len(feature_names) != x.shape[1]:
        raise ValueError(f"{len(feature_names)} feature names for {x.shape[1]} columns")
    if any(not name or any(c.isspace() for c in name) for name in feature_names):
        raise ValueError("feature names must be non-empty without whitespace (text format)")
    if np.any(np.abs(x[~np.isnan(x)]) > _F32_MAX):
        raise ValueError("values must be finite in float32: sklearn trees cast to float32")
    if n_trees < 1 or max_samples < 1:
        raise ValueError("n_trees and max_samples must be >= 1")

    with warnings.catch_warnings():  # all-NaN column -> nan median, replaced by 0 below
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nanmedian(x, axis=0)
    medians = np.where(np.isnan(medians), 0.0, medians)
    filled = np.where(np.isnan(x), medians, x)

    psi = min(max_samples, x.shape[0])  # sklearn would clip too, with a warning
    forest = IsolationForest(n_estimators=n_trees, max_samples=psi, random_state=seed)
    forest.fit(filled)
    c_psi = float(average_path_length(forest.max_samples_))
    # psi == 1 gives c(psi) == 0; sklearn then scores 0.5, i.e. ln s = -ln 2 spread over trees.
    scale = math.log(2.0) / (n_trees * c_psi) if c_psi > 0 else 0.0
    bias = 0.0 if c_psi > 0 else math.log(2.0) / n_trees

    blocks: list[str] = []
    splits = np.zeros(x.shape[1], dtype=np.int64)
    depths: list[float] = []
    leaves = 0
    for i, est in enumerate(forest.estimators_):
        block, feats, depth = _tree_block(i, est, medians, scale, bias)
        blocks.append(block)
        np.add.at(splits, feats, 1)
        depths.append(depth)
        leaves += est.tree_.n_leaves

    lo, hi = filled.min(axis=0), filled.max(axis=0)
    infos = [
        "none" if a == b else f"[{a!r}:{b!r}]"
        for a, b in zip(lo.tolist(), hi.tolist(), strict=True)
    ]
    order = sorted(np.flatnonzero(splits).tolist(), key=lambda j: -int(splits[j]))
    header = [
        "tree",
        "version=v4",
        "num_class=1",
        "num_tree_per_iteration=1",
        "label_index=0",
        f"max_feature_idx={x.shape[1] - 1}",
        f"objective={ISOLATION_OBJECTIVE}",
        f"feature_names={' '.join(feature_names)}",
        f"feature_infos={' '.join(infos)}",
        f"tree_sizes={_fmt([len(b.encode()) for b in blocks])}",  # byte lengths, validated
        "",
    ]
    footer = [
        "end of trees",
        "",
        "feature_importances:",
        *[f"{feature_names[j]}={int(splits[j])}" for j in order],
        "",
        "parameters:",
        "[boosting: gbdt]",
        f"[objective: {ISOLATION_OBJECTIVE}]",
        f"[num_iterations: {n_trees}]",
        "end of parameters",
        "",
        "pandas_categorical:null",
        "",
    ]
    model = "\n".join(header) + "\n" + "".join(blocks) + "\n".join(footer)
    summary = {
        "trees": float(n_trees),
        "subsample": float(forest.max_samples_),
        "average_depth": float(np.mean(depths)),
        "average_leaves": float(leaves) / n_trees,
        "expected_path_length": c_psi,
    }
    return model, summary
