"""skops round trip; corrupt and foreign files give the project's error."""

from __future__ import annotations

import numpy as np
import pytest

from costmodel.store import load_model, save_model
from hwsim.errors import HwsimError


def test_round_trip_keeps_predictions(shipped_model, shipped_df, tmp_path):
    path = save_model(shipped_model, tmp_path / "m.skops")
    again = load_model(path)
    x = shipped_model.features.matrix(shipped_df.head(20))
    a, b = shipped_model.predict_matrix(x), again.predict_matrix(x)
    for t in a:
        np.testing.assert_allclose(a[t]["value"], b[t]["value"])
        np.testing.assert_allclose(a[t]["hi"], b[t]["hi"])
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
