"""Block formats: MX against gfloat's OCP MX implementation; NVFP4 and BFP by definition."""

from __future__ import annotations

import gfloat
import gfloat.formats as gf
import numpy as np
import pytest

from hwsim.numerics import (
    HwsimError,
    bits_per_element,
    decode,
    get_block_format,
    quantize,
    quantize_blocks,
)

GFLOAT_MX = {
    "mxfp8_e4m3": gf.format_info_mxfp8_e4m3,
    "mxfp8_e5m2": gf.format_info_mxfp8_e5m2,
    "mxfp6_e3m2": gf.format_info_mxfp6_e3m2,
    "mxfp6_e2m3": gf.format_info_mxfp6_e2m3,
    "mxfp4": gf.format_info_mxfp4_e2m1,
    "mxint8": gf.format_info_mxint8,
}


def _tensor(seed: int, blocks: int = 40, size: int = 32) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((blocks, size)) * np.exp(rng.uniform(-12, 12, (blocks, 1)))
    x[3] = 0.0  # a zero block
    x[5, 7] = 1e4 * np.abs(x[5]).max()  # an outlier dominates its block
    return x


@pytest.mark.parametrize("name", sorted(GFLOAT_MX))
def test_mx_matches_gfloat(name: str) -> None:
    x = _tensor(1)
    got = quantize_blocks(x, name)
    fi = GFLOAT_MX[name]
    for i, row in enumerate(x):
        ref = gfloat.quantize_block(fi, row, gfloat.compute_scale_amax)
        np.testing.assert_array_equal(got[i], ref, err_msg=f"{name} block {i}")


def test_mx_parts_scale_and_codes() -> None:
    x = _tensor(2)
    q = quantize_blocks(x, "mxfp8_e4m3", return_parts=True)
    amax = np.abs(x).max(axis=1)
    nz = amax > 0
    # OCP MX: X = 2^(floor(log2 amax) - emax_elem), emax of E4M3 = 8
    assert q.scales.shape == (40, 1) and q.codes.shape == (40, 1, 32)
    scales = q.scales[:, 0]
    np.testing.assert_array_equal(scales[nz], 2.0 ** (np.floor(np.log2(amax[nz])) - 8))
    elems = decode(q.codes[:, 0], "fp8_e4m3fn")
    np.testing.assert_array_equal(q.values, elems * scales[:, None])


def test_ragged_axis_and_shapes() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 70)).astype(np.float32)
    q = quantize_blocks(x, "mxfp4", axis=1)
    assert q.shape == x.shape and q.dtype == np.float32
    # the ragged last block (6 elements) is quantised on its own
    np.testing.assert_array_equal(q[:, 64:], quantize_blocks(x[:, 64:], "mxfp4"))
    # blocking along axis 0 equals blocking the transpose along the last axis
    np.testing.assert_array_equal(quantize_blocks(x, "mxfp8_e5m2", axis=0),
                                  quantize_blocks(x.T, "mxfp8_e5m2").T)


def test_nvfp4_definition() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 64)) * 3
    q = quantize_blocks(x, "nvfp4", return_parts=True)
    amax_t = np.abs(x).max()
    assert q.tensor_scale == amax_t / (6 * 448)
    blocks = x.reshape(8, 4, 16)
    want_scales = quantize(np.abs(blocks).max(-1) / (6 * q.tensor_scale), "fp8_e4m3fn")
    np.testing.assert_array_equal(q.scales, want_scales)
    total = want_scales[..., None] * q.tensor_scale
    want = quantize(blocks / total, "fp4_e2m1fn", saturate=True) * total
    np.testing.assert_array_equal(q.values, want.reshape(8, 64))


def test_bfp_definition() -> None:
    f = get_block_format("bfp_b16_m7")
    assert f.bits_per_element == 8 + 8 / 16
    x = np.array([[3.0, -0.7, 0.01, 1e-6] + [0.0] * 12])
    q = quantize_blocks(x, "bfp_b16_m7")
    # shared exponent 1 (amax 3 in [2, 4)), quantum 2^(1 - 6): multiples of 1/32
    np.testing.assert_array_equal(q[0, :4], np.round(x[0, :4] * 32) / 32)
    # the block maximum keeps its 7 significant bits: magnitude codes reach 2^7 - 1
    y = np.array([[127.9] + [1.0] * 15])
    assert quantize_blocks(y, "bfp_b16_m7")[0, 0] == 127.0


def test_zero_nan_inf_blocks() -> None:
    x = np.zeros((2, 32))
    x[1, 3] = np.nan
    q = quantize_blocks(x, "mxfp4")
    assert (q[0] == 0).all() and np.isnan(q[1]).all()
    assert quantize_blocks(np.zeros(0), "mxfp4").shape == (0,)


def test_bits_and_names() -> None:
    assert bits_per_element("mxfp4") == 4.25
    assert bits_per_element("nvfp4") == 4.5
    assert bits_per_element("mxfp6_e2m3_b16") == 6.5
    assert bits_per_element("nvfp4_b8") == 5.0 and get_block_format("nvfp4_b8").kind == "nvfp4"
    for bad in ("mxfp4_b0", "nvfp4_b0"):
        with pytest.raises(HwsimError, match="block size must be >= 1"):
            get_block_format(bad)
    assert bits_per_element("fp8_e4m3fn") == 8
    for bad in ("mxfp5", "bfp_b0_m7", "bfp_b16_m0", "nvfp8"):
        with pytest.raises(HwsimError, match="allowed|need"):
            get_block_format(bad)
    with pytest.raises(HwsimError, match="out of range"):
        quantize_blocks(np.ones((2, 2)), "mxfp4", axis=3)
    with pytest.raises(HwsimError, match="at least one axis"):
        quantize_blocks(1.0, "mxfp4")
