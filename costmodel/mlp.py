"""A small ensemble of multilayer perceptrons whose prediction is a few float32 matrix products.

The cost model's ``mlp-phys`` kind (:mod:`costmodel.models`) learns log(target / baseline) with this
ensemble: the features are the design parameters' analytical structure, smooth in the bit widths,
which a network interpolates between the widths it saw where trees step. Training uses
scikit-learn's ``MLPRegressor`` (L-BFGS, networks of consecutive seeds averaged: one network alone
varies by about half a MAPE point with its seed, and how many are averaged is chosen per target by
grouped cross-validation, as a boosted kind's tree count is: :meth:`MLPEnsemble.staged_predict`);
prediction is numpy alone, every seed's first layer in one product and each seed's second layer in
its own, in float32, so that a batch of never-seen designs costs microseconds each (trees cost ~30
ns per tree and design, and the boosted kinds have 100-200 trees per target). The fitted state is
plain arrays (:meth:`MLPEnsemble.arrays`), the interface of :mod:`costmodel.predictors`, which is
all :mod:`costmodel.store` saves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: hidden layers, L2 penalty and L-BFGS iterations; chosen by the grouped cross-validation on
#: the ``design`` split's training part (never the hold-out): over 32..64 wide and alpha
#: 1e-3..0.3 the MAPEs of area, LUTs, delay and energy were within ~0.5 points of each other
#: from 48 wide and alpha 0.03 up (and 0.2-2.2 points below the boosted trees'); the narrower
#: is kept: the batch cost grows with the width squared. NETWORKS: the most networks averaged
#: (cross-validation picks how many, see costmodel.models.choose_iterations): on the same
#: grouped CV, going from 3 to 6-8 networks lowered every target's MAPE by 1-4% (relative) and
#: halved the spread between seed offsets; beyond 8 the curves were flat
HIDDEN, ALPHA, MAX_ITER, NETWORKS = (48, 48), 0.1, 500, 8


def transform(x: np.ndarray) -> np.ndarray:
    """Signed log1p, in float32: bit counts spanning 1..1e5 become comparable inputs."""
    x = np.asarray(x, dtype=np.float32)
    z = np.abs(x)
    np.log1p(z, out=z)
    return np.copysign(z, x, out=z)


def _first_layer(z: np.ndarray, w1: np.ndarray, out: np.ndarray) -> None:
    """``out`` = [z, 1] @ ``w1`` (before the ReLU), where the columns of ``z`` that are equal
    in every row are folded into the bias row first: rows of one unit family share most of
    their features (its one-hot, the fields its structure does not use), so the product
    reads a third of the columns or fewer."""
    if not len(z):
        return
    const = (z == z[0]).all(axis=0)
    vary = np.flatnonzero(~const)
    zv = np.empty((len(z), len(vary) + 1), dtype=np.float32)
    np.take(z, vary, axis=1, out=zv[:, :-1], mode="clip")  # "clip": written in place
    zv[:, -1] = 1.0
    w = np.empty((len(vary) + 1, w1.shape[1]), dtype=np.float32)
    w[:-1] = w1[vary]
    w[-1] = w1[-1] + z[0, const] @ w1[:-1][const]
    np.matmul(zv, w, out=out)


class MLPEnsemble:
    """``seeds`` ReLU networks (seeds ``seed``, ``seed + 1``, ...) with two hidden layers,
    averaged; inputs standardised after a signed log1p. ``fit``/``predict`` follow
    scikit-learn's regressor interface."""

    def __init__(self, seed: int = 0, hidden: tuple[int, int] = HIDDEN, alpha: float = ALPHA,
                 max_iter: int = MAX_ITER, seeds: int = NETWORKS) -> None:
        self.seed, self.hidden, self.alpha = seed, hidden, alpha
        self.max_iter, self.seeds = max_iter, seeds
        self.state: dict[str, np.ndarray] = {}
        # (the state they came from, first layer, second layer): see _layers
        self._derived: tuple[dict[str, np.ndarray], np.ndarray, np.ndarray] | None = None

    def fit(self, x: np.ndarray, y: np.ndarray) -> MLPEnsemble:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        z = transform(x).astype(np.float64)
        mean, scale = z.mean(0), z.std(0)
        scale[scale == 0] = 1.0
        z = (z - mean) / scale
        nets = []
        with warnings.catch_warnings():
            # L-BFGS stopping at MAX_ITER is the regularisation chosen, not a failure
            warnings.simplefilter("ignore", ConvergenceWarning)
            for s in range(self.seeds):
                nets.append(MLPRegressor(hidden_layer_sizes=self.hidden, alpha=self.alpha,
                                         solver="lbfgs", max_iter=self.max_iter, tol=1e-7,
                                         random_state=self.seed + s).fit(z, y))
        return self.set_networks(nets, mean, scale)

    def set_networks(self, nets: Sequence[Any], mean: np.ndarray,
                     scale: np.ndarray) -> MLPEnsemble:
        """Take fitted scikit-learn networks (``coefs_``, ``intercepts_``) of inputs
        standardised as ``(transform(x) - mean) / scale`` as this ensemble's state."""
        # the standardisation folded into the first layer: (z - mean) / scale @ w + b
        w1 = np.concatenate([n.coefs_[0] for n in nets], axis=1)
        b1 = np.concatenate([n.intercepts_[0] for n in nets])
        self.state = {
            # every seed's first layer side by side: one product for all of them
            "w1": (w1 / scale[:, None]).astype(np.float32),
            "b1": (b1 - (mean / scale) @ w1).astype(np.float32),
            "w2": np.stack([n.coefs_[1] for n in nets]).astype(np.float32),
            "b2": np.stack([n.intercepts_[1] for n in nets]).astype(np.float32),
            "w3": np.stack([n.coefs_[2][:, 0] for n in nets]).astype(np.float32),
            "b3": np.array([n.intercepts_[2][0] for n in nets], dtype=np.float32),
        }
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._outputs(transform(x), cumulative=False)[0]

    def predict_transformed(self, z: np.ndarray,
                            runs: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
        """:meth:`predict` of features already through :func:`transform` (float32): a batch
        whose columns several ensembles read transforms them once. ``runs``: row ranges
        ``(start, stop)`` covering ``z`` in order whose rows share most of their features (one
        unit family's): each run's first layer reads only the columns that vary within it
        (None: the whole batch is one run)."""
        return self._outputs(z, cumulative=False, runs=runs)[0]

    def staged_predict(self, x: np.ndarray) -> np.ndarray:
        """The average of the first k networks, for k = 1..seeds: (seeds, rows); the last row
        is :meth:`predict`."""
        return self._outputs(transform(x), cumulative=True)

    def _layers(self) -> tuple[np.ndarray, np.ndarray]:
        """The first two layers with their biases as weight rows, as prediction reads them:
        the first layer's bias is its last row, and every network has one more first-layer
        unit, always 1 after the ReLU, whose second-layer row is that layer's bias. Derived
        from :attr:`state` once."""
        s = self.state
        if self._derived is None or self._derived[0] is not s:
            k, width, width2 = s["w2"].shape
            n = len(s["w1"])
            w1 = np.zeros((n + 1, k, width + 1), dtype=np.float32)
            w1[:n, :, :width] = s["w1"].reshape(n, k, width)
            w1[n, :, :width] = s["b1"].reshape(k, width)
            w1[n, :, width] = 1.0
            w2 = np.concatenate([s["w2"], s["b2"][:, None, :]], axis=1)
            self._derived = (s, w1.reshape(n + 1, k * (width + 1)), w2)
        return self._derived[1], self._derived[2]

    def _outputs(self, z: np.ndarray, cumulative: bool,
                 runs: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
        # in place wherever possible: a fresh array per bias and ReLU costs more in page
        # faults than the arithmetic (2.2 against 0.4 us per design for the first layer here)
        s = self.state
        if z.ndim != 2 or z.shape[1] != len(s["w1"]):
            raise ValueError(f"the networks read {len(s['w1'])} features, got an array of "
                             f"shape {z.shape}")
        w1, w2 = self._layers()
        h = np.empty((len(z), w1.shape[1]), dtype=np.float32)
        for a, b in runs or ((0, len(z)),):
            _first_layer(z[a:b], w1, h[a:b])
        np.maximum(h, 0, out=h)
        k, width, width2 = w2.shape
        out = np.zeros((k if cumulative else 1, len(h)), dtype=np.float32)
        h2 = np.empty((len(h), width2), dtype=np.float32)
        for i in range(k):  # one network at a time: 2-D products run at BLAS speed
            np.matmul(h[:, i * width:(i + 1) * width], w2[i], out=h2)
            np.maximum(h2, 0, out=h2)
            row = i if cumulative else 0
            if cumulative and i:
                out[row] = out[i - 1]
            out[row] += h2 @ s["w3"][i]
        if cumulative:
            out += np.cumsum(s["b3"])[:, None]
            return out.astype(np.float64) / np.arange(1, k + 1)[:, None]
        out += s["b3"].sum()
        return out.astype(np.float64) / k

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted state as plain arrays (what a saved model holds)."""
        return dict(self.state)

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> MLPEnsemble:
        from costmodel.predictors import numeric_array

        state = {k: numeric_array(arrays, k).astype(np.float32)
                 for k in ("w1", "b1", "w2", "b2", "w3", "b3")}
        k, h1, h2 = state["w2"].shape if state["w2"].ndim == 3 else (0, 0, 0)
        n = len(state["w1"])
        shapes = {"w1": (n, k * h1), "b1": (k * h1,), "w2": (k, h1, h2), "b2": (k, h2),
                  "w3": (k, h2), "b3": (k,)}
        bad = [name for name, shp in shapes.items() if state[name].shape != shp]
        if bad or not k:
            raise ValueError(f"network arrays of inconsistent shapes ({', '.join(bad)})")
        est = cls(seeds=k, hidden=(h1, h2))
        est.state = state
        return est
