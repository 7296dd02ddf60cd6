"""Saving and loading a :class:`costmodel.models.CostModel` with ``skops`` (never pickle).

The file holds the fitted scikit-learn estimators plus plain containers: the provenance (a JSON
string with the scikit-learn version, feature names, dataset hash and seed), the feature names
and the training domain. Loading trusts skops' own safe defaults plus exactly the types in
:data:`TRUSTED_TYPES`; any other type means a foreign or tampered file, and an unreadable
archive means a corrupt one; both raise the project's error before anything is constructed.
"""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.data import shipped_path
from costmodel.features import FEATURES, FeatureSpec
from costmodel.models import CostModel, Domain, FittedTarget
from hwsim.errors import HwsimError
from hwsim.io import atomic_write_bytes

MAGIC = "hwsim-costmodel"
FORMAT_VERSION = 2
#: The types beyond skops' defaults that a cost model holds: exactly what
#: ``skops.io.get_untrusted_types`` reports for the shipped costmodel/data/model.skops (and for a
#: fitted estimator of every kind in ``costmodel.models.MODEL_KINDS``), sorted: none, since the
#: boosted trees and the networks are stored as plain arrays (:func:`_pack`). Never a prefix:
#: ``builtins.``, ``numpy.`` or ``scipy.`` would admit ``exec``, ``eval`` or ``numpy.save``.
TRUSTED_TYPES: tuple[str, ...] = ()


#: The scikit-learn estimator classes a cost model holds (costmodel.models.MODEL_KINDS):
#: module -> class names. See :func:`_skops_io`.
MODEL_ESTIMATORS = {
    "sklearn.ensemble": ("HistGradientBoostingRegressor",),
    "sklearn.linear_model": ("LinearRegression",),
    "sklearn.pipeline": ("Pipeline",),
    "sklearn.preprocessing": ("StandardScaler",),
}


def _model_estimators(type_filter: Any = None) -> list[tuple[str, type]]:
    """``sklearn.utils.all_estimators`` narrowed to :data:`MODEL_ESTIMATORS`."""
    import importlib

    return [(n, getattr(importlib.import_module(m), n))
            for m, names in MODEL_ESTIMATORS.items() for n in names]


def _skops_io() -> Any:
    """``skops.io``, imported so that it does not import every scikit-learn module.

    Importing ``skops.io`` (0.16) computes its default trusted types from
    ``sklearn.utils.all_estimators()``, which walks and imports every scikit-learn module; the
    walk imports ``sklearn.externals.array_api_compat.torch`` and with it PyTorch where it is
    installed. Measured here (CPU seconds, shared 2-core machine): scikit-learn 2.6, PyTorch
    3.2, the walk 2.3; with the walk narrowed 1.1. So, when this process has not imported
    ``skops.io`` yet, the walk is narrowed to the estimator classes a cost model holds
    (:data:`MODEL_ESTIMATORS`) for the duration of the import: skops' default trust then names
    those classes instead of every estimator, which admits nothing a full import would not.
    Loading still goes through ``skops.io.loads`` with the explicit :data:`TRUSTED_TYPES`."""
    import sys

    if "skops.io" not in sys.modules:
        try:
            import sklearn.utils
        except ImportError as exc:  # pragma: no cover - a dependency of the cost model
            raise HwsimError("the cost model needs scikit-learn: pip install scikit-learn") \
                from exc
        full = sklearn.utils.all_estimators
        sklearn.utils.all_estimators = _model_estimators
        try:
            import skops.io  # noqa: F401
        except ImportError as exc:  # pragma: no cover - skops is a dependency
            raise HwsimError("the cost model needs skops: pip install skops") from exc
        finally:
            sklearn.utils.all_estimators = full
    return sys.modules["skops.io"]


def dataset_hash(path: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of a dataset file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _pack(est: Any) -> Any:
    """``est`` with the trees of every histogram gradient booster in it moved into three
    arrays (all nodes, all bitsets, the node count of each tree): skops then reads a few arrays
    instead of thousands of small objects (a model loads in milliseconds, not seconds)."""
    import copy

    from sklearn.ensemble import HistGradientBoostingRegressor

    from costmodel.mlp import MLPEnsemble

    if isinstance(est, dict):
        return {k: _pack(v) for k, v in est.items()}
    if isinstance(est, MLPEnsemble):
        return {"__mlp__": est.arrays()}
    if not isinstance(est, HistGradientBoostingRegressor):
        return est
    trees = [p for it in est._predictors for p in it]
    if any(len(it) != 1 for it in est._predictors):
        raise HwsimError("a cost model's boosters are regressors: one tree per iteration")
    shell = copy.copy(est)
    shell._predictors = []
    return {"__hgb__": shell,
            "nodes": np.concatenate([t.nodes for t in trees]),
            "sizes": np.array([len(t.nodes) for t in trees], dtype=np.int64),
            "binned": np.concatenate([t.binned_left_cat_bitsets for t in trees]),
            "raw": np.concatenate([t.raw_left_cat_bitsets for t in trees]),
            "bitset_sizes": np.array([len(t.raw_left_cat_bitsets) for t in trees],
                                     dtype=np.int64)}


def _unpack(obj: Any) -> Any:
    """The inverse of :func:`_pack`."""
    if not isinstance(obj, dict):
        return obj
    if "__mlp__" in obj:
        from costmodel.mlp import MLPEnsemble

        return MLPEnsemble.from_arrays(obj["__mlp__"])
    if "__hgb__" not in obj:
        return {k: _unpack(v) for k, v in obj.items()}
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    est = obj["__hgb__"]
    _check_trees(est, obj["nodes"], obj["sizes"], obj["bitset_sizes"])
    ends = np.cumsum(obj["sizes"])
    bends = np.cumsum(obj["bitset_sizes"])
    est._predictors = [
        [TreePredictor(obj["nodes"][e - n:e], obj["binned"][be - bn:be], obj["raw"][be - bn:be])]
        for n, e, bn, be in zip(obj["sizes"], ends, obj["bitset_sizes"], bends, strict=True)]
    return est


def _check_trees(est: Any, nodes: np.ndarray, sizes: np.ndarray, bitset_sizes: np.ndarray
                 ) -> None:
    """Refuse tree arrays that scikit-learn's traversal, which does not check bounds, could
    follow out of its arrays or round in a loop (the reason skops does not trust
    ``TreePredictor``: a crafted file could crash the process at the first prediction). A
    booster saved by :func:`save_model` numbers every split node's children after it within its
    own tree, splits on a feature the estimator has, and has no categorical split."""
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE

    arrays = (nodes, sizes, bitset_sizes)
    if not all(isinstance(a, np.ndarray) and a.ndim == 1 for a in arrays):
        raise HwsimError("a boosted tree in the model file is not held in 1-D arrays: tampered "
                         "or corrupt")
    ok = (nodes.dtype == PREDICTOR_RECORD_DTYPE and len(sizes) > 0
          and bool(np.all(sizes >= 1)) and int(sizes.sum()) == len(nodes)
          and len(bitset_sizes) == len(sizes) and not np.any(bitset_sizes))
    if ok:
        start = np.repeat(np.cumsum(sizes) - sizes, sizes)
        local, end = np.arange(len(nodes)) - start, np.repeat(sizes, sizes)
        split = nodes["is_leaf"] == 0
        n_feat = int(getattr(est, "n_features_in_", 0))
        ok = all(bool(np.all((nodes[c][split] > local[split]) & (nodes[c][split] < end[split])))
                 for c in ("left", "right")) and bool(
            np.all((nodes["feature_idx"][split] >= 0) & (nodes["feature_idx"][split] < n_feat))
            and not np.any(nodes["is_categorical"]))
    if not ok:
        raise HwsimError("a boosted tree in the model file is malformed (children out of its "
                         "tree, a feature the model lacks, or a categorical split): tampered "
                         "or corrupt")


def save_model(model: CostModel, path: str | Path) -> Path:
    """Write ``model`` to ``path`` (skops format, atomically)."""
    sio = _skops_io()
    obj = {
        "magic": MAGIC,
        "format_version": FORMAT_VERSION,
        "meta_json": json.dumps(dict(model.meta), sort_keys=True),
        "feature_names": list(model.features.names),
        "domain": {"units": list(model.domain.units), "formats": list(model.domain.formats),
                   "lo": dict(model.domain.lo), "hi": dict(model.domain.hi)},
        "targets": {t: {"kind": f.kind, "point": _pack(f.point),
                        "bounds": {k: list(v) for k, v in f.bounds.items()},
                        "cv_mape": dict(f.cv_mape), "reg_cost": float(f.reg_cost),
                        "pruned": _pack(f.pruned), "n_iter": int(f.n_iter)}
                    for t, f in model.targets.items()},
    }
    # deflate: a few hundred small tree arrays compress ~10x
    return atomic_write_bytes(path, sio.dumps(obj, compression=zipfile.ZIP_DEFLATED,
                                              compresslevel=9))


def load_model(path: str | Path) -> CostModel:
    """Read a model written by :func:`save_model`; a corrupt or foreign file raises HwsimError."""
    import sklearn  # lazy: ~1 s to import, and only loading a model needs it

    sio = _skops_io()
    p = Path(path)
    if not p.is_file():
        raise HwsimError(f"no cost model at {p}; train one with 'hwsim cost train'")
    data = p.read_bytes()
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:  # noqa: BLE001  (zip, JSON and schema errors all mean corrupt)
        raise HwsimError(f"{p} is not a readable skops file (corrupt?): {exc}") from exc
    foreign = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if foreign:
        raise HwsimError(f"{p} contains types a cost model never holds: {', '.join(foreign)}; "
                         f"refusing to load it (allowed beyond skops' safe defaults: "
                         f"{', '.join(TRUSTED_TYPES)})")
    try:
        obj = sio.loads(data, trusted=list(TRUSTED_TYPES))
    except Exception as exc:  # noqa: BLE001
        raise HwsimError(f"{p} could not be loaded (corrupt?): {exc}") from exc
    if not isinstance(obj, dict) or obj.get("magic") != MAGIC:
        raise HwsimError(f"{p} is a skops file but not an hwsim cost model")
    if obj.get("format_version") != FORMAT_VERSION:
        raise HwsimError(f"{p} has cost-model format {obj.get('format_version')!r}; this "
                         f"version reads format {FORMAT_VERSION}: retrain with 'hwsim cost train'")
    try:
        meta = json.loads(obj["meta_json"])
        feats = FeatureSpec(tuple(obj["feature_names"]))
        d = obj["domain"]
        domain = Domain(tuple(d["units"]), tuple(d["formats"]), dict(d["lo"]), dict(d["hi"]))
        targets = {t: FittedTarget(t, v["kind"], _unpack(v["point"]),
                                   {k: list(b) for k, b in v["bounds"].items()},
                                   dict(v["cv_mape"]), float(v["reg_cost"]),
                                   _unpack(v["pruned"]), int(v.get("n_iter", 0)))
                   for t, v in obj["targets"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise HwsimError(f"{p} is an incomplete cost model: {exc}") from exc
    except HwsimError as exc:
        raise HwsimError(f"{p}: {exc}") from exc
    # a family added since training adds a one-hot feature the model ignores; any other
    # feature this version does not compute means the model is from another feature set
    unknown = [n for n in feats.names if n not in FEATURES.names]
    if unknown:
        raise HwsimError(f"{p} was trained on features this version does not compute "
                         f"({', '.join(unknown[:5])}); retrain with 'hwsim cost train'")
    if meta.get("sklearn_version") != sklearn.__version__:
        warnings.warn(f"{p} was saved with scikit-learn {meta.get('sklearn_version')}, "
                      f"running {sklearn.__version__}: predictions may differ slightly",
                      UserWarning, stacklevel=2)
    return CostModel(targets, feats, domain, meta)


def shipped_model_path() -> Path:
    return shipped_path("model.skops")
