from __future__ import annotations

import numpy as np
import pytest

from hwsim.numerics import (
    HwsimError,
    max_relative_error,
    mean_relative_error,
    quantize,
    sqnr_db,
    ulp_error,
)


def test_sqnr_known_values() -> None:
    ref = np.array([1.0, -1.0, 1.0, -1.0])
    assert sqnr_db(ref, ref * 0.9) == pytest.approx(20.0)  # noise = signal / 100
    assert sqnr_db(ref, ref) == float("inf")
    # a uniform quantiser of step d on data spread over many steps has noise ~ d^2 / 12
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, 200_000)
    d = 2.0**-8
    q = np.round(x / d) * d
    assert sqnr_db(x, q) == pytest.approx(10 * np.log10((1 / 3) / (d**2 / 12)), abs=0.05)


def test_relative_errors_skip_zero_reference() -> None:
    assert mean_relative_error([0.0, 2.0, 4.0], [1.0, 1.0, 5.0]) == pytest.approx(0.375)
    assert max_relative_error([2.0, 4.0], [1.0, 5.0]) == 0.5


def test_rne_is_within_half_ulp() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(100_000) * 10
    u = ulp_error(x, quantize(x, "fp8_e5m2").astype(np.float64), "fp8_e5m2")
    assert u.max() <= 0.5 and u.max() > 0.45


def test_errors() -> None:
    with pytest.raises(HwsimError, match="shape"):
        sqnr_db(np.ones(3), np.ones(4))
    with pytest.raises(HwsimError, match="at least one"):
        sqnr_db([], [])
    with pytest.raises(HwsimError, match="finite"):
        sqnr_db([1.0], [np.nan])
