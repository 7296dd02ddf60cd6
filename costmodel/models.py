"""Predictors of area, FPGA LUTs, delay and energy per operation, and how they are chosen.

The shipped model reads parameter features only (:data:`costmodel.features.FEATURES`: format
widths and the analytical structure of :mod:`costmodel.structure`), so a design never seen is
predicted in microseconds. :func:`make_model` builds one regressor per registered kind:
histogram gradient boosting (``hgb``), a physically-informed baseline (``phys``: a non-negative
linear model without intercept over the analytical structure counts, i.e. cost ~ sum of c_k x
bits of structure k, so that an empty design costs nothing, with its coefficients per family,
per structural variant and per combinational/pipelined design where the data allow
(:func:`variant_groups`); a family the fit never saw gets a pooled fit over all families
instead), boosting on top of that baseline (``hgb-phys``: trees learn log(target / baseline), a
correction that varies far less with design size than the target itself) and small neural
networks on the same baseline (``mlp-phys``, :mod:`costmodel.mlp`: smooth in the bit widths
where trees step, and a few matrix products per batch). A boosted kind's number of trees, and
how many networks ``mlp-phys`` averages, are chosen by the same grouped cross-validation that
chooses the kind (:func:`choose_iterations`): the fewest within 1% of the lowest error, since a
batch prediction's cost grows with the trees and the networks.
The learned kinds fit log(target), so their errors are relative, the way MAPE counts them. (A
slower ``--refine`` model over the netlist's gate-level counts was removed: on the grouped
splits it was worse than this one on every target but the format split's area.)

Exact parts stay exact (:data:`EXACT`): the clock energy of the registers (register bits x the
energy proxy's clock cost, :mod:`costmodel.activity`) and the flip-flop area (flip-flops x
``costmodel.dataset.DFF_TRANSISTORS``) are computed from the register bits
(:func:`costmodel.structure.register_bits`, exact) and added; the model learns the rest. Yosys
prunes flip-flops whose input is constant or whose output is unused, so the area's flip-flops
are the register bits less a learned count of pruned ones (zero for a combinational design).

:func:`fit_cost_model` picks a kind per target by k-fold cross-validation (grouped by base
design by default): the cheapest to predict in batch within 1% of the lowest error
(:func:`cheapest_within`); the 90% prediction interval is split-conformal: the 5% and 95%
quantiles of the out-of-fold relative errors, per unit family.
"""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costmodel.features import (
    FEATURES,
    PHYSICAL,
    FeatureSpec,
    param_features,
)
from costmodel.mlp import NETWORKS, MLPEnsemble, transform
from costmodel.space import FAMILIES
from hwsim.errors import HwsimError

#: target name -> dataset column (see costmodel.dataset.SCHEMA)
TARGETS: dict[str, str] = {
    "area": "area_transistors",
    "luts": "fpga_luts",
    "delay": "pyrtl_delay_ps",
    "depth": "logic_depth",
    "energy": "energy_pj",
}
UNITS = {"area": "transistors", "luts": "LUT4", "delay": "ps", "depth": "gates",
         "energy": "pJ/op"}
#: targets with a part computed exactly from the register bits: target -> what it is
EXACT = {"area": "flip-flop area (flip-flops x DFF_TRANSISTORS)",
         "energy": "clock energy (register bits x the proxy's clock cost per bit and cycle)"}
INTERVAL = (0.05, 0.95)
MIN_CALIBRATION = 15
SEED = 0
REG = "st_reg_bits"


@dataclass(frozen=True)
class ModelKind:
    """A registered model: its factory, features, and whether it fits log(target)."""

    name: str
    build: Callable[[int], Any]
    features: FeatureSpec
    log_target: bool
    description: str
    # fit log(target / baseline) with log(baseline) as an extra feature
    baseline: str = ""
    # one coefficient per feature and unit family (the features times the family one-hot)
    per_family: bool = False

    @property
    def boosted(self) -> bool:
        """Boosted trees."""
        return self.build is _hgb

    @property
    def networks(self) -> bool:
        """Averaged neural networks (:class:`costmodel.mlp.MLPEnsemble`)."""
        return self.build is _mlp

    @property
    def stages(self) -> int:
        """The most members of an ensemble whose size cross-validation chooses (a boosted
        kind's trees, a network kind's networks); 0 for a kind of one fixed size."""
        return MAX_ITER if self.boosted else NETWORKS if self.networks else 0


#: the most boosting iterations (trees) a target may have; fit_target picks how many by the
#: grouped cross-validation's error after each iteration (:func:`choose_iterations`)
MAX_ITER = 300
#: the fewest trees whose cross-validated MAPE is within this share of the best count's:
#: fewer trees predict faster (the batch cost is ~linear in the trees) and load faster
ITER_TOLERANCE = 0.01
LEARNING_RATE, MAX_LEAF_NODES, MIN_SAMPLES_LEAF = 0.2, 15, 2


def _hgb(seed: int, max_iter: int = MAX_ITER) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    # small trees; their number is chosen by grouped cross-validation (no random-row early
    # stopping: a random validation row has a training sibling one register stage away)
    return HistGradientBoostingRegressor(max_iter=max_iter, learning_rate=LEARNING_RATE,
                                         max_leaf_nodes=MAX_LEAF_NODES,
                                         min_samples_leaf=MIN_SAMPLES_LEAF,
                                         early_stopping=False, random_state=seed)


def _mlp(seed: int, networks: int = 0) -> Any:
    return MLPEnsemble(seed, seeds=networks or NETWORKS)


def _linear(seed: int) -> Any:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # positive coefficients and no intercept: every bit adds cost, no logic costs nothing;
    # scaling keeps the coefficients comparable
    return make_pipeline(StandardScaler(with_mean=False),
                         LinearRegression(positive=True, fit_intercept=False))


MODEL_KINDS: dict[str, ModelKind] = {
    "hgb": ModelKind("hgb", _hgb, FEATURES, True, "histogram gradient boosting on log(target)"),
    "phys": ModelKind("phys", _linear, PHYSICAL, False,
                      "non-negative linear model over the analytical structure, a coefficient "
                      "per structure and unit family, no intercept", per_family=True),
    "hgb-phys": ModelKind("hgb-phys", _hgb, FEATURES, True,
                          "histogram gradient boosting of log(target / phys)", baseline="phys"),
    "mlp-phys": ModelKind("mlp-phys", _mlp, FEATURES, True,
                          "small neural networks (costmodel.mlp) of log(target / phys)",
                          baseline="phys"),
}
#: the kinds cross-validation chooses among
DEFAULT_KINDS = tuple(MODEL_KINDS)
#: the physically-informed baseline reported beside the chosen model
BASELINE = "phys"


def make_model(kind: str, seed: int = SEED, n_iter: int = 0) -> Any:
    """A fresh, unfitted regressor of a registered kind (an ensemble of ``n_iter`` members,
    trees or networks, if given; else of the most, :attr:`ModelKind.stages`)."""
    if kind not in MODEL_KINDS:
        raise HwsimError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    k = MODEL_KINDS[kind]
    return k.build(seed, n_iter) if n_iter and k.stages else k.build(seed)


def single_thread() -> Any:
    """Context limiting OpenMP/BLAS to one thread: the fits are small, and on a shared,
    oversubscribed machine OpenMP's spinning threads make them many times slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def mape(y: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute percentage error, in percent."""
    y = np.asarray(y, dtype=float)
    return float(np.mean(np.abs(pred - y) / np.maximum(np.abs(y), 1e-12)) * 100)


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y, pred))


@dataclass
class FittedTarget:
    """One target's fitted point model and interval models (mutable only while fitting).

    ``reg_cost`` is the exact cost per register bit of the target (0: no exact part);
    ``pruned`` the model of the register bits synthesis prunes (None: none are)."""

    target: str
    kind: str
    point: Any
    # family (or "*" for all) -> [lo, hi] quantiles of log(truth / prediction)
    bounds: Mapping[str, Sequence[float]]
    cv_mape: Mapping[str, float] = field(default_factory=dict)
    reg_cost: float = 0.0
    pruned: Any = None
    # members of an ensemble kind (a boosted kind's trees, a network kind's networks), chosen by
    # cross-validation; 0 otherwise (and in a model saved before networks were counted)
    n_iter: int = 0

    def predict(self, x_full: np.ndarray, names: Sequence[str]) -> np.ndarray:
        """The whole: the learned part plus the exact part."""
        return self.learned(x_full, names) + self.exact(x_full, names)

    def learned(self, x_full: np.ndarray, names: Sequence[str]) -> np.ndarray:
        return _predict_kind(self.kind, self.point, x_full, names)

    def exact(self, x_full: np.ndarray, names: Sequence[str]) -> np.ndarray:
        if not self.reg_cost:
            return np.zeros(len(x_full))
        reg = x_full[:, list(names).index(REG)]
        return self.reg_cost * (reg - _predict_pruned(self.pruned, x_full, reg))

    def interval(self, x_full: np.ndarray, value: np.ndarray, names: Sequence[str]
                 ) -> tuple[np.ndarray, np.ndarray]:
        fam = _families(x_full, names)
        pooled = self.bounds["*"]
        table = np.array([self.bounds.get(u, pooled) for u in FAMILIES] + [pooled])
        return value * np.exp(table[fam, 0]), value * np.exp(table[fam, 1])


def _predict_pruned(est: Any, x_full: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Register bits synthesis prunes: predicted where a design has any (a combinational one
    has none to prune)."""
    out = np.zeros(len(x_full))
    live = reg > 0
    if est is not None and live.any():
        rows = x_full if live.all() else x_full[live]
        out[live] = np.clip(np.rint(est.predict(rows)), 0, reg[live])
    return out


def _columns(spec: FeatureSpec, names: Sequence[str]) -> list[int]:
    """Columns of ``spec``'s features among ``names`` (the model's: a unit family added after
    training has no column there and is skipped)."""
    index = {n: i for i, n in enumerate(names)}
    return [index[n] for n in spec.names if n in index]


def _kind_x(k: ModelKind, x_full: np.ndarray, names: Sequence[str],
            pooled: bool = False) -> np.ndarray:
    cols = _columns(k.features, names)
    # every column in order (a kind reading all features): the matrix itself, not a copy
    x = x_full if cols == list(range(x_full.shape[1])) else x_full[:, cols]
    if not k.per_family or pooled:
        return x
    # the families the model's features name (a family added after training has no column)
    known = [i for i, u in enumerate(FAMILIES) if f"unit_{u}" in names]
    onehot = _families(x_full, names)[:, None] == np.array(known)[None, :]
    return np.concatenate([x * onehot[:, [j]] for j in range(len(known))] + [onehot],
                          axis=1).astype(np.float64)


#: fewest rows for the baseline's coefficients of one family, and of one variant group
MIN_FAMILY, MIN_VARIANT = 6, 10
#: features that switch a family between structurally different variants: (feature, value of
#: the variant, family): a convert to fp32, an L-Mul mac, a MixPE PE without its dequantiser
VARIANT_FEATURES = (("dir_from", 1.0, "convert"), ("mul_lmul", 1.0, "mac"),
                    ("sh_dequant_pe", 0.0, "mixpe"))


def variant_groups(x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The baseline's group of every row: family x variant x pipelined.

    A register stage changes what synthesis can simplify, not only the registers: a
    combinational convert from bf16 to fp32 is wiring once constants are propagated, while a
    register after its normaliser keeps the whole rounding logic (10-40x the area, the
    dataset's convert rows). So the physically-informed baseline has its coefficients per
    family, variant (:data:`VARIANT_FEATURES`) and whether the design is pipelined; -1 for a
    family the features do not name."""
    return _per_batch("variant_groups", x, lambda: _variant_groups(x, names))


def _variant_groups(x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    fam = _families(x, names)
    var = np.zeros(len(x), dtype=bool)
    for n, v, unit in VARIANT_FEATURES:
        if n in index and f"unit_{unit}" in index:
            var |= (x[:, index[n]] == v) & (x[:, index[f"unit_{unit}"]] > 0)
    piped = x[:, index["pipe_stages"]] > 0 if "pipe_stages" in index else np.zeros(len(x), bool)
    return np.where(fam >= 0, fam * 4 + 2 * var + piped, -1)


def _variant_x(k: ModelKind, x_full: np.ndarray, names: Sequence[str], groups: Sequence[int],
               grp: np.ndarray) -> np.ndarray:
    """The baseline's features times the one-hot of each trained variant group (and the
    one-hot itself), columns laid out by ``groups``."""
    x = x_full[:, _columns(k.features, names)]
    onehot = grp[:, None] == np.asarray(groups)[None, :]
    return np.concatenate([x * onehot[:, [j]] for j in range(len(groups))] + [onehot],
                          axis=1).astype(np.float64)


def _fit_kind(kind: str, x_full: np.ndarray, y: np.ndarray, names: Sequence[str],
              seed: int, n_iter: int = 0) -> Any:
    """The fitted estimator; for a kind on a baseline a dict {"base": ..., "boost": ...}; for
    a per-family kind a dict {"family": ..., "pooled": ..., "seen": [families with their own
    coefficients], "variant": ..., "groups": [variant groups with their own coefficients]}:
    a row of a fitted variant group (:func:`variant_groups`) is predicted by the variant fit,
    else by its family's; a family never seen by the pooled fit (one coefficient per feature,
    all families together), and one with too few rows for its own coefficients by the pooled
    fit times the family's geometric-mean ratio to it ("scale"). All weigh rows by 1/y^2
    (relative errors, as MAPE counts them)."""
    k = MODEL_KINDS[kind]
    x = _kind_x(k, x_full, names)
    if k.per_family:
        fam = _families(x_full, names)
        # families and variant groups with too few rows for their own coefficients (a
        # least-squares fit of 9 per group) fall back to the family fit, the pooled one
        seen = sorted(FAMILIES[i] for i, c in zip(*np.unique(fam, return_counts=True),
                                                  strict=True) if i >= 0 and c >= MIN_FAMILY)
        # weighted by 1/y^2: relative errors, so that the large designs do not set the
        # coefficients alone (a family it predicts is unseen, whatever its size)
        xp = _kind_x(k, x_full, names, pooled=True)
        pooled = _fitted(kind, seed, xp, y, linearregression__sample_weight=1 / y ** 2)
        # a family too small for its own coefficients: the pooled fit times its mean ratio
        ratio = np.log(y / np.maximum(pooled.predict(xp), 1e-9))
        scale = {FAMILIES[i]: float(np.exp(ratio[fam == i].mean()))
                 for i in np.unique(fam) if i >= 0 and FAMILIES[i] not in seen}
        grp = variant_groups(x_full, names)
        groups = [int(g) for g, c in zip(*np.unique(grp, return_counts=True), strict=True)
                  if g >= 0 and c >= MIN_VARIANT]
        w = {"linearregression__sample_weight": 1 / y ** 2}
        variant = _fitted(kind, seed, _variant_x(k, x_full, names, groups, grp), y,
                          **w) if groups else None
        return {"family": _fitted(kind, seed, x, y, **w), "pooled": pooled,
                "seen": seen, "variant": variant, "groups": groups, "scale": scale}
    if k.baseline:
        base = _fit_kind(k.baseline, x_full, y, names, seed)
        b = _predict_kind(k.baseline, base, x_full, names)
        boost = _fitted(kind, seed, np.c_[x, np.log(b)], np.log(y / b), n_iter=n_iter)
        return {"base": base, "boost": boost}
    return _fitted(kind, seed, x, np.log(y) if k.log_target else y, n_iter=n_iter)


def _fitted(kind: str, seed: int, x: np.ndarray, y: np.ndarray, n_iter: int = 0,
            **fit_params: Any) -> Any:
    """A regressor of ``kind`` fitted, as its numpy type (:mod:`costmodel.predictors`)."""
    from costmodel.predictors import compile_estimator

    return compile_estimator(make_model(kind, seed, n_iter).fit(x, y, **fit_params))


def check_fitted(kind: str, est: Any) -> None:
    """Raise ValueError unless ``est`` has the structure :func:`_fit_kind` gives ``kind`` (what
    loading a saved model checks before predicting with it)."""
    from costmodel.predictors import Linear, Trees

    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    k = MODEL_KINDS[kind]
    if k.per_family:
        ok = (isinstance(est, dict)
              and set(est) == {"family", "pooled", "seen", "variant", "groups", "scale"}
              and isinstance(est["family"], Linear) and isinstance(est["pooled"], Linear)
              and (est["variant"] is None or isinstance(est["variant"], Linear))
              and isinstance(est["seen"], list) and all(isinstance(u, str) for u in est["seen"])
              and isinstance(est["groups"], list)
              and all(type(g) is int for g in est["groups"])
              and est["groups"] == sorted(set(est["groups"]))
              and isinstance(est["scale"], dict) and all(
                  type(v) in (int, float) for v in est["scale"].values()))
        if not ok:
            raise ValueError(f"the {kind} model's parts are not what that kind holds")
        return
    if k.baseline:
        if not isinstance(est, dict) or set(est) != {"base", "boost"}:
            raise ValueError(f"the {kind} model is not a baseline and its correction")
        check_fitted(k.baseline, est["base"])
        est = est["boost"]
    want = Trees if k.boosted else MLPEnsemble
    if not isinstance(est, want):
        raise ValueError(f"the {kind} model holds a {type(est).__name__}, not {want.__name__}")


def _staged_predict_kind(kind: str, est: Any, x_full: np.ndarray, names: Sequence[str]
                         ) -> np.ndarray:
    """An ensemble kind's predictions after each member (tree, or network averaged):
    (members, rows)."""
    k = MODEL_KINDS[kind]
    x = _kind_x(k, x_full, names)
    if k.baseline:
        b = _predict_kind(k.baseline, est["base"], x_full, names)
        return b * np.exp(est["boost"].staged_predict(np.c_[x, np.log(b)]))
    return np.exp(est.staged_predict(x))


def choose_iterations(curve: Sequence[float]) -> int:
    """The fewest iterations whose error (``curve[i]``: after ``i + 1`` iterations) is within
    :data:`ITER_TOLERANCE` of the lowest."""
    c = np.asarray(curve, dtype=float)
    return int(np.flatnonzero(c <= c.min() * (1 + ITER_TOLERANCE))[0]) + 1


def _predict_kind(kind: str, est: Any, x_full: np.ndarray, names: Sequence[str]) -> np.ndarray:
    k = MODEL_KINDS[kind]
    if k.per_family and isinstance(est, dict):
        return _predict_per_family(k, est, x_full, names)
    x = _kind_x(k, x_full, names)
    if k.baseline:
        b = _predict_kind(k.baseline, est["base"], x_full, names)
        if k.networks:  # x transformed once per batch for every target's networks
            z = _per_batch("transformed", x, lambda: _transformed_with_column(x))
            z[:, -1] = transform(np.log(b))  # elementwise: as transform(np.c_[x, log b])
            runs = _per_batch("runs", x_full, lambda: family_runs(x_full, names))
            return b * np.exp(est["boost"].predict_transformed(z, runs))
        return b * np.exp(est["boost"].predict(np.c_[x, np.log(b)]))
    p = est.predict(x)
    return np.exp(p) if k.log_target else np.maximum(p, 1e-9)


#: fewest rows per run of one family, on average, for :func:`family_runs` to give the runs
RUN_ROWS = 256


def family_runs(x: np.ndarray, names: Sequence[str]) -> list[tuple[int, int]] | None:
    """The row ranges of consecutive rows of one family, if the rows come in runs of
    :data:`RUN_ROWS` or more on average (:meth:`CostModel.predict_points` orders a batch by
    family), else None: the networks then take the batch whole (see
    :func:`costmodel.mlp._first_layer`)."""
    fam = _families(x, names)
    cuts = np.flatnonzero(fam[1:] != fam[:-1]) + 1
    if len(cuts) + 1 > max(1, len(x) // RUN_ROWS):
        return None
    bounds = [0, *cuts.tolist(), len(x)]
    return list(itertools.pairwise(bounds))


def _transformed_with_column(x: np.ndarray) -> np.ndarray:
    """``transform(x)`` and a free last column, float32 (a network kind's input: the features
    and the log of its baseline)."""
    z = np.empty((len(x), x.shape[1] + 1), dtype=np.float32)
    z[:, :-1] = transform(x)
    return z


def grouped_linear(lin: Any, x: np.ndarray, pos: np.ndarray, n_groups: int) -> np.ndarray:
    """What ``lin`` (a :class:`costmodel.predictors.Linear` fitted on the per-group layout of
    :func:`_variant_x`: ``x`` times each group's one-hot, then the one-hots) predicts for rows
    of groups ``pos`` (an index into the layout's groups; -1: none), computed from ``x`` and the
    coefficients of each row's group alone, without the wide one-hot layout."""
    f = x.shape[1]
    w = lin.weights
    coef = np.vstack([w[:n_groups * f].reshape(n_groups, f), np.zeros((1, f))])
    bias = np.append(w[n_groups * f:], 0.0)
    pos = np.where(pos < 0, n_groups, pos)
    return np.einsum("ij,ij->i", x, coef[pos]) + bias[pos] + lin.intercept


def _predict_per_family(k: ModelKind, est: dict, x_full: np.ndarray, names: Sequence[str]
                        ) -> np.ndarray:
    """A per-family baseline (see :func:`_fit_kind`): the variant group's coefficients, else
    the family's, else the pooled fit (times a small family's ratio to it)."""
    x = x_full[:, _columns(k.features, names)]
    p = np.empty(len(x))
    rest = np.ones(len(x), dtype=bool)  # rows without a fitted variant group
    if est.get("variant") is not None:  # a variant group fitted: its own coefficients
        grp = variant_groups(x_full, names)
        pos = np.searchsorted(est["groups"], grp)
        hit = (pos < len(est["groups"])) & (np.asarray(est["groups"])[
            np.minimum(pos, len(est["groups"]) - 1)] == grp)
        if hit.all():  # every row (a copy of the rows spared)
            p = grouped_linear(est["variant"], x, pos, len(est["groups"]))
            rest = ~hit
        elif hit.any():
            p[hit] = grouped_linear(est["variant"], x[hit], pos[hit], len(est["groups"]))
            rest = ~hit
    if rest.any():
        p[rest] = _family_baseline(est, x[rest], _families(x_full, names)[rest], names)
    return np.maximum(p, 1e-9)


def _family_baseline(est: dict, x: np.ndarray, fam: np.ndarray, names: Sequence[str]
                     ) -> np.ndarray:
    """The family's coefficients, else the pooled fit times a small family's ratio to it."""
    known = [i for i, u in enumerate(FAMILIES) if f"unit_{u}" in names]
    where = np.full(len(FAMILIES) + 1, -1)  # FAMILIES index (-1: none) -> layout position
    where[known] = np.arange(len(known))
    p = grouped_linear(est["family"], x, where[fam], len(known))
    seen = np.array([u in est["seen"] for u in FAMILIES] + [False])
    unseen = ~seen[fam]  # index -1 (a family the features do not name) is unseen too
    if unseen.any():
        p[unseen] = est["pooled"].predict(x[unseen])
        scale = est.get("scale", {})
        p[unseen] *= np.array([scale.get(u, 1.0) for u in FAMILIES] + [1.0])[fam[unseen]]
    return p


def cv_splitter(folds: int, seed: int, groups: np.ndarray | None,
                strata: np.ndarray | None = None) -> Any:
    """k-fold (shuffled), or, given ``groups``, group k-fold: every row of a group lands in
    the same fold, so no fold is scored on a design whose sibling it trained on. Given
    ``strata`` too (a label per row, one per group: the unit family of a base design),
    stratified group k-fold, called as ``.split(x, strata, groups)``: a stratum's groups spread
    over the folds, so a family of two base designs never has both held out at once (that
    would score an unseen family, the ``family`` split's question, not a new design's)."""
    from sklearn.model_selection import GroupKFold, KFold, StratifiedGroupKFold

    if groups is None:
        return KFold(folds, shuffle=True, random_state=seed)
    n = len(np.unique(groups))
    if not 2 <= folds <= n:
        raise HwsimError(f"folds must be an integer from 2 to {n} (the groups "
                         f"cross-validated), got {folds!r}")
    if strata is not None:
        return StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    return GroupKFold(folds, shuffle=True, random_state=seed)


def cv_folds(folds: int, seed: int, x: np.ndarray, y: np.ndarray, groups: np.ndarray | None,
             strata: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(training rows, test rows) of each fold of :func:`cv_splitter` (stratified by
    ``strata`` where scikit-learn can: see below)."""
    import warnings

    with warnings.catch_warnings():
        # a family of fewer rows than folds is expected (its base designs spread as they can)
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        # scikit-learn stratifies only where a stratum has as many rows as folds: a small
        # dataset whose every family has fewer gets plain group folds
        if strata is not None and np.unique(strata, return_counts=True)[1].max() < folds:
            strata = None
        return list(cv_splitter(folds, seed, groups, strata).split(
            x, y if strata is None else strata, groups))


def family_strata(groups: np.ndarray | None, families: np.ndarray) -> np.ndarray | None:
    """``families`` as the strata of grouped folds where every group lies within one family
    (base designs); None where a group spans families (formats) or there are no groups."""
    if groups is None:
        return None
    pairs = np.unique(np.c_[np.unique(groups, return_inverse=True)[1], families], axis=0)
    return families if len(pairs) == len(np.unique(groups)) else None


def cross_val_predict(kind: str, x: np.ndarray, y: np.ndarray, names: Sequence[str],
                      folds: int = 5, seed: int = SEED,
                      groups: np.ndarray | None = None, staged: bool = False) -> np.ndarray:
    """Out-of-fold predictions of ``kind`` (k-fold, shuffled; group k-fold given ``groups``,
    stratified by unit family where each group lies within one: :func:`family_strata`).
    ``kind`` may be ``"pruned"``: the pruned-register model (linear target, see below).
    ``staged`` (an ensemble kind): the predictions after each member, (members, rows)."""
    preds = np.empty((MODEL_KINDS[kind].stages, len(y)) if staged else len(y))
    strata = family_strata(groups, _families(x, names))
    for tr, te in cv_folds(folds, seed, x, y, groups, strata):
        if kind == "pruned":
            preds[te] = _predict_pruned(_fit_pruned(x[tr], y[tr], seed), x[te],
                                        np.full(len(te), np.inf))
            continue
        est = _fit_kind(kind, x[tr], y[tr], names, seed)
        if staged:
            preds[:, te] = _staged_predict_kind(kind, est, x[te], names)
        else:
            preds[te] = _predict_kind(kind, est, x[te], names)
    return preds


#: trees of the pruned-register model (a small count per design, learned in few trees)
PRUNED_ITER = 50


def _fit_pruned(x_full: np.ndarray, pruned: np.ndarray, seed: int) -> Any:
    """Register bits that synthesis prunes, learned from every feature (a count, not a log)."""
    from costmodel.predictors import compile_estimator

    return compile_estimator(_hgb(seed, PRUNED_ITER).fit(x_full, pruned))


def cross_val_mape(kind: str, x: np.ndarray, y: np.ndarray, names: Sequence[str],
                   folds: int = 5, seed: int = SEED) -> float:
    return mape(y, cross_val_predict(kind, x, y, names, folds, seed))


#: what a batch prediction computes once and every target reads: name -> (rows, value)
_BATCH: ContextVar[dict[str, tuple[np.ndarray, Any]] | None] = ContextVar("batch", default=None)


@contextmanager
def _one_batch() -> Any:
    """Within it, :func:`_per_batch` computes a value of the same rows once (a chunk of
    :meth:`CostModel.predict_matrix`: its rows' families, variant groups and transformed
    features serve all five targets and their intervals)."""
    token = _BATCH.set({})
    try:
        yield
    finally:
        _BATCH.reset(token)


def _per_batch(name: str, rows: np.ndarray, compute: Callable[[], Any]) -> Any:
    """``compute()``, reused inside :func:`_one_batch` while asked for the very same ``rows``
    array (by identity: a slice or a copy is other rows); computed afresh outside it."""
    cache = _BATCH.get()
    if cache is None:
        return compute()
    hit = cache.get(name)
    if hit is None or hit[0] is not rows:
        hit = cache[name] = (rows, compute())
    return hit[1]


def _families(x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Index into FAMILIES of each row, from the one-hot ``unit_*`` feature columns; -1 for a
    family the features do not name (one added after the model was trained)."""
    return _per_batch("families", x, lambda: _families_of(x, names))


def _families_of(x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    known = [(i, index[f"unit_{u}"]) for i, u in enumerate(FAMILIES) if f"unit_{u}" in index]
    onehot = x[:, [c for _, c in known]]
    fam = np.array([i for i, _ in known])[np.argmax(onehot, axis=1)]
    return np.where(onehot.max(axis=1) > 0, fam, -1)


def _interval_table(x: np.ndarray, y: np.ndarray, oof: np.ndarray, names: Sequence[str]
                    ) -> dict[str, list[float]]:
    """Split-conformal bounds: quantiles of log(y / out-of-fold prediction), per family.

    A family with fewer than MIN_CALIBRATION designs uses the pooled quantiles.
    """
    r = np.log(y / np.maximum(oof, 1e-12))
    lo_q, hi_q = INTERVAL
    table = {"*": [float(np.quantile(r, lo_q)), float(np.quantile(r, hi_q))]}
    fam = _families(x, names)
    for i, u in enumerate(FAMILIES):
        ri = r[fam == i]
        if len(ri) >= MIN_CALIBRATION:
            table[u] = [float(np.quantile(ri, lo_q)), float(np.quantile(ri, hi_q))]
    return table


def fit_target(target: str, x: np.ndarray, y: np.ndarray, names: Sequence[str], *,
               kinds: Sequence[str] = DEFAULT_KINDS, folds: int = 5,
               seed: int = SEED, groups: np.ndarray | None = None,
               exact: np.ndarray | None = None, reg_cost: float = 0.0) -> FittedTarget:
    """Pick the kind with the lowest cross-validated MAPE of the whole (grouped CV given
    ``groups``), fit it, calibrate its interval.

    ``exact`` is the true exact part of each row (``reg_cost`` x the register bits synthesis
    kept): the kinds learn ``y - exact``; where synthesis kept fewer register bits than the
    netlist has, a model of the pruned bits is fitted too."""
    y = np.maximum(np.asarray(y, dtype=float), 1e-9)
    pruned_model = None
    exact_oof = np.zeros_like(y)
    learned_y, reg, pruned = _split_exact(x, y, names, exact, reg_cost)
    if reg is not None:
        exact_oof = reg_cost * reg
        if pruned.any():
            pruned_oof = np.minimum(cross_val_predict("pruned", x, pruned, names, folds,
                                                      seed, groups), reg)
            exact_oof = reg_cost * (reg - pruned_oof)
            pruned_model = _fit_pruned(x, pruned, seed)
    oof: dict[str, np.ndarray] = {}
    iters: dict[str, int] = {}
    for k in kinds:
        if MODEL_KINDS[k].stages:  # the trees or networks: their number chosen on the same folds
            staged = cross_val_predict(k, x, learned_y, names, folds, seed, groups,
                                       staged=True) + exact_oof
            iters[k] = choose_iterations([mape(y, p) for p in staged])
            oof[k] = staged[iters[k] - 1]
        else:
            oof[k] = cross_val_predict(k, x, learned_y, names, folds, seed, groups) + exact_oof
    scores = {k: mape(y, p) for k, p in oof.items()}
    best = cheapest_within(scores)
    bounds = _interval_table(x, y, oof[best], names)
    n_iter = iters.get(best, 0)
    return FittedTarget(target, best, _fit_kind(best, x, learned_y, names, seed, n_iter),
                        bounds, scores, reg_cost if exact is not None else 0.0, pruned_model,
                        n_iter)


#: kinds from the cheapest per design in a batch to the dearest (a network's few products
#: cost less than a hundred trees); any kind not named here counts as the dearest
BATCH_COST_ORDER = ("phys", "mlp-phys", "hgb", "hgb-phys")


def cheapest_within(scores: Mapping[str, float]) -> str:
    """The cheapest kind (:data:`BATCH_COST_ORDER`) whose cross-validated MAPE is within
    :data:`ITER_TOLERANCE` of the lowest: :func:`choose_iterations`, the rule that picks a
    boosted kind's tree count, over the kinds from the cheapest to the dearest."""
    rank = {k: i for i, k in enumerate(BATCH_COST_ORDER)}
    order = sorted(scores, key=lambda k: (rank.get(k, len(rank)), scores[k]))
    return order[choose_iterations([scores[k] for k in order]) - 1]


def _split_exact(x: np.ndarray, y: np.ndarray, names: Sequence[str], exact: np.ndarray | None,
                 reg_cost: float) -> tuple[np.ndarray, Any, Any]:
    """(the learned part of ``y``, the register bits, the bits synthesis pruned); the last two
    None for a target without an exact part."""
    if exact is None or not reg_cost:
        return y, None, None
    reg = x[:, list(names).index(REG)]
    # a count of bits: rounded, so that float noise in exact / reg_cost (~1e-16 where nothing
    # is pruned, every energy row) never asks for a model of nothing
    pruned = np.maximum(np.rint(reg - np.asarray(exact, float) / reg_cost), 0)
    return np.maximum(y - exact, 1e-9), reg, pruned


def fit_fixed(target: str, kind: str, x: np.ndarray, y: np.ndarray, names: Sequence[str], *,
              seed: int = SEED, exact: np.ndarray | None = None,
              reg_cost: float = 0.0, n_iter: int = 0) -> FittedTarget:
    """``kind`` fitted as :func:`fit_target` fits its choice, without cross-validation (no
    interval: its bounds are zero); an ensemble kind with ``n_iter`` members (0: the most)."""
    y = np.maximum(np.asarray(y, dtype=float), 1e-9)
    learned_y, reg, pruned = _split_exact(x, y, names, exact, reg_cost)
    pruned_model = _fit_pruned(x, pruned, seed) if reg is not None and pruned.any() else None
    return FittedTarget(target, kind, _fit_kind(kind, x, learned_y, names, seed, n_iter),
                        {"*": [0.0, 0.0]}, {}, reg_cost if exact is not None else 0.0,
                        pruned_model, n_iter)


def exact_costs(df: Any) -> dict[str, tuple[float, np.ndarray]]:
    """target -> (cost per register bit, true exact part of each row of ``df``): flip-flop
    area from the flip-flops synthesis kept, clock energy from the netlist's register bits."""
    from costmodel.activity import clock_pj_per_bit
    from costmodel.dataset import DFF_TRANSISTORS

    clock = clock_pj_per_bit()
    return {"area": (float(DFF_TRANSISTORS), DFF_TRANSISTORS * df["dff_bits"].to_numpy(float)),
            "energy": (clock, clock * df[REG].to_numpy(float))}


@dataclass(frozen=True)
class Domain:
    """The training domain: units and formats seen, and each feature's range."""

    units: tuple[str, ...]
    formats: tuple[str, ...]
    lo: Mapping[str, float]
    hi: Mapping[str, float]

    def check(self, feats: Mapping[str, float], unit: str, fmt: str) -> list[str]:
        """Reasons a query lies outside the training domain (empty when inside)."""
        why = []
        if unit not in self.units:
            why.append(f"unit {unit!r} is not in the training data")
        for n in ("elem_bits", "exp_bits", "man_bits", "acc_bits", "block_n", "pipe_stages",
                  "st_pp_bits", "st_add_bits", REG):
            v = feats.get(n)
            if v is not None and not self.lo[n] <= v <= self.hi[n]:
                why.append(f"{n}={v:g} outside the trained range "
                           f"[{self.lo[n]:g}, {self.hi[n]:g}]")
        return why


@dataclass(frozen=True)
class Prediction:
    """One target's prediction with its 90% interval."""

    target: str
    value: float
    lo: float
    hi: float
    unit: str
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "value": self.value, "lo": self.lo, "hi": self.hi,
                "unit": self.unit, "model": self.kind}


class OutOfDomainWarning(UserWarning):
    """A prediction was asked for outside the range the model was trained on."""


#: rows predicted at a time, so that every intermediate array stays in the CPU's caches: the
#: trees and networks each pass over all rows, and over 100,000 rows at once those passes are
#: memory-bound (24 us per design here against 12 in chunks of 4,096)
CHUNK = 4096


def _joined(parts: Sequence[dict[str, dict[str, np.ndarray]]]
            ) -> dict[str, dict[str, np.ndarray]]:
    """Chunks' predictions, concatenated in order."""
    if len(parts) == 1:
        return parts[0]
    return {t: {k: np.concatenate([p[t][k] for p in parts]) for k in d}
            for t, d in parts[0].items()}


@dataclass(frozen=True)
class CostModel:
    """Fitted predictors for every target plus their provenance."""

    targets: Mapping[str, FittedTarget]
    features: FeatureSpec
    domain: Domain
    meta: Mapping[str, Any]  # sklearn version, dataset hash, seed, rows, cv scores

    def predict_matrix(self, x: np.ndarray, targets: Sequence[str] | None = None,
                       interval: bool = True, workers: int | None = None
                       ) -> dict[str, dict[str, np.ndarray]]:
        """Batch prediction from a feature matrix whose columns follow ``self.features``:
        :data:`CHUNK` rows at a time, the chunks on ``workers`` threads (None: one per core;
        :mod:`costmodel.parallel`)."""
        from costmodel.parallel import check_workers, chunks, map_chunks

        w = check_workers(workers)
        if not len(x):  # an empty batch: empty answers (the estimators refuse 0 rows)
            names = [self._target(t).target for t in targets or tuple(self.targets)]
            keys = ("value", "lo", "hi") if interval else ("value",)
            return {t: dict.fromkeys(keys, np.zeros(0)) for t in names}
        return _joined(map_chunks(lambda rows: self._predict_chunk(x[rows], targets, interval),
                                  chunks(len(x), w, CHUNK), w))

    def _predict_chunk(self, x: np.ndarray, targets: Sequence[str] | None, interval: bool
                       ) -> dict[str, dict[str, np.ndarray]]:
        out: dict[str, dict[str, np.ndarray]] = {}
        with _one_batch():
            for t in targets or tuple(self.targets):
                ft = self._target(t)
                res = {"value": ft.predict(x, self.features.names)}
                if interval:
                    lo, hi = ft.interval(x, res["value"], self.features.names)
                    res["lo"] = np.minimum(lo, res["value"])
                    res["hi"] = np.maximum(hi, res["value"])
                out[t] = res
        return out

    def _target(self, t: str) -> FittedTarget:
        if t not in self.targets:
            raise HwsimError(f"unknown target {t!r}; known: {', '.join(self.targets)}")
        return self.targets[t]

    def predict_points(self, points: Sequence[Any], targets: Sequence[str] | None = None,
                       interval: bool = True, workers: int | None = None
                       ) -> dict[str, dict[str, np.ndarray]]:
        """Batch prediction for design points; features are computed once per distinct point,
        as arrays over the batch (:func:`costmodel.batch_features.feature_matrix`), and then
        predicted as :meth:`predict_matrix` does, on ``workers`` threads. The features are
        computed first, in this thread: they are mostly Python, and computing one chunk's
        while the threads predicted the last held the GIL that every numpy call of the
        threads waits for (on two cores here 71-86,000 designs/s that way, against 95-119,000
        this way in runs of the same quiet hour)."""
        from costmodel.batch_features import feature_matrix

        uniq: dict[Any, int] = {}
        idx = np.fromiter((uniq.setdefault(p, len(uniq)) for p in points), dtype=np.int64,
                          count=len(points))
        # the distinct designs ordered by family: the networks fold what a family's rows
        # share into their first layer's bias (costmodel.models.family_runs)
        distinct = list(uniq)
        order = sorted(range(len(distinct)), key=lambda i: distinct[i].unit)
        where = np.empty(len(order), dtype=np.int64)
        where[order] = np.arange(len(order))
        feats = feature_matrix([distinct[i] for i in order], self.features)
        idx = where[idx]
        res = self.predict_matrix(feats, targets, interval, workers)
        return {t: {k: v[idx] for k, v in d.items()} for t, d in res.items()}

    def predict(self, point: Any, targets: Sequence[str] | None = None
                ) -> tuple[list[Prediction], list[str]]:
        """Predictions for one design point, and why it is out of domain (empty if it is not)."""
        from costmodel.features import design_features

        feats = design_features(point)
        why = self.domain.check(feats, point.unit, point.format)
        if why:
            warnings.warn(f"{point.unit} {point.format}: outside the training domain ("
                          f"{'; '.join(why)}); the prediction is an extrapolation",
                          OutOfDomainWarning, stacklevel=2)
        res = self.predict_matrix(self.features.vector(feats)[None, :], targets)
        preds = [Prediction(t, float(r["value"][0]), float(r["lo"][0]), float(r["hi"][0]),
                            UNITS[t], self.targets[t].kind) for t, r in res.items()]
        return preds, why


#: fewest designs a model is fitted on (the floor costmodel.validate.validate uses too)
MIN_ROWS = 20


def check_folds(folds: int, rows: int) -> None:
    """k-fold cross-validation over ``rows`` designs needs ``2 <= folds <= rows``."""
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= rows:
        raise HwsimError(f"folds must be an integer from 2 to {rows} (the designs "
                         f"cross-validated), got {folds!r}")


def check_training(rows: int, folds: int) -> None:
    """Raise unless ``rows`` designs are enough to fit on with ``folds``-fold CV."""
    if rows < MIN_ROWS:
        raise HwsimError(f"the dataset has {rows} designs; fitting needs at least {MIN_ROWS}")
    check_folds(folds, rows)


def fit_cost_model(df: Any, *, kinds: Sequence[str] = DEFAULT_KINDS, folds: int = 5,
                   seed: int = SEED, targets: Sequence[str] = tuple(TARGETS),
                   dataset_hash: str = "", grouped: bool = True) -> CostModel:
    """Fit every target on a dataset DataFrame (columns of costmodel.dataset.SCHEMA).

    The kind per target is chosen by cross-validation grouped by base design (every pipeline
    and saturate variant in one fold) unless ``grouped`` is false."""
    import sklearn

    from costmodel.features import with_structure

    check_training(len(df), folds)
    df = with_structure(df)
    spec = FEATURES
    x = spec.matrix(df)
    groups = design_groups(df) if grouped else None
    exact = exact_costs(df)
    with single_thread():
        fitted = {t: fit_target(t, x, df[TARGETS[t]].to_numpy(float), spec.names,
                                kinds=kinds, folds=folds, seed=seed, groups=groups,
                                exact=exact[t][1] if t in exact else None,
                                reg_cost=exact[t][0] if t in exact else 0.0)
                  for t in targets}
    domain = Domain(units=tuple(sorted(df["unit"].unique())),
                    formats=tuple(sorted(df["format"].unique())),
                    lo={n: float(v) for n, v in zip(spec.names, x.min(0), strict=True)},
                    hi={n: float(v) for n, v in zip(spec.names, x.max(0), strict=True)})
    meta = {
        "sklearn_version": sklearn.__version__,
        "dataset_hash": dataset_hash,
        "rows": len(df),
        "seed": seed,
        "folds": folds,
        "cv_grouping": "design" if grouped else "rows",
        "feature_names": list(spec.names),
        "targets": {t: {"column": TARGETS[t], "kind": f.kind,
                        "trees": f.n_iter if MODEL_KINDS[f.kind].boosted else None,
                        "networks": f.n_iter if MODEL_KINDS[f.kind].networks else None,
                        "cv_mape": dict(f.cv_mape),
                        "exact_per_register_bit": f.reg_cost or None}
                    for t, f in fitted.items()},
        "interval": list(INTERVAL),
    }
    return CostModel(fitted, spec, domain, meta)


def design_groups(df: Any) -> np.ndarray:
    """The base design of every row (costmodel.space.DesignPoint.base): the ``design`` group."""
    from costmodel.space import DesignPoint

    cols = list(DesignPoint.__dataclass_fields__)
    return np.array(["|".join(map(str, DesignPoint.from_dict(r).base))
                     for r in df[cols].to_dict("records")])


def meta_json(model: CostModel) -> str:
    return json.dumps(model.meta, indent=2, sort_keys=True)


# keep param_features importable from here for callers that build query rows
__all__ = ["MIN_ROWS", "MODEL_KINDS", "TARGETS", "CostModel", "Domain", "OutOfDomainWarning",
           "Prediction", "check_folds", "check_training", "cross_val_mape", "fit_cost_model",
           "fit_fixed", "fit_target", "make_model", "mape", "param_features", "r2"]
