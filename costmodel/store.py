"""Saving and loading a :class:`costmodel.models.CostModel`: numbers and text only, never
pickle, never an object a file names.

The file is a numpy ``.npz`` archive (a zip of ``.npy`` arrays), read with
``allow_pickle=False``: its ``header`` member is the model's structure as UTF-8 JSON (the
provenance, feature names, training domain, per target its kind, interval bounds and
cross-validated errors), in which every fitted estimator is a tagged reference to its arrays
(:data:`PACKED`: the numpy types of :mod:`costmodel.predictors` and the networks). Loading
builds only those types, each from arrays it checks first (shapes, indices, finiteness), so a
file can choose numbers, never code: an object array is refused by numpy itself, an unknown
tag or a missing array by :func:`load_model`, all with the project's error.

Why not ``skops`` (what the model used before): importing ``skops.io`` imports scikit-learn
and walks its modules, PyTorch included where installed, 2-10 s of CPU on this project's
machines, far above the 1 s a model may take to load; the fitted state is plain arrays anyway,
and an archive read without pickle needs no list of trusted types at all.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.data import shipped_path
from costmodel.features import FEATURES, FeatureSpec
from costmodel.mlp import MLPEnsemble
from costmodel.models import TARGETS, CostModel, Domain, FittedTarget, check_fitted
from costmodel.predictors import Linear, Trees
from hwsim.errors import HwsimError
from hwsim.io import atomic_write_bytes

MAGIC = "hwsim-costmodel"
FORMAT_VERSION = 3
#: the archive member holding the JSON structure
HEADER = "header"
#: tag in the JSON structure -> the type rebuilt from the arrays under it (exact names)
PACKED: dict[str, type] = {"__linear__": Linear, "__trees__": Trees, "__mlp__": MLPEnsemble}
#: tag of a reference to one array of the archive
ARRAY = "__array__"


def dataset_hash(path: str | Path) -> str:
    """SHA-256 (first 16 hex digits) of a dataset file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _pack(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """``obj`` as JSON-able structure, its arrays moved into ``arrays`` (named ``a0``, ``a1``,
    ...) and referenced by name."""
    if isinstance(obj, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {ARRAY: name}
    for tag, cls in PACKED.items():
        if isinstance(obj, cls):
            return {tag: _pack(obj.arrays(), arrays)}
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise HwsimError("a cost model's mappings are keyed by text")
        return {k: _pack(v, arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_pack(v, arrays) for v in obj]
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    raise HwsimError(f"a cost model cannot hold a {type(obj).__name__}")


def _unpack(node: Any, arrays: Any) -> Any:
    """The inverse of :func:`_pack` (``arrays``: the open archive)."""
    if isinstance(node, list):
        return [_unpack(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and ARRAY in node:
        name = node[ARRAY]
        if not isinstance(name, str) or name == HEADER or name not in arrays.files:
            raise ValueError(f"the model refers to an array it lacks ({name!r})")
        return arrays[name]  # allow_pickle=False: an object array raises ValueError here
    if len(node) == 1 and next(iter(node)) in PACKED:
        tag, content = next(iter(node.items()))
        parts = _unpack(content, arrays)
        if not isinstance(parts, dict):
            raise ValueError(f"{tag} holds no arrays")
        return PACKED[tag].from_arrays(parts)
    return {k: _unpack(v, arrays) for k, v in node.items()}


def save_model(model: CostModel, path: str | Path) -> Path:
    """Write ``model`` to ``path`` (a numpy ``.npz`` archive, atomically)."""
    arrays: dict[str, np.ndarray] = {}
    tree = {
        "magic": MAGIC,
        "format_version": FORMAT_VERSION,
        "meta": dict(model.meta),
        "feature_names": list(model.features.names),
        "domain": {"units": list(model.domain.units), "formats": list(model.domain.formats),
                   "lo": dict(model.domain.lo), "hi": dict(model.domain.hi)},
        "targets": {t: {"kind": f.kind, "point": f.point,
                        "bounds": {k: list(v) for k, v in f.bounds.items()},
                        "cv_mape": dict(f.cv_mape), "reg_cost": float(f.reg_cost),
                        "pruned": f.pruned, "n_iter": int(f.n_iter)}
                    for t, f in model.targets.items()},
    }
    header = json.dumps(_pack(tree, arrays), sort_keys=True).encode()
    buf = io.BytesIO()
    np.savez_compressed(buf, **{HEADER: np.frombuffer(header, dtype=np.uint8)}, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def load_model(path: str | Path) -> CostModel:
    """Read a model written by :func:`save_model`; a corrupt, foreign or tampered file raises
    HwsimError before any estimator is built from it."""
    p = Path(path)
    if not p.is_file():
        raise HwsimError(f"no cost model at {p}; train one with 'hwsim cost train'")
    try:
        archive = np.load(io.BytesIO(p.read_bytes()), allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise HwsimError(f"{p} {_what(exc, 'is not a readable cost-model file')}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise HwsimError(f"{p} is a single numpy array, not an hwsim cost model")
    with archive:
        if "schema.json" in archive.zip.namelist():
            raise HwsimError(f"{p} is a skops archive (a cost model saved before format "
                             f"{FORMAT_VERSION}, or a foreign file); it is not read: retrain "
                             f"with 'hwsim cost train'")
        tree = _header(p, archive)
        try:
            meta = tree["meta"]
            feats = FeatureSpec(tuple(map(str, tree["feature_names"])))
            d = tree["domain"]
            domain = Domain(tuple(d["units"]), tuple(d["formats"]), dict(d["lo"]),
                            dict(d["hi"]))
            targets = {t: FittedTarget(t, v["kind"], _unpack(v["point"], archive),
                                       {k: list(b) for k, b in v["bounds"].items()},
                                       dict(v["cv_mape"]), float(v["reg_cost"]),
                                       _unpack(v["pruned"], archive), int(v["n_iter"]))
                       for t, v in tree["targets"].items()}
            model = CostModel(targets, feats, domain, meta)
            _check(model)
        except (KeyError, TypeError, AttributeError) as exc:
            raise HwsimError(f"{p} is an incomplete cost model: {exc!r}") from exc
        except (ValueError, RecursionError, IndexError, MemoryError) as exc:
            raise HwsimError(f"{p} {_what(exc, 'is malformed')}") from exc
    # a family added since training adds a one-hot feature the model ignores; any other
    # feature this version does not compute means the model is from another feature set
    unknown = [n for n in feats.names if n not in FEATURES.names]
    if unknown:
        raise HwsimError(f"{p} was trained on features this version does not compute "
                         f"({', '.join(unknown[:5])}); retrain with 'hwsim cost train'")
    return model


def _check(model: CostModel) -> None:
    """Raise ValueError unless every target's estimators have the structure of its kind and
    predict the training domain's corners (so that no shape a file chose fails later)."""
    names = model.features.names
    if set(model.domain.lo) != set(names) or set(model.domain.hi) != set(names) \
            or set(model.targets) - set(TARGETS):
        raise ValueError("the model's features, domain and targets do not match")
    for f in model.targets.values():
        check_fitted(f.kind, f.point)
        if f.pruned is not None and not isinstance(f.pruned, Trees):
            raise ValueError("the pruned-register model is not a set of trees")
    corners = np.array([[model.domain.lo[n] for n in names], [model.domain.hi[n] for n in names]])
    for t, r in model.predict_matrix(corners).items():
        if not all(np.all(np.isfinite(v)) for v in r.values()):
            raise ValueError(f"the {t} model predicts a non-finite value in its domain")


def _header(p: Path, archive: Any) -> dict:
    """The archive's JSON structure, its magic and format version checked."""
    try:
        raw = archive[HEADER]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("the header is not a byte string")
        tree = json.loads(raw.tobytes().decode("utf-8"))
    except KeyError as exc:
        raise HwsimError(f"{p} is a numpy archive but not an hwsim cost model (no "
                         f"{HEADER!r} member)") from exc
    except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
        raise HwsimError(f"{p} {_what(exc, 'has an unreadable header')}") from exc
    if not isinstance(tree, dict) or tree.get("magic") != MAGIC:
        raise HwsimError(f"{p} is a numpy archive but not an hwsim cost model")
    if tree.get("format_version") != FORMAT_VERSION:
        raise HwsimError(f"{p} has cost-model format {tree.get('format_version')!r}; this "
                         f"version reads format {FORMAT_VERSION}: retrain with 'hwsim cost train'")
    return tree


def _what(exc: BaseException, otherwise: str) -> str:
    """What a load error says: a pickled object (numpy refuses it) or ``otherwise``."""
    if "allow_pickle" in str(exc):
        return "holds a pickled object, refused: a cost model holds numbers only (tampered?)"
    return f"{otherwise}: {exc!r} (tampered or corrupt)"


def shipped_model_path() -> Path:
    return shipped_path("model.npz")
