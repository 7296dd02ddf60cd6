"""The integer baselines: reference semantics, parameters and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from hwsim.errors import HwsimError
from rtl.unit import build_unit


def _codes(values, bits):
    return (np.asarray(values, dtype=np.int64).astype(np.uint64)
            & np.uint64((1 << bits) - 1))


def test_int_mul_reference_is_signed() -> None:
    unit = build_unit("int-mul", format="int8")
    a = _codes([-128, -128, 127, -1, 5], 8)
    b = _codes([-128, 127, 127, -1, -7], 8)
    want = _codes([16384, -16256, 16129, 1, -35], 16)
    assert np.array_equal(unit.reference({"a": a, "b": b}), want)
    assert (unit.name, unit.latency, unit.outputs["y"]) == ("int_mul_int8_p0", 0, 16)


def test_int_mac_reference_accumulates_and_wraps() -> None:
    unit = build_unit("int-mac", format="int4", acc=8)
    a = _codes([7, 7, -8, -8, 7], 4)
    b = _codes([7, 7, -8, -8, 7], 4)
    # 49, 98, 162 -> wraps to -94 (8 bits), then -30, then 19
    want = _codes([49, 98, 162, 226, 275], 8)
    assert np.array_equal(unit.reference({"a": a, "b": b}), want)
    assert unit.stateful and unit.has_reset and unit.latency == 1


def test_defaults_and_latency() -> None:
    unit = build_unit("int-mac", format="int8", pipeline=2)
    assert unit.outputs["y"] == 32 and unit.latency == 3
    assert unit.params == {"format": "int8", "pipeline": 2, "acc": 32}
    assert build_unit("int-mac", format="int8", acc="int40").outputs["y"] == 40


@pytest.mark.parametrize(("kw", "needle"), [
    ({"pipeline": 3}, "deeper than the logic"),
    ({"pipeline": -1}, "non-negative"),
    ({"format": "fp8_e4m3fn"}, "signed integer format"),
    ({"format": "uint8"}, "signed integer format"),
    ({"acc": 8}, "16..64 bits"),
    ({"acc": "wide"}, "width like 32"),
])
def test_bad_parameters(kw, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        build_unit("int-mac", **kw)


def test_unknown_unit_lists_choices() -> None:
    with pytest.raises(HwsimError, match=r"unknown RTL unit 'int-div'; known: .*int-mac"):
        build_unit("int-div")
