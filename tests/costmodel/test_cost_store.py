"""Model files: a round trip keeps predictions; corrupt, foreign and tampered files give the
project's error, and none runs code while it is read."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from costmodel.store import HEADER, load_model, save_model, shipped_model_path
from hwsim.cli import main
from hwsim.errors import HwsimError

ROOT = Path(__file__).parents[2]


def test_round_trip_keeps_predictions(shipped_model, shipped_df, tmp_path):
    path = save_model(shipped_model, tmp_path / "m.npz")
    again = load_model(path)
    x = shipped_model.features.matrix(shipped_df.head(20))
    a, b = shipped_model.predict_matrix(x), again.predict_matrix(x)
    for t in a:
        np.testing.assert_array_equal(a[t]["value"], b[t]["value"])
        np.testing.assert_array_equal(a[t]["hi"], b[t]["hi"])
        assert again.targets[t].n_iter == shipped_model.targets[t].n_iter
    assert again.meta == shipped_model.meta


def test_a_model_saved_under_any_name_is_read(shipped_model, tmp_path):
    """numpy appends .npz to a path without it; save_model writes the path it is given."""
    path = save_model(shipped_model, tmp_path / "model.bin")
    assert path == tmp_path / "model.bin" and path.is_file()
    assert load_model(path).targets.keys() == shipped_model.targets.keys()


def test_loading_imports_neither_scikit_learn_nor_pytorch():
    """Predicting from a saved model is numpy alone: scikit-learn (and PyTorch, which its
    module walk imports where installed) would take longer than the 1 s load budget."""
    code = ("import sys; from costmodel.store import load_model, shipped_model_path; "
            "m = load_model(shipped_model_path()); import numpy as np; "
            "m.predict_matrix(np.array([[m.domain.lo[n] for n in m.features.names]])); "
            "print(sorted(k for k in ('sklearn', 'skops', 'scipy', 'torch', 'pandas') "
            "if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout.strip()
    assert out == "[]"


# --------------------------------------------------------------------------------------------
# files that are not a cost model
# --------------------------------------------------------------------------------------------
def test_corrupt_file(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"PK\x03\x04 definitely not a model")
    with pytest.raises(HwsimError, match="corrupt"):
        load_model(p)


def test_missing_file(tmp_path):
    with pytest.raises(HwsimError, match="no cost model"):
        load_model(tmp_path / "none.npz")


def test_foreign_numpy_files(tmp_path):
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.ones(3))
    with pytest.raises(HwsimError, match="not an hwsim cost model"):
        load_model(other)
    single = tmp_path / "single.npy"
    np.save(single, np.ones(3))
    with pytest.raises(HwsimError, match="single numpy array"):
        load_model(single)


def test_a_skops_archive_is_named_and_not_read(tmp_path):
    """A model saved by an earlier version (skops) is refused with what to do instead."""
    p = tmp_path / "old.skops"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("schema.json", json.dumps({"__class__": "dict"}))
    with pytest.raises(HwsimError, match="skops archive.*retrain"):
        load_model(p)


# --------------------------------------------------------------------------------------------
# tampered files: the shipped model's archive with one member or header entry changed
# --------------------------------------------------------------------------------------------
def _members() -> dict[str, np.ndarray]:
    with np.load(shipped_model_path(), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _header(members: dict[str, np.ndarray]) -> dict:
    return json.loads(members[HEADER].tobytes())


def _write(path: Path, members: dict[str, np.ndarray], header: dict | None = None,
           allow_pickle: bool = False) -> Path:
    if header is not None:
        members = {**members, HEADER: np.frombuffer(json.dumps(header).encode(), np.uint8)}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, arr in members.items():
            npy = io.BytesIO()
            np.save(npy, arr, allow_pickle=allow_pickle)
            zf.writestr(f"{name}.npy", npy.getvalue())
    path.write_bytes(buf.getvalue())
    return path


def _ref(node, tag: str) -> dict:
    """The first ``tag`` entry (e.g. ``__trees__``) found in a header, depth first."""
    if isinstance(node, dict):
        if tag in node:
            return node[tag]
        for v in node.values():
            if (hit := _ref(v, tag)) is not None:
                return hit
    return None


class _Payload:
    """An object whose unpickling writes a marker file (what a malicious model would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('ran')",))


def _evil(tmp_path: Path, marker: Path) -> Path:
    """The shipped model with one network array replaced by a pickled object array."""
    members = _members()
    name = _ref(_header(members), "__mlp__")["w2"]["__array__"]
    members[name] = np.array([_Payload(marker)], dtype=object)
    return _write(tmp_path / "evil.npz", members, allow_pickle=True)


def test_the_payload_would_run_if_unpickled(tmp_path):
    """The tampered file below is real: reading it with pickle allowed runs its code."""
    marker = tmp_path / "pwned"
    with np.load(_evil(tmp_path, marker), allow_pickle=True) as z:
        for k in z.files:
            z[k]
    assert marker.read_text() == "ran"


def test_a_pickled_object_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(HwsimError, match="pickled object, refused"):
        load_model(_evil(tmp_path, marker))
    assert not marker.exists()


def test_cli_refuses_a_pickled_object_in_one_line(tmp_path, capsys):
    marker = tmp_path / "pwned"
    argv = ["cost", "predict", "lmul", "--format", "fp8_e4m3fn", "--model",
            str(_evil(tmp_path, marker))]
    assert main(argv) == 2
    assert not marker.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "pickled object" in err[0]


def _tampered_trees(tmp_path: Path, field: str, value) -> Path:
    """The shipped model with ``field`` of the first split node (of the first leaf, for the
    leaf ``value``) of its first trees set to ``value``."""
    members = _members()
    trees = _ref(_header(members), "__trees__")
    name = trees[field]["__array__"]
    arr = members[name].copy()
    leaf = members[trees["leaf"]["__array__"]] != 0
    arr[np.flatnonzero(leaf if field == "value" else ~leaf)[0]] = value
    members[name] = arr
    return _write(tmp_path / "tampered.npz", members)


@pytest.mark.parametrize(("field", "value"), [("left", 0), ("right", 10**6),
                                              ("feature", 10**4), ("value", np.nan)])
def test_malformed_tree_arrays_are_refused(field, value, tmp_path):
    """A split pointing back (a loop) or past its tree, at a feature the model lacks, or a
    leaf worth NaN: refused at load."""
    with pytest.raises(HwsimError, match="malformed"):
        load_model(_tampered_trees(tmp_path, field, value))


HEADER_EDITS = {
    "unknown tag": lambda h: h["targets"]["area"].__setitem__("point", {"__reduce__": [1]}),
    "missing array": lambda h: _ref(h, "__mlp__")["w1"].__setitem__("__array__", "a_none"),
    "header as an array": lambda h: _ref(h, "__mlp__")["w1"].__setitem__("__array__", HEADER),
    "unknown kind": lambda h: h["targets"]["area"].__setitem__("kind", "magic"),
    "another kind's estimator": lambda h: h["targets"]["area"].__setitem__("kind", "hgb"),
    "unknown target": lambda h: h["targets"].__setitem__("volume", h["targets"]["area"]),
    "feature without a range": lambda h: h["domain"]["lo"].pop(h["feature_names"][0]),
}


@pytest.mark.parametrize("edit", sorted(HEADER_EDITS))
def test_header_edits_are_refused(edit, tmp_path):
    members = _members()
    header = _header(members)
    HEADER_EDITS[edit](header)
    with pytest.raises(HwsimError, match="malformed|incomplete"):
        load_model(_write(tmp_path / "edited.npz", members, header))


def test_network_arrays_of_the_wrong_shape_are_refused(tmp_path):
    members = _members()
    name = _ref(_header(members), "__mlp__")["w2"]["__array__"]
    members[name] = np.zeros((3, 2, 2), dtype=np.float32)
    with pytest.raises(HwsimError, match="inconsistent shapes"):
        load_model(_write(tmp_path / "tampered.npz", members))


def test_a_text_array_is_refused(tmp_path):
    members = _members()
    name = _ref(_header(members), "__linear__")["coef"]["__array__"]
    members[name] = np.array(["1.0"] * len(members[name]))
    with pytest.raises(HwsimError, match="not a numeric array"):
        load_model(_write(tmp_path / "tampered.npz", members))


def test_another_format_version_is_refused(tmp_path):
    members = _members()
    header = _header(members)
    header["format_version"] = 2
    with pytest.raises(HwsimError, match="format 2.*retrain"):
        load_model(_write(tmp_path / "old.npz", members, header))
