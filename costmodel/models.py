"""Predictors of area, FPGA LUTs, delay and energy per operation, and how they are chosen.

:func:`make_model` builds one regressor per registered kind: gradient boosting
(``gbr``, ``gbr-large``), a random forest (``rf``), a physically-informed baseline
(``physical``: a non-negative linear model without intercept over gate-level counts, i.e.
cost ~ sum of c_k x gates of kind k, so that an empty design costs nothing) and boosting on top
of that baseline (``gbr-phys``: trees learn log(target / baseline), a correction that varies
far less with design size than the target itself, so small and large designs at the edge of
the data are not flattened onto their nearest leaf). The learned kinds fit log(target), so their
errors are relative, the way MAPE counts them. :func:`fit_cost_model`
picks a kind per target by k-fold cross-validation; the 90% prediction interval is
split-conformal: the 5% and 95% quantiles of the out-of-fold relative errors, per unit family.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from costmodel.features import FEATURES, PHYSICAL, FeatureSpec, param_features
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
INTERVAL = (0.05, 0.95)
MIN_CALIBRATION = 15
SEED = 0


@dataclass(frozen=True)
class ModelKind:
    """A registered model: its factory, features, and whether it fits log(target)."""

    name: str
    build: Callable[[int], Any]
    features: FeatureSpec
    log_target: bool
    description: str
    # fit log(target / physical baseline) with log(baseline) as an extra feature
    on_physical: bool = False


def _gbr(seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor

    # the classic (not histogram) booster: on a few hundred rows it fits ~4x faster
    return GradientBoostingRegressor(n_estimators=200, max_depth=4, learning_rate=0.12,
                                     subsample=0.9, random_state=seed)


def _gbr_large(seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor

    # more, deeper, slower-learning trees: pays off once the dataset has ~1000 designs
    return GradientBoostingRegressor(n_estimators=500, max_depth=5, learning_rate=0.06,
                                     subsample=0.8, random_state=seed)


def _rf(seed: int) -> Any:
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=120, min_samples_leaf=1, max_features=0.5,
                                 random_state=seed, n_jobs=1)


def _physical(seed: int) -> Any:
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # positive coefficients and no intercept: every gate adds cost, no gates cost nothing;
    # scaling keeps the coefficients comparable
    return make_pipeline(StandardScaler(with_mean=False),
                         LinearRegression(positive=True, fit_intercept=False))


MODEL_KINDS: dict[str, ModelKind] = {
    "gbr": ModelKind("gbr", _gbr, FEATURES, True, "gradient boosting on log(target)"),
    "gbr-large": ModelKind("gbr-large", _gbr_large, FEATURES, True,
                           "larger gradient boosting on log(target)"),
    "rf": ModelKind("rf", _rf, FEATURES, True, "random forest on log(target)"),
    "gbr-phys": ModelKind("gbr-phys", _gbr_large, FEATURES, True,
                          "gradient boosting of log(target / physical baseline)",
                          on_physical=True),
    "physical": ModelKind("physical", _physical, PHYSICAL, False,
                          "non-negative linear model over gate counts, no intercept"),
}


def make_model(kind: str, seed: int = SEED) -> Any:
    """A fresh, unfitted regressor of a registered kind."""
    if kind not in MODEL_KINDS:
        raise HwsimError(f"unknown model kind {kind!r}; known: {', '.join(MODEL_KINDS)}")
    return MODEL_KINDS[kind].build(seed)


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
    """One target's fitted point model and interval models (mutable only while fitting)."""

    target: str
    kind: str
    point: Any
    # family (or "*" for all) -> [lo, hi] quantiles of log(truth / prediction)
    bounds: Mapping[str, Sequence[float]]
    cv_mape: Mapping[str, float] = field(default_factory=dict)

    def predict(self, x_full: np.ndarray, names: Sequence[str]) -> np.ndarray:
        return _predict_kind(self.kind, self.point, x_full, names)

    def interval(self, x_full: np.ndarray, value: np.ndarray, names: Sequence[str]
                 ) -> tuple[np.ndarray, np.ndarray]:
        fam = _families(x_full, names)
        pooled = self.bounds["*"]
        table = np.array([self.bounds.get(u, pooled) for u in FAMILIES])
        return value * np.exp(table[fam, 0]), value * np.exp(table[fam, 1])


def _columns(spec: FeatureSpec, names: Sequence[str]) -> list[int]:
    index = {n: i for i, n in enumerate(names)}
    return [index[n] for n in spec.names]


def _fit_kind(kind: str, x_full: np.ndarray, y: np.ndarray, names: Sequence[str],
              seed: int) -> Any:
    """The fitted estimator; for an ``on_physical`` kind a dict {"base": ..., "boost": ...}."""
    k = MODEL_KINDS[kind]
    x = x_full[:, _columns(k.features, names)]
    if k.on_physical:
        base = _fit_kind("physical", x_full, y, names, seed)
        b = _predict_kind("physical", base, x_full, names)
        boost = make_model(kind, seed).fit(np.c_[x, np.log(b)], np.log(y / b))
        return {"base": base, "boost": boost}
    return make_model(kind, seed).fit(x, np.log(y) if k.log_target else y)


def _predict_kind(kind: str, est: Any, x_full: np.ndarray, names: Sequence[str]) -> np.ndarray:
    k = MODEL_KINDS[kind]
    x = x_full[:, _columns(k.features, names)]
    if k.on_physical:
        b = _predict_kind("physical", est["base"], x_full, names)
        return b * np.exp(est["boost"].predict(np.c_[x, np.log(b)]))
    p = est.predict(x)
    return np.exp(p) if k.log_target else np.maximum(p, 1e-9)


def cv_splitter(folds: int, seed: int, groups: np.ndarray | None) -> Any:
    """k-fold (shuffled), or, given ``groups``, group k-fold: every row of a group lands in
    the same fold, so no fold is scored on a design whose sibling it trained on."""
    from sklearn.model_selection import GroupKFold, KFold

    if groups is None:
        return KFold(folds, shuffle=True, random_state=seed)
    n = len(np.unique(groups))
    if not 2 <= folds <= n:
        raise HwsimError(f"folds must be an integer from 2 to {n} (the groups "
                         f"cross-validated), got {folds!r}")
    return GroupKFold(folds, shuffle=True, random_state=seed)


def cross_val_predict(kind: str, x: np.ndarray, y: np.ndarray, names: Sequence[str],
                      folds: int = 5, seed: int = SEED,
                      groups: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions of ``kind`` (k-fold, shuffled; group k-fold given ``groups``)."""
    preds = np.empty_like(y)
    for tr, te in cv_splitter(folds, seed, groups).split(x, y, groups):
        preds[te] = _predict_kind(kind, _fit_kind(kind, x[tr], y[tr], names, seed), x[te],
                                  names)
    return preds


def cross_val_mape(kind: str, x: np.ndarray, y: np.ndarray, names: Sequence[str],
                   folds: int = 5, seed: int = SEED) -> float:
    return mape(y, cross_val_predict(kind, x, y, names, folds, seed))


def _families(x: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Index into FAMILIES of each row, from the one-hot ``unit_*`` feature columns."""
    cols = [list(names).index(f"unit_{u}") for u in FAMILIES]
    return np.argmax(x[:, cols], axis=1)


def _interval_table(x: np.ndarray, y: np.ndarray, oof: np.ndarray, names: Sequence[str]
                    ) -> dict[str, list[float]]:
    """Split-conformal bounds: quantiles of log(y / out-of-fold prediction), per family.

    A family with fewer than MIN_CALIBRATION designs uses the pooled quantiles.
    """
    r = np.log(y / oof)
    lo_q, hi_q = INTERVAL
    table = {"*": [float(np.quantile(r, lo_q)), float(np.quantile(r, hi_q))]}
    fam = _families(x, names)
    for i, u in enumerate(FAMILIES):
        ri = r[fam == i]
        if len(ri) >= MIN_CALIBRATION:
            table[u] = [float(np.quantile(ri, lo_q)), float(np.quantile(ri, hi_q))]
    return table


def fit_target(target: str, x: np.ndarray, y: np.ndarray, names: Sequence[str], *,
               kinds: Sequence[str] = tuple(MODEL_KINDS), folds: int = 5,
               seed: int = SEED, groups: np.ndarray | None = None) -> FittedTarget:
    """Pick the kind with the lowest cross-validated MAPE (grouped CV given ``groups``), fit
    it, calibrate its interval."""
    y = np.maximum(np.asarray(y, dtype=float), 1e-9)
    oof = {k: cross_val_predict(k, x, y, names, folds, seed, groups) for k in kinds}
    scores = {k: mape(y, p) for k, p in oof.items()}
    best = min(scores, key=scores.__getitem__)
    bounds = _interval_table(x, y, oof[best], names)
    return FittedTarget(target, best, _fit_kind(best, x, y, names, seed), bounds, scores)


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
                  "nl_mult_bits", "nl_add_bits", "nl_reg_bits"):
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


@dataclass(frozen=True)
class CostModel:
    """Fitted predictors for every target plus their provenance."""

    targets: Mapping[str, FittedTarget]
    features: FeatureSpec
    domain: Domain
    meta: Mapping[str, Any]  # sklearn version, dataset hash, seed, rows, cv scores

    def predict_matrix(self, x: np.ndarray, targets: Sequence[str] | None = None,
                       interval: bool = True) -> dict[str, dict[str, np.ndarray]]:
        """Batch prediction from a feature matrix whose columns follow ``self.features``."""
        out: dict[str, dict[str, np.ndarray]] = {}
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
                       interval: bool = True) -> dict[str, dict[str, np.ndarray]]:
        """Batch prediction for design points; features are computed once per distinct point."""
        from costmodel.features import design_features

        uniq: dict[Any, int] = {}
        idx = np.fromiter((uniq.setdefault(p, len(uniq)) for p in points), dtype=np.int64,
                          count=len(points))
        feats = self.features.matrix([design_features(p) for p in uniq])
        res = self.predict_matrix(feats, targets, interval)
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


def fit_cost_model(df: Any, *, kinds: Sequence[str] = tuple(MODEL_KINDS), folds: int = 5,
                   seed: int = SEED, targets: Sequence[str] = tuple(TARGETS),
                   dataset_hash: str = "") -> CostModel:
    """Fit every target on a dataset DataFrame (columns of costmodel.dataset.SCHEMA)."""
    import sklearn

    check_training(len(df), folds)
    x = FEATURES.matrix(df)
    with single_thread():
        fitted = {t: fit_target(t, x, df[TARGETS[t]].to_numpy(float), FEATURES.names,
                                kinds=kinds, folds=folds, seed=seed) for t in targets}
    domain = Domain(units=tuple(sorted(df["unit"].unique())),
                    formats=tuple(sorted(df["format"].unique())),
                    lo={n: float(v) for n, v in zip(FEATURES.names, x.min(0), strict=True)},
                    hi={n: float(v) for n, v in zip(FEATURES.names, x.max(0), strict=True)})
    meta = {
        "format_version": 1,
        "sklearn_version": sklearn.__version__,
        "dataset_hash": dataset_hash,
        "rows": len(df),
        "seed": seed,
        "folds": folds,
        "feature_names": list(FEATURES.names),
        "targets": {t: {"column": TARGETS[t], "kind": f.kind,
                        "cv_mape": dict(f.cv_mape)} for t, f in fitted.items()},
        "interval": list(INTERVAL),
    }
    return CostModel(fitted, FEATURES, domain, meta)


def meta_json(model: CostModel) -> str:
    return json.dumps(model.meta, indent=2, sort_keys=True)


# keep param_features importable from here for callers that build query rows
__all__ = ["MIN_ROWS", "MODEL_KINDS", "TARGETS", "CostModel", "Domain", "OutOfDomainWarning",
           "Prediction", "check_folds", "check_training", "cross_val_mape", "fit_cost_model",
           "fit_target", "make_model", "mape", "param_features", "r2"]
