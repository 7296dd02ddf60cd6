"""Inputs a user can get wrong: odd dtypes, shapes and layouts, impossible format names.

Every error must be an HwsimError whose message says what is allowed, so the CLI can print it
as one line.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from helpers import ML_DTYPES

from hwsim.numerics import HwsimError, decode, encode, get_format, quantize

FORMATS = ["fp8_e4m3fn", "fp8_e5m2fnuz", "fp4_e2m1fn", "bf16", "e8m0", "e5m7", "fp32", "int8",
           "uint4"]


# ------------------------------------------------------------------------------------------
# dtypes
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "x",
    [
        np.array(["1.0", "2.0"]), "1.0", np.array([b"1"]), np.array([1.0, None], dtype=object),
        np.array([1 + 2j]), np.array([1.0], dtype=np.complex64), np.datetime64("2020-01-01"),
        np.array([1.0], dtype=np.longdouble) if np.dtype(np.longdouble).itemsize > 8 else "x",
        np.array([np.timedelta64(1, "s")]),
    ],
    ids=["str_array", "str", "bytes", "object", "complex128", "complex64", "datetime",
         "longdouble", "timedelta"],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_dtypes_raise_with_allowed_list(x, fmt):
    with pytest.raises(HwsimError, match="allowed|cast it first|cannot quantize"):
        quantize(x, fmt)
    with pytest.raises(HwsimError):
        encode(x, fmt)


# ml_dtypes' floats have dtype kind "V", so void and structured dtypes must be told apart from
# them: a one-field structured array once slipped through and was quantized by its field.
@pytest.mark.parametrize(
    "dtype", [[("a", np.float32)], [("a", np.uint8), ("b", np.uint8)], "V2", "V4"],
    ids=["structured_f4", "structured_2xu1", "V2", "V4"],
)
def test_void_and_structured_dtypes_raise(dtype):
    with pytest.raises(HwsimError, match="allowed"):
        quantize(np.zeros(2, dtype=dtype), "bf16")


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_dtype_message_names_the_dtype(fmt):
    with pytest.raises(HwsimError, match=r"complex128.*allowed: float16/32/64"):
        quantize(np.array([1j]), fmt)


@pytest.mark.parametrize("rounding", ["up", "RNE", "nearest", ""])
def test_unknown_rounding_lists_the_allowed_ones(rounding):
    with pytest.raises(HwsimError, match="allowed: rne, rtz, rna, stochastic"):
        quantize(np.ones(3, np.float32), "fp8_e4m3fn", rounding=rounding)


# ------------------------------------------------------------------------------------------
# shapes and layouts
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.float16])
@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 4)])
def test_empty_arrays_give_empty_results(fmt, dtype, shape):
    x = np.zeros(shape, dtype=dtype)
    want_dtype = np.float32 if np.dtype(dtype).kind == "f" and x.itemsize <= 4 else np.float64
    got = quantize(x, fmt)
    assert got.shape == shape and got.dtype == want_dtype
    codes = encode(x, fmt)
    assert codes.shape == shape and codes.dtype.kind == "u"
    assert decode(codes, fmt).shape == shape


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("x", "dtype"),
    [(1.3, np.float64), (np.float32(1.3), np.float32), (np.array(1.3), np.float64),
     (np.array(1.3, np.float32), np.float32), (3, np.float64), (np.float16(1.3), np.float32),
     (ml_dtypes.bfloat16(1.3), np.float32)],
)
def test_scalars_give_0d_results(fmt, x, dtype):
    got = quantize(x, fmt)
    assert got.shape == () and got.dtype == dtype
    assert got == quantize(np.array([x]), fmt)[0]
    code = encode(x, fmt)
    assert code.shape == ()
    back = decode(code, fmt)
    assert back.shape == () and back == got


# np.clip unwraps 0-d arrays: integer formats must still return a 0-d ndarray, not a scalar
@pytest.mark.parametrize("fmt", ["int8", "uint4"])
def test_scalar_result_type_is_ndarray_for_integer_formats(fmt):
    assert isinstance(quantize(np.array(1.3, np.float32), fmt), np.ndarray)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if not f.startswith(("int", "uint"))])
def test_scalar_result_type_is_ndarray(fmt):
    assert isinstance(quantize(np.array(1.3, np.float32), fmt), np.ndarray)
    assert isinstance(quantize(1.3, fmt), np.ndarray)


def strided_views(a: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "step": a[::3, 1::2], "transpose": a.T, "reversed": a[::-1, ::-1],
        "fortran": np.asfortranarray(a), "column": a[:, 5],
        "broadcast": np.broadcast_to(a[0], a.shape),
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("view", ["step", "transpose", "reversed", "fortran", "column",
                                  "broadcast"])
def test_non_contiguous_input_matches_contiguous_copy(fmt, dtype, view):
    # big enough to span several of quantize's internal chunks
    a = np.random.default_rng(0).standard_normal((600, 300)).astype(dtype) * 3
    if fmt == "e8m0":
        a = np.abs(a)
    v = strided_views(a)[view]
    assert not v.flags.c_contiguous
    got = quantize(v, fmt)
    assert got.shape == v.shape
    np.testing.assert_array_equal(got, quantize(np.ascontiguousarray(v), fmt))
    codes = encode(v, fmt)
    np.testing.assert_array_equal(codes, encode(np.ascontiguousarray(v), fmt))
    np.testing.assert_array_equal(decode(codes.T, fmt), decode(np.ascontiguousarray(codes.T), fmt))


def test_input_is_not_modified():
    x = np.array([1.3, -7.0, np.nan, 1e9], dtype=np.float32)
    before = x.copy()
    for fmt in FORMATS[:-2]:
        quantize(x, fmt)
        encode(x, fmt)
    np.testing.assert_array_equal(x, before)


# ------------------------------------------------------------------------------------------
# integer and bool input
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("int_dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8,
                                       np.uint32, np.uint64])
@pytest.mark.parametrize("fmt", FORMATS)
def test_integer_input_gives_exact_float64(int_dtype, fmt):
    info = np.iinfo(int_dtype)
    lo, hi = max(info.min, -(2**53)), min(info.max, 2**53)
    x = np.random.default_rng(1).integers(lo, hi, 10_000, dtype=int_dtype, endpoint=True)
    x = np.concatenate([x, np.array([lo, hi, 0, 1], dtype=int_dtype)])
    if fmt == "e8m0":
        x = x[x > 0]
    got = quantize(x, fmt)
    assert got.dtype == np.float64
    # |x| <= 2**53 converts to float64 exactly, so this is the one rounding of the exact value
    np.testing.assert_array_equal(got, quantize(x.astype(np.float64), fmt))


@pytest.mark.parametrize("fmt", ["int8", "int16", "int32", "uint8", "uint32"])
def test_integer_input_to_integer_format_is_exact_in_range(fmt):
    f = get_format(fmt)
    x = np.random.default_rng(2).integers(f.min_value, f.max_value, 10_000, endpoint=True)
    x = np.concatenate([x, [f.min_value, f.max_value]])
    np.testing.assert_array_equal(quantize(x, fmt), x.astype(np.float64))


def test_bool_input_is_zero_and_one():
    got = quantize(np.array([True, False]), "fp4_e2m1fn")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [1.0, 0.0])


@pytest.mark.parametrize("fmt", ["int2", "int8", "int32", "uint1", "uint8"])
@pytest.mark.parametrize("x", [np.array([1.0, np.nan]), np.float32(np.nan), [-np.nan]])
def test_nan_into_integer_format_raises(fmt, x):
    with pytest.raises(HwsimError, match=f"{fmt} cannot represent NaN"):
        quantize(x, fmt)
    with pytest.raises(HwsimError):
        encode(x, fmt)


# ------------------------------------------------------------------------------------------
# format names
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("fp8_e4m4", "8 bits != 1 sign"), ("fp6_e4m3fn", "6 bits != 1 sign"),
        ("e9m2", "X must be in 1..8"), ("e3m24", "Y in 0..23"), ("e0m3", "X must be in 1..8"),
        ("int1", "integer width must be 2..32"), ("int64", "integer width must be 2..32"),
        ("uint0", "integer width must be 1..32"), ("uint33", "integer width must be 1..32"),
        ("fp8", "grammar"), ("float8", "grammar"), ("fp8_e4m3fnx", "grammar"), ("", "grammar"),
        ("fp12_e9m2", "exponent bits must be 1..8"), ("fp2_e1m0fn", "finite format needs"),
        ("float8_e4m3b11fnuz", "grammar"), ("tf32", "grammar"),
    ],
)
def test_impossible_format_names_list_what_is_allowed(name, why):
    with pytest.raises(HwsimError) as err:
        get_format(name)
    msg = str(err.value)
    assert why in msg
    assert repr(name) in msg
    assert "allowed:" in msg and "fp8_e4m3fn" in msg and "int2..int32" in msg
    with pytest.raises(HwsimError):
        quantize(np.ones(2, np.float32), name)


@pytest.mark.parametrize("name", ["mxfp8", "MXFP4", "nvfp4", "bfp16"])
def test_block_format_names_point_elsewhere(name):
    with pytest.raises(HwsimError, match="block format.*allowed here:"):
        get_format(name)


@pytest.mark.parametrize("fmt", [3, 8.0, None, np.float32, ml_dtypes.float8_e4m3fn])
def test_non_string_formats_raise(fmt):
    with pytest.raises(HwsimError, match="must be a name"):
        get_format(fmt)


def test_every_ml_dtypes_name_is_accepted():
    for name, t in ML_DTYPES.items():
        assert get_format(np.dtype(t).name) == get_format(name)


# ------------------------------------------------------------------------------------------
# decode
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "code"),
    [("fp8_e4m3fn", 256), ("fp8_e4m3fn", -1), ("fp4_e2m1fn", 16), ("fp6_e3m2fn", 64),
     ("bf16", 1 << 16), ("e5m7", 1 << 13), ("int4", 16), ("uint1", 2), ("e8m0", 256),
     ("fp32", 1 << 32)],
)
def test_decode_out_of_range_code_raises(fmt, code):
    with pytest.raises(HwsimError, match=f"bit patterns for {fmt} must lie in 0..") as err:
        decode(np.array([0, code], dtype=np.int64), fmt)
    assert str((1 << get_format(fmt).total_bits) - 1) in str(err.value)


@pytest.mark.parametrize("codes", [np.array([1.0]), np.array(["1"]), np.array([1j])])
def test_decode_needs_integer_codes(codes):
    with pytest.raises(HwsimError, match="integer bit patterns"):
        decode(codes, "fp8_e4m3fn")
