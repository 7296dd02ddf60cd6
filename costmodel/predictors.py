"""The fitted cost-model estimators as plain arrays, predicted with numpy alone.

Training fits scikit-learn estimators (:mod:`costmodel.models`); :func:`compile_estimator` turns
each into one of the types here as soon as it is fitted, so that cross-validation, the saved
model and every prediction run the same numpy code, and loading or using a model never imports
scikit-learn (whose import alone takes longer than the cost model's 1 s load budget). Each type
gives its state as named arrays (``arrays``) and is rebuilt from them by ``from_arrays``, which
checks every shape and index first: :mod:`costmodel.store` saves nothing else. The networks'
type, :class:`costmodel.mlp.MLPEnsemble`, follows the same interface.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


class Linear:
    """A linear model ``(x / scale) @ coef + intercept``: a scaler and a linear regression,
    evaluated in scikit-learn's order of operations, so that its predictions (and so every
    model trained on top of them) are the same to the last bit."""

    def __init__(self, coef: np.ndarray, scale: np.ndarray, intercept: float) -> None:
        self.coef = np.asarray(coef, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.intercept = float(intercept)

    @classmethod
    def from_sklearn(cls, pipe: Any) -> Linear:
        """From a fitted pipeline of a ``StandardScaler(with_mean=False)`` and a linear
        regression."""
        return cls(pipe[-1].coef_, pipe[0].scale_, pipe[-1].intercept_)

    @property
    def weights(self) -> np.ndarray:
        """The coefficients of the unscaled features."""
        return self.coef / self.scale

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (x / self.scale) @ self.coef + self.intercept

    def arrays(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "scale": self.scale, "intercept": np.array([self.intercept])}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Linear:
        coef, scale = numeric_array(arrays, "coef"), numeric_array(arrays, "scale")
        icpt = numeric_array(arrays, "intercept")
        if coef.ndim != 1 or scale.shape != coef.shape or icpt.shape != (1,):
            raise ValueError("linear model arrays of inconsistent shapes")
        if not (np.all(np.isfinite(coef)) and np.all(scale > 0) and np.isfinite(icpt[0])):
            raise ValueError("a linear model with a non-finite coefficient or a scale <= 0")
        return cls(coef, scale, icpt[0])


#: the most leaves a tree may have (a bit per leaf in a 64-bit mask; the cost model's have 15)
MAX_LEAVES = 64


class Trees:
    """A boosted sum of regression trees (scikit-learn's histogram gradient boosting, one tree
    per iteration), nodes of all trees in flat arrays.

    A row goes left at a split when its feature is at most the threshold, or is NaN and the
    split sends missing values left; its prediction is the baseline plus the value of the leaf
    it reaches in every tree: scikit-learn's traversal, for numerical splits (a cost model has
    no categorical feature), and its order of additions, so the sums are the same to the last
    bit. A batch is evaluated without a per-level walk: every split's decision for every row at
    once, then each row's leaf from bit masks of the leaves each decision rules out
    (:meth:`_paths`).
    """

    FIELDS = ("feature", "threshold", "missing_left", "left", "right", "leaf", "value")
    #: trees evaluated together (bounds the (trees x rows x splits) intermediates)
    BLOCK = 64

    def __init__(self, arrays: Mapping[str, np.ndarray], n_features: int, baseline: float
                 ) -> None:
        self.a = dict(arrays)
        self.n_features, self.baseline = int(n_features), float(baseline)
        self._paths()

    def _paths(self) -> None:
        """Each tree as its splits and its leaves, left to right. A row that goes right at a
        split cannot reach any leaf of that split's left subtree; the leaf it reaches is the
        leftmost one that no split it goes right at rules out, whether that split lies on its
        path or not (a split off the path rules out only leaves off the path, and every leaf
        left of the path's leaf lies in the left subtree of a split on the path where the row
        went right). So each split holds the bit mask of the leaves a right turn keeps
        (``_keep``), a row's masks over a tree's splits are ANDed, and the lowest bit set is
        its leaf: every tree and row at once, instead of a gather per level."""
        a, sizes = self.a, self.a["sizes"]
        starts = np.cumsum(sizes) - sizes
        trees = []
        for t0 in starts.tolist():
            splits: list[int] = []
            leaves: list[tuple[int, list[tuple[int, int]]]] = []
            stack = [(0, [])]
            while stack:  # children come after their parent, so this ends; left first
                i, path = stack.pop()
                if a["leaf"][t0 + i]:
                    leaves.append((t0 + i, path))
                    continue
                splits.append(t0 + i)
                s = len(splits) - 1
                stack.append((int(a["right"][t0 + i]), [*path, (s, -1)]))
                stack.append((int(a["left"][t0 + i]), [*path, (s, 1)]))
            trees.append((splits, leaves))
        n_s = max(1, max(len(sp) for sp, _ in trees))
        n_l = max(len(lv) for _, lv in trees)
        if n_l > MAX_LEAVES:
            raise ValueError(f"a tree of {n_l} leaves; at most {MAX_LEAVES} are read")
        t = len(trees)
        # the narrowest unsigned integer with a bit per leaf
        self._mask_type = next(np.dtype(d) for d in (np.uint16, np.uint32, np.uint64)
                               if np.dtype(d).itemsize * 8 >= n_l)
        every = (1 << (self._mask_type.itemsize * 8)) - 1
        keep = np.full((t, n_s), every, dtype=object)  # padding splits rule nothing out
        self._feat = np.zeros((t, n_s), dtype=np.int64)
        self._thr = np.full((t, n_s), np.inf)
        self._miss = np.zeros((t, n_s), dtype=bool)
        self._value = np.zeros((t, n_l))
        for j, (splits, leaves) in enumerate(trees):
            self._feat[j, :len(splits)] = a["feature"][splits]
            self._thr[j, :len(splits)] = a["threshold"][splits]
            self._miss[j, :len(splits)] = a["missing_left"][splits]
            for k, (node, path) in enumerate(leaves):
                for s, sign in path:
                    if sign > 0:  # leaf k is in split s's left subtree
                        keep[j, s] &= ~(1 << k)
                self._value[j, k] = a["value"][node]
        self._keep = keep.astype(self._mask_type)
        self._first = np.arange(t) * n_l  # tree t's leaves in the flat _value

    @classmethod
    def from_sklearn(cls, est: Any) -> Trees:
        if any(len(it) != 1 for it in est._predictors):
            raise ValueError("a cost model's boosters are regressors: one tree per iteration")
        nodes = [it[0].nodes for it in est._predictors]
        flat = np.concatenate(nodes)
        if np.any(flat["is_categorical"]):
            raise ValueError("a cost model's trees have numerical splits only")
        arrays = {"sizes": np.array([len(n) for n in nodes], dtype=np.int64),
                  "feature": flat["feature_idx"].astype(np.int64),
                  "threshold": flat["num_threshold"].astype(np.float64),
                  "missing_left": flat["missing_go_to_left"].astype(bool),
                  "left": flat["left"].astype(np.int64), "right": flat["right"].astype(np.int64),
                  "leaf": flat["is_leaf"].astype(bool), "value": flat["value"].astype(np.float64)}
        return cls(arrays, est.n_features_in_, float(np.ravel(est._baseline_prediction)[0]))

    @property
    def n_trees(self) -> int:
        return len(self.a["sizes"])

    #: rows evaluated together: the decisions of every split for a block stay in cache, and
    #: one set of work arrays serves every block of a call (a fresh ~1 MB array per step costs
    #: more in page faults than the step's arithmetic: 3-4x here)
    ROWS = 128

    def leaf_values(self, x: np.ndarray) -> np.ndarray:
        """The value of the leaf each row reaches in each tree: (trees, rows)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"the trees read {self.n_features} features, got an array of "
                             f"shape {x.shape}")
        n, rows = len(x), min(self.ROWS, len(x))
        # a feature's values side by side (a gather copies whole rows), padded to whole blocks
        xt = np.zeros((self.n_features, -(-n // max(rows, 1)) * rows))
        xt[:, :n] = x.T
        nan = bool(np.isnan(x).any())
        t_max, n_s = min(self.BLOCK, self.n_trees), self._keep.shape[1]
        work = {"v": ((t_max * n_s, rows), np.float64), "left": ((t_max * n_s, rows), bool),
                "keep": ((t_max, n_s, rows), self._mask_type),
                "leaves": ((t_max, rows), self._mask_type), "low": ((t_max, rows), self._mask_type),
                "bit": ((t_max, rows), np.uint8), "leaf": ((t_max, rows), np.intp)}
        buf = {k: np.empty(shape, dtype) for k, (shape, dtype) in work.items()}
        out = np.empty((self.n_trees, xt.shape[1]))
        for t in range(0, self.n_trees, self.BLOCK):
            trees = slice(t, min(t + self.BLOCK, self.n_trees))
            k = trees.stop - trees.start
            w = {name: b[:k * n_s] if name in ("v", "left") else b[:k] for name, b in buf.items()}
            for r in range(0, xt.shape[1], max(rows, 1)):
                out[trees, r:r + rows] = self._block(xt[:, r:r + rows], trees, nan, w)
        return out[:, :n]

    def _block(self, xt: np.ndarray, trees: slice, nan: bool, w: dict[str, np.ndarray]
               ) -> np.ndarray:
        # indices checked at load: "clip" only spares numpy a buffered copy
        np.take(xt, self._feat[trees].ravel(), axis=0, out=w["v"], mode="clip")
        np.less_equal(w["v"], self._thr[trees].reshape(-1, 1), out=w["left"])  # NaN: False
        if nan:  # sent where each split sends missing values
            np.copyto(w["left"], self._miss[trees].reshape(-1, 1), where=np.isnan(w["v"]))
        keep, leaves, low = w["keep"], w["leaves"], w["low"]
        # a left turn keeps every leaf (decision 1 -> all ones), a right turn its split's mask
        np.copyto(keep, w["left"].reshape(keep.shape))
        np.negative(keep, out=keep)
        np.bitwise_or(keep, self._keep[trees][:, :, None], out=keep)
        np.bitwise_and.reduce(keep, axis=1, out=leaves)
        # the lowest bit set: its index is the count of ones in ~x & (x - 1)
        np.subtract(leaves, 1, out=low)
        np.invert(leaves, out=leaves)
        np.bitwise_and(leaves, low, out=leaves)
        np.bitwise_count(leaves, out=w["bit"])
        leaf = np.add(w["bit"], self._first[trees, None], out=w["leaf"])
        return self._value.take(leaf)

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full(len(x), self.baseline)
        for v in self.leaf_values(x):  # one tree at a time: scikit-learn's order of additions
            out += v
        return out

    def staged_predict(self, x: np.ndarray) -> np.ndarray:
        """The prediction after each tree: (trees, rows), summed in scikit-learn's order."""
        v = self.leaf_values(x)
        v[0] += self.baseline
        return np.cumsum(v, axis=0)

    def arrays(self) -> dict[str, np.ndarray]:
        return {**self.a, "n_features": np.array([self.n_features]),
                "baseline": np.array([self.baseline])}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Trees:
        """Rebuilt from :meth:`arrays`, refusing arrays whose walk could leave its tree or go
        round in a loop: every split's children within its own tree and after it, every split
        on a feature the trees read."""
        a = {k: numeric_array(arrays, k) for k in ("sizes", *cls.FIELDS)}
        n_feat, base = numeric_array(arrays, "n_features"), numeric_array(arrays, "baseline")
        n = len(a["leaf"])
        ok = (all(v.ndim == 1 for v in a.values()) and n_feat.shape == base.shape == (1,)
              and all(len(a[k]) == n for k in cls.FIELDS) and len(a["sizes"]) > 0
              and bool(np.all(a["sizes"] >= 1)) and int(a["sizes"].sum()) == n)
        if not ok:
            raise ValueError("tree arrays of inconsistent shapes")
        a["sizes"], n_features = a["sizes"].astype(np.int64), int(n_feat[0])
        for k in ("feature", "left", "right"):
            if not np.array_equal(a[k], np.round(a[k])):
                raise ValueError(f"tree arrays hold a non-integer {k} index")
            a[k] = a[k].astype(np.int64)
        a["leaf"], a["missing_left"] = a["leaf"] != 0, a["missing_left"] != 0
        sizes = a["sizes"]
        start = np.repeat(np.cumsum(sizes) - sizes, sizes)
        local, end = np.arange(n) - start, np.repeat(sizes, sizes)
        split = ~a["leaf"]
        inside = all(bool(np.all((a[c][split] > local[split]) & (a[c][split] < end[split])))
                     for c in ("left", "right"))
        known = bool(np.all((a["feature"][split] >= 0) & (a["feature"][split] < n_features)))
        if not (inside and known and np.all(np.isfinite(a["value"]))):
            raise ValueError("malformed trees (children out of their tree or before their "
                             "parent, a feature the trees do not read, or a non-finite value)")
        return cls(a, n_features, base[0])


def numeric_array(arrays: Mapping[str, Any], name: str) -> np.ndarray:
    """``arrays[name]`` as a numeric (or boolean) numpy array; anything else is refused."""
    if name not in arrays:
        raise ValueError(f"the array {name!r} is missing")
    v = arrays[name]
    if not isinstance(v, np.ndarray) or v.dtype.kind not in "biuf":
        raise ValueError(f"the array {name!r} is not a numeric array")
    return v


def compile_estimator(est: Any) -> Any:
    """A fitted scikit-learn estimator of the cost model as its numpy type (a fitted
    :class:`costmodel.mlp.MLPEnsemble` and anything already compiled as it is)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    if isinstance(est, HistGradientBoostingRegressor):
        return Trees.from_sklearn(est)
    if isinstance(est, Pipeline):
        return Linear.from_sklearn(est)
    return est
