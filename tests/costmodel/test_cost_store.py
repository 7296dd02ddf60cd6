"""skops round trip; corrupt, foreign and tampered files give the project's error."""

from __future__ import annotations

import importlib
import inspect
import json
import shlex
import zipfile
from pathlib import Path

import numpy as np
import pytest

from costmodel.models import MODEL_KINDS, make_model
from costmodel.store import MAGIC, TRUSTED_TYPES, load_model, save_model, shipped_model_path
from hwsim.cli import main
from hwsim.errors import HwsimError


def test_round_trip_keeps_predictions(shipped_model, shipped_df, tmp_path):
    path = save_model(shipped_model, tmp_path / "m.skops")
    again = load_model(path)
    x = shipped_model.features.matrix(shipped_df.head(20))
    a, b = shipped_model.predict_matrix(x), again.predict_matrix(x)
    for t in a:
        np.testing.assert_allclose(a[t]["value"], b[t]["value"])
        np.testing.assert_allclose(a[t]["hi"], b[t]["hi"])
        assert again.targets[t].n_iter == shipped_model.targets[t].n_iter
    assert again.meta == shipped_model.meta


def test_corrupt_file(tmp_path):
    p = tmp_path / "bad.skops"
    p.write_bytes(b"PK\x03\x04 definitely not a model")
    with pytest.raises(HwsimError, match="corrupt"):
        load_model(p)


def test_missing_file(tmp_path):
    with pytest.raises(HwsimError, match="no cost model"):
        load_model(tmp_path / "none.skops")


def test_foreign_skops_files(tmp_path):
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    other = tmp_path / "other.skops"
    other.write_bytes(sio.dumps({"model": LinearRegression()}))
    with pytest.raises(HwsimError, match="not an hwsim cost model"):
        load_model(other)


def test_untrusted_types_are_refused(tmp_path):
    import fractions

    import skops.io as sio

    p = tmp_path / "evil.skops"
    p.write_bytes(sio.dumps({"x": fractions.Fraction(1, 3)}))
    with pytest.raises(HwsimError, match="refusing"):
        load_model(p)


# --------------------------------------------------------------------------------------------
# the allow-list, and tampered files that try to run code while loading
# --------------------------------------------------------------------------------------------
def test_shipped_model_needs_exactly_the_allow_list(shipped_model):
    """The allow-list is what skops reports for the shipped file: nothing more, nothing less
    (``shipped_model`` is that file loaded by load_model, which trusts only the list)."""
    import skops.io as sio

    data = shipped_model_path().read_bytes()
    assert sorted(sio.get_untrusted_types(data=data)) == list(TRUSTED_TYPES)
    assert list(TRUSTED_TYPES) == sorted(set(TRUSTED_TYPES))
    assert shipped_model.targets


def test_every_model_kind_needs_only_the_allow_list():
    """A model of any kind 'hwsim cost train' can pick must load under the same list."""
    import skops.io as sio

    from costmodel.store import _pack

    rng = np.random.default_rng(0)
    x, y = rng.random((30, 4)), 1 + rng.random(30)
    for kind in MODEL_KINDS:
        est = make_model(kind)
        if hasattr(est, "get_params") and "max_iter" in est.get_params():
            est.set_params(max_iter=3)  # the types do not depend on the number of trees
        data = sio.dumps({"est": _pack(est.fit(x, y))})
        assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES), kind


def _tampered_arrays(tmp_path: Path, edit) -> Path:
    """The shipped model re-saved with ``edit(obj)`` applied to its loaded (packed) content."""
    import skops.io as sio

    obj = sio.loads(shipped_model_path().read_bytes(), trusted=list(TRUSTED_TYPES))
    edit(obj)
    path = tmp_path / "tampered.skops"
    path.write_bytes(sio.dumps(obj))
    return path


def _set_node(field: str, value: int):
    def edit(obj):
        nodes = obj["targets"]["area"]["pruned"]["nodes"]
        split = np.flatnonzero(nodes["is_leaf"] == 0)[0]
        nodes[field][split] = value
    return edit


@pytest.mark.parametrize(("field", "value"), [("left", 0), ("right", 10**6),
                                              ("feature_idx", 10**4), ("is_categorical", 1)])
def test_malformed_tree_arrays_are_refused_before_any_prediction(field, value, tmp_path):
    """Tree arrays pointing back (a loop), past their tree, at a feature the model lacks, or at
    a categorical bitset would send scikit-learn's unchecked traversal astray: refused at load."""
    with pytest.raises(HwsimError, match="malformed"):
        load_model(_tampered_arrays(tmp_path, _set_node(field, value)))


def test_tree_arrays_that_are_not_arrays_are_refused(tmp_path):
    def edit(obj):
        obj["targets"]["area"]["pruned"]["sizes"] = [1, 2]
    with pytest.raises(HwsimError, match="not held in 1-D arrays"):
        load_model(_tampered_arrays(tmp_path, edit))


def test_network_arrays_of_the_wrong_shape_are_refused(shipped_model, tmp_path):
    nets = [t for t, f in shipped_model.targets.items() if f.kind == "mlp-phys"]
    assert nets, "the shipped model has no network to tamper with"

    def edit(obj):
        obj["targets"][nets[0]]["point"]["boost"]["__mlp__"]["w2"] = np.zeros((3, 2, 2))
    with pytest.raises(HwsimError, match="inconsistent shapes"):
        load_model(_tampered_arrays(tmp_path, edit))


@pytest.mark.parametrize("name", TRUSTED_TYPES)
def test_allow_list_holds_only_scikit_learn_classes(name):
    """Every entry is a scikit-learn class (a data holder), never a function, builtin or OS
    call: loading may instantiate it, which must not run anything a file chooses."""
    module, _, attr = name.rpartition(".")
    assert module.split(".")[0] == "sklearn"
    obj = getattr(importlib.import_module(module), attr)
    assert isinstance(obj, type) and not issubclass(obj, type)
    assert not (inspect.isfunction(obj) or inspect.isbuiltin(obj))


def _json_node(value) -> dict:
    return {"__class__": type(value).__name__, "__module__": "builtins",
            "__loader__": "JsonNode", "content": json.dumps(value), "is_json": True}


def _call_node(func: str, *args) -> dict:
    """A skops node that loading turns into the call ``func(*args)``."""
    module, _, name = func.rpartition(".")
    return {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode",
            "content": {"__class__": "tuple", "__module__": "builtins",
                        "__loader__": "TupleNode", "content": [_json_node(a) for a in args]}}


def _payloads(marker: Path) -> dict[str, dict]:
    m = str(marker)
    return {
        "builtins.exec": _call_node("builtins.exec", f"open({m!r}, 'w').write('ran')"),
        "builtins.eval": _call_node("builtins.eval", f"open({m!r}, 'w').write('ran')"),
        "os.system": _call_node("os.system", f"touch {shlex.quote(m)}"),
        "numpy.savetxt": _call_node("numpy.savetxt", m, [1.0]),
        "scipy.io.savemat": {**_call_node("scipy.io.savemat", m),
                             "content": {"__class__": "tuple", "__module__": "builtins",
                                         "__loader__": "TupleNode",
                                         "content": [_json_node(m), _empty_dict_node()]}},
    }


def _empty_dict_node() -> dict:
    return {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
            "content": {}, "key_types": {"__class__": "list", "__module__": "builtins",
                                         "__loader__": "ListNode", "content": []}}


@pytest.fixture(scope="module")
def small_model_file(tmp_path_factory) -> Path:
    """A small file shaped like a cost model (magic entry, fitted trees): the shipped one takes
    ~10 s per audit, and the refusal comes before anything looks at the content."""
    import skops.io as sio
    from sklearn.tree import DecisionTreeRegressor

    tree = DecisionTreeRegressor(max_depth=2).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    path = tmp_path_factory.mktemp("model") / "small.skops"
    path.write_bytes(sio.dumps({"magic": MAGIC, "format_version": 1, "targets": {"area": tree}}))
    return path


def _tampered_copy(src: Path, dst: Path, payload: dict) -> Path:
    """``src`` with its ``magic`` entry replaced by ``payload`` in schema.json."""
    zin = zipfile.ZipFile(src)
    schema = json.loads(zin.read("schema.json"))
    assert "magic" in schema["content"]
    schema["content"]["magic"] = payload
    with zipfile.ZipFile(dst, "w") as out:
        for item in zin.infolist():
            body = json.dumps(schema) if item.filename == "schema.json" else zin.read(item)
            out.writestr(item, body)
    return dst


PAYLOADS = ("builtins.exec", "builtins.eval", "os.system", "numpy.savetxt", "scipy.io.savemat")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tampered_model_is_refused_without_running_it(payload, small_model_file, tmp_path):
    marker = tmp_path / "pwned"
    path = _tampered_copy(small_model_file, tmp_path / "evil.skops", _payloads(marker)[payload])
    with pytest.raises(HwsimError, match="refusing") as err:
        load_model(path)
    assert payload in str(err.value)
    assert not marker.exists()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_cli_refuses_tampered_model_in_one_line(payload, small_model_file, tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = _tampered_copy(small_model_file, tmp_path / "evil.skops", _payloads(marker)[payload])
    argv = ["cost", "predict", "lmul", "--format", "fp8_e4m3fn", "--model", str(path)]
    assert main(argv) == 2
    assert not marker.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and payload in err[0]
