"""The OliVe pair decoder (``olive-decode``) against :func:`hwsim.numerics.olive.pe_operands`
(itself checked bit for bit against the authors' quantiser in tests/numerics/test_olive.py):
exhaustive over every pair of codes in PyRTL and in Verilator through cocotb, lint under
``verilator -Wall``, and Yosys."""

from __future__ import annotations

import pytest

from hwsim.errors import HwsimError
from hwsim.numerics.olive import get_olive_format, olive_encode
from rtl.export import lint, write_verilog
from rtl.pyrtl_sim import verify_pyrtl
from rtl.synth import synthesize
from rtl.unit import build_unit
from tests.rtl.unit_helpers import assert_ok, run_verilator


@pytest.mark.parametrize("bits", [4, 8])
@pytest.mark.parametrize("pipeline", [0, 1])
def test_exhaustive_pyrtl(bits, pipeline) -> None:
    unit = build_unit("olive-decode", format=f"olive{bits}", pipeline=pipeline)
    result = verify_pyrtl(unit)
    assert result.exhaustive
    assert_ok(result, 1 << (2 * bits))


def test_reference_packs_what_the_pe_needs() -> None:
    """A hand-checked pair: olive4 (96, victim) -> int 3 << 5 and 0 << 0."""
    fmt = get_olive_format("olive4")
    a, b = olive_encode([96.0, 5.0], fmt)
    assert (int(a), int(b)) == (0b0111, fmt.identifier)
    y = int(build_unit("olive-decode", format="olive4").reference({"a": [a], "b": [b]})[0])
    assert (y & 0xF, (y >> 4) & 7, (y >> 7) & 0xF, y >> 11) == (3, 5, 0, 0)


@pytest.mark.rtl
def test_exhaustive_verilator(rtl_build_dir) -> None:
    """olive8 with its output register: all 65536 pairs (olive4's logic is the same at 4
    bits and is exhaustive in PyRTL; one Verilator build keeps the file under a minute)."""
    unit = build_unit("olive-decode", format="olive8", pipeline=1)
    result = run_verilator(unit, build_dir=rtl_build_dir)
    assert result.exhaustive
    assert_ok(result, 1 << 16)


@pytest.mark.rtl
@pytest.mark.parametrize(("bits", "pipeline"), [(4, 0), (8, 1)])
def test_verilog_is_lint_clean(bits, pipeline, tmp_path, verilator) -> None:
    unit = build_unit("olive-decode", format=f"olive{bits}", pipeline=pipeline)
    path = write_verilog(unit, tmp_path / f"{unit.name}.v")
    assert lint(path, unit.name) == []


@pytest.mark.rtl
def test_yosys_decoder_is_small_beside_a_multiplier(yosys, rtl_build_dir) -> None:
    """The decoder of one olive4 pair costs less than one int4 MAC would (OliVe Sec. 5: the
    decoder is a few gates per operand pair); olive8's grows with its wider integers."""
    d4, d8 = (synthesize(build_unit("olive-decode", format=f"olive{b}"), families=(),
                         build_dir=rtl_build_dir) for b in (4, 8))
    mac = synthesize(build_unit("int-mac", format="int8"), families=(),
                     build_dir=rtl_build_dir)
    assert 0 < d4.transistors < d8.transistors < mac.transistors


@pytest.mark.parametrize(("kw", "needle"), [
    ({"format": "olive6"}, "olive4, olive8"),
    ({"format": "int4"}, "olive4, olive8"),
    ({"format": "olive4", "pipeline": 2}, "deeper than the logic"),
])
def test_bad_parameters(kw, needle) -> None:
    with pytest.raises(HwsimError, match=needle):
        build_unit("olive-decode", **kw)
