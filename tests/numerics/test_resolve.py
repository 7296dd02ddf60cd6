"""resolve(): every format name to one identity, element or block; aliases are one format."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwsim.numerics import (
    BLOCK_FORMATS,
    NAMED_FORMATS,
    BlockFormat,
    FloatFormat,
    HwsimError,
    IntFormat,
    bits_per_element,
    is_block,
    quantize,
    resolve,
)
from tests.numerics.helpers import ML_DTYPES, assert_same_bits, ml_round_trip, random_inputs

# each group: the canonical name first, then other spellings of the same format
ALIASES = [
    ("fp8_e3m4", "e3m4", "float8_e3m4", "FP8_E3M4", " e3m4 "),
    ("fp8_e4m3", "e4m3", "float8_e4m3"),
    ("fp8_e5m2", "e5m2", "float8_e5m2"),
    ("fp8_e4m3fn", "float8_e4m3fn", "Fp8_E4M3FN"),
    ("fp16", "half", "float16", "e5m10", "fp16_e5m10"),
    ("fp32", "float32", "e8m23", "fp32_e8m23"),
    ("bf16", "bfloat16", "e8m7", "fp16_e8m7"),
    ("e8m0", "fp8_e8m0fnu", "float8_e8m0fnu"),
    ("e2m2", "fp5_e2m2"),
    ("e5m7", "fp13_e5m7"),
    ("mxfp4", "mxfp4_b32", "MXFP4"),
    ("mxfp8_e4m3", "mxfp8_e4m3_b32"),
    ("nvfp4", "nvfp4_b16"),
    ("bfp_b8_m3", "bfp_b8_m3_e8"),
]


@pytest.mark.parametrize("names", ALIASES, ids=lambda g: g[0])
def test_aliases_are_one_identity(names):
    fmts = [resolve(n) for n in names]
    assert all(f == fmts[0] for f in fmts)
    assert len({hash(f) for f in fmts}) == 1 and len(set(fmts)) == 1
    assert {f.name for f in fmts} == {names[0]}
    table = {fmts[0]: "cost"}  # a dict keyed by one spelling finds every other
    assert all(table[resolve(n)] == "cost" for n in names)


@pytest.mark.parametrize("name", list(ML_DTYPES))
def test_ml_dtypes_spellings_give_the_format_ml_dtypes_computes(name):
    """The ml_dtypes spelling (e.g. float8_e3m4) and ours are one format, and quantising with
    it is bit-exact against ml_dtypes' own cast."""
    t = ML_DTYPES[name]
    f = resolve(np.dtype(t).name)
    assert f == resolve(name) and f.name == name
    x = random_inputs(f, 20_000, seed=11)
    assert_same_bits(quantize(x, f), ml_round_trip(x, name), x, what=name)


def test_generic_spelling_of_e3m4_is_ml_dtypes_float8_e3m4():
    f = resolve("e3m4")
    assert f.max_normal == float(ml_dtypes.finfo(ml_dtypes.float8_e3m4).max)
    assert f.min_subnormal == float(ml_dtypes.finfo(ml_dtypes.float8_e3m4).smallest_subnormal)


@given(st.integers(1, 8), st.integers(0, 23), st.sampled_from(["", "fn", "fnuz"]))
def test_every_grammar_name_has_a_canonical_fixed_point(e, m, flags):
    name = f"fp{1 + e + m}_e{e}m{m}{flags}"
    try:
        f = resolve(name)
    except HwsimError:
        assert flags and m == 0 and e < 2  # the one combination the grammar forbids
        return
    again = resolve(f.name)
    assert again == f and again.name == f.name and hash(again) == hash(f)
    assert (f.exp_bits, f.man_bits) == (e, m)
    if not flags and (e, m) != (8, 0):  # IEEE-like: e{X}m{Y} is the same (e8m0 is MX's scale)
        assert resolve(f"e{e}m{m}") == f


@pytest.mark.parametrize("name", NAMED_FORMATS)
def test_named_element_formats_resolve_to_themselves(name):
    f = resolve(name)
    assert isinstance(f, FloatFormat) and f.name == name and not is_block(name)
    assert bits_per_element(name) == f.total_bits


BLOCK_NAMES = [n for n in BLOCK_FORMATS if "{" not in n] + ["bfp_b16_m7", "mxfp4_b16"]


@pytest.mark.parametrize("name", BLOCK_NAMES)
def test_block_formats_resolve_to_block_identities(name):
    f = resolve(name)
    assert isinstance(f, BlockFormat) and f.name == name and is_block(name)
    assert bits_per_element(name) == f.element.total_bits + f.scale_bits / f.block_size


@pytest.mark.parametrize("name", ["int8", "uint4", "int32"])
def test_integer_formats_are_elements(name):
    f = resolve(name)
    assert isinstance(f, IntFormat) and f.name == name and not is_block(f)


@pytest.mark.parametrize(("a", "b"), [
    ("fp8_e4m3", "fp8_e4m3fn"), ("e2m1", "fp4_e2m1fn"), ("e8m0", "fp9_e8m0"),
    ("mxfp4", "mxfp4_b16"), ("bfp_b8_m3", "bfp_b8_m3_e6"), ("int8", "uint8"),
])
def test_different_formats_stay_different(a, b):
    fa, fb = resolve(a), resolve(b)
    assert fa != fb and fa.name != fb.name


def test_objects_pass_through_and_block_size_changes_keep_names_canonical():
    f = resolve("mxfp6_e2m3")
    assert resolve(f) is f
    assert f.with_block_size(32) == f and f.with_block_size(16) == resolve("mxfp6_e2m3_b16")
    assert resolve("bfp_b8_m3").with_block_size(4).name == "bfp_b4_m3"
    assert resolve("nvfp4_b8").with_block_size(16).name == "nvfp4"


@pytest.mark.parametrize(("name", "why"), [
    ("fp9", "grammar"), ("tf32", "grammar"), ("mxfp5", "no block format"),
    ("bfp_b0_m3", "block size >= 1"), ("mxfp4_b0", "block size must be >= 1"),
    ("fp8_e4m4", "8 bits != 1 sign"), ("", "non-empty"), (None, "non-empty"), (8, "non-empty"),
])
def test_unknown_names_raise_one_error_listing_what_is_allowed(name, why):
    with pytest.raises(HwsimError) as err:
        resolve(name)
    msg = str(err.value)
    assert why in msg and repr(name) in msg
    assert "allowed:" in msg and "fp8_e4m3fn" in msg and "mxfp4" in msg and "bfp_b{B}" in msg
    with pytest.raises(HwsimError):
        is_block(name)
