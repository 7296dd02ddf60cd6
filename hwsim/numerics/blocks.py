"""Block formats: block floating point, OCP microscaling (MX) and NVFP4.

A block format splits a tensor, along one axis, into blocks of ``block_size`` elements that
share one scale. Names:

- ``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e3m2``, ``mxfp6_e2m3``, ``mxfp4``, ``mxint8``:
  OCP Microscaling Formats (MX) v1.0: 32 elements share an E8M0 scale
  ``X = 2**(floor(log2(amax)) - emax_elem)`` where ``emax_elem`` is the exponent of the
  element format's largest normal; elements are ``V / X`` rounded (RNE) into the element
  format, clamped to its max (the spec's conversion saturates). MXINT8 elements are 8-bit
  two's-complement fixed point with 6 fraction bits, so they clamp to [-2, 127/64] (the
  full two's-complement range, as gfloat's MXINT8 does; the ``microxcaling`` reference code
  clamps symmetrically instead). A block with a NaN or Inf gets a NaN scale.
  ``_b{N}`` overrides the block size (``mxfp4_b16``).
- ``nvfp4``: 16 FP4 E2M1 elements share an FP8 E4M3 scale, plus one FP32 scale per tensor:
  ``s_t = amax(tensor) / (6 * 448)``, ``s_b = e4m3(amax(block) / (6 * s_t))``, elements
  ``e2m1(V / (s_b * s_t))`` (saturating). ``nvfp4_b{N}`` overrides the block size.
- ``bfp12[_b{N}]``, ``bfp16[_b{N}]``: the BFP formats of Trukhanov & Soloveychik ("Accurate
  Block Quantization in LLMs with Outliers", arXiv 2403.20137), named like Microsoft's MSFP12/
  MSFP16 (Rouhani et al., NeurIPS 2020) by the bits of one element plus the shared exponent:
  an 8-bit shared exponent and a 4-bit (BFP12) or 8-bit (BFP16) sign-magnitude mantissa, i.e.
  ``bfp_b{N}_m3`` and ``bfp_b{N}_m7``; N defaults to 32 (the paper studies 32, 64 and 128).
- ``bfp_b{B}_m{M}[_e{E}]``: block floating point: B elements share an E-bit exponent
  (default 8, bias ``2**(E-1)-1``) equal to floor(log2(amax)) clamped to its range; each
  element is a sign and an M-bit magnitude ``round(V / 2**(shared - M + 1))`` clamped to
  ``2**M - 1``, so the block maximum keeps M significant bits.

Zero blocks stay zero. A ragged last block is padded with zeros, which changes no maximum.

A block format's canonical ``name`` leaves out defaults (``mxfp4_b32`` is ``mxfp4``,
``bfp_b8_m3_e8`` is ``bfp_b8_m3``), so equal formats have equal names and hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics.formats import FloatFormat, Format, FormatNameError, IntFormat, get_format
from hwsim.numerics.quantize import as_float_array, encode, quantize


@dataclass(frozen=True)
class BlockFormat:
    """A shared-scale block format. ``kind`` is ``"mx"``, ``"nvfp4"`` or ``"bfp"``."""

    name: str
    kind: str
    block_size: int
    element: Format
    scale: FloatFormat | None = None  # MX: E8M0, NVFP4: E4M3; BFP: shared exponent below
    shared_exp_bits: int = 8  # BFP only
    tensor_scale: bool = False  # NVFP4's extra FP32 per-tensor scale

    def __post_init__(self) -> None:
        if self.block_size < 1:
            raise HwsimError(f"{self.name}: block size must be >= 1, got {self.block_size}")

    @property
    def scale_bits(self) -> int:
        return self.scale.total_bits if self.scale is not None else self.shared_exp_bits

    @property
    def bits_per_element(self) -> float:
        """Storage per element, the shared scale amortised over its block (no tensor scale)."""
        return self.element.total_bits + self.scale_bits / self.block_size

    @property
    def elem_emax(self) -> int:
        """Exponent of the element format's largest normal (MX's emax_elem)."""
        if isinstance(self.element, FloatFormat):
            return self.element.emax
        return 0  # MXINT8: +-1.984375, as 1.6 fixed point

    def with_block_size(self, block_size: int) -> BlockFormat:
        """The same format with ``block_size`` elements per block (canonically named)."""
        if self.kind == "bfp":
            exp = "" if self.shared_exp_bits == 8 else f"_e{self.shared_exp_bits}"
            return get_block_format(f"bfp_b{block_size}_m{self.element.bits - 1}{exp}")
        return get_block_format(f"{self.name.split('_b')[0]}_b{block_size}")

    def __str__(self) -> str:
        return self.name


class BlockQuantized(NamedTuple):
    """What ``quantize_blocks(..., return_parts=True)`` returns.

    ``values``: dequantized tensor (shape of the input). ``scales``: the value of each block's
    scale, shape ``(..., n_blocks)`` with the block axis moved last. ``codes``: element codes
    (unsigned bit patterns), shape ``(..., n_blocks, block_size)``, ragged block zero-padded.
    ``tensor_scale``: NVFP4's per-tensor FP32 scale (1.0 for other formats).
    """

    values: np.ndarray
    scales: np.ndarray
    codes: np.ndarray
    tensor_scale: float


_MX_ELEMENTS = {
    "mxfp8_e4m3": "fp8_e4m3fn",
    "mxfp8_e5m2": "fp8_e5m2",
    "mxfp6_e3m2": "fp6_e3m2fn",
    "mxfp6_e2m3": "fp6_e2m3fn",
    "mxfp4": "fp4_e2m1fn",
    "mxint8": "int8",
}
_RE_MX = re.compile(r"(mxfp8_e4m3|mxfp8_e5m2|mxfp6_e3m2|mxfp6_e2m3|mxfp4|mxint8)(?:_b(\d+))?")
_RE_BFP = re.compile(r"bfp_b(\d+)_m(\d+)(?:_e(\d+))?")
_RE_BFP_NAMED = re.compile(r"bfp(12|16)(?:_b(\d+))?")
BLOCK_FORMATS = (*_MX_ELEMENTS, "nvfp4", "bfp_b{B}_m{M}[_e{E}]")
_RE_NVFP4 = re.compile(r"nvfp4(?:_b(\d+))?")
BLOCK_GRAMMAR = (", ".join(BLOCK_FORMATS)
                 + " (MX and NVFP4 names take an optional _b{N} block size); bfp12[_b{N}] "
                 "and bfp16[_b{N}] name bfp_b{N}_m3 and bfp_b{N}_m7 (N defaults to 32)")


@cache
def get_block_format(name: str | BlockFormat) -> BlockFormat:
    """Parse a block format name (see the module docstring for the grammar)."""
    if isinstance(name, BlockFormat):
        return name
    key = str(name).strip().lower()
    if m := _RE_MX.fullmatch(key):
        block = _block_size(name, m[2], 32)
        return BlockFormat(_with_size(m[1], block, 32), "mx", block,
                           get_format(_MX_ELEMENTS[m[1]]), get_format("e8m0"))
    if m := _RE_NVFP4.fullmatch(key):
        block = _block_size(name, m[1], 16)
        return BlockFormat(
            _with_size("nvfp4", block, 16), "nvfp4", block, get_format("fp4_e2m1fn"),
            get_format("fp8_e4m3fn"), tensor_scale=True,
        )
    if m := _RE_BFP_NAMED.fullmatch(key):
        return get_block_format(f"bfp_b{_block_size(name, m[2], 32)}_m{3 if m[1] == '12' else 7}")
    if m := _RE_BFP.fullmatch(key):
        block, man, exp = int(m[1]), int(m[2]), int(m[3] or 8)
        if block < 1 or not 1 <= man <= 30 or not 2 <= exp <= 16:
            why = "need block size >= 1, mantissa bits 1..30 and exponent bits 2..16"
            raise FormatNameError(f"{name!r}: {why}", why)
        return BlockFormat(
            f"bfp_b{block}_m{man}" + ("" if exp == 8 else f"_e{exp}"), "bfp", block,
            IntFormat(f"sm{man + 1}", man + 1, signed=True), shared_exp_bits=exp,
        )
    raise FormatNameError(f"unknown block format {name!r}; allowed: {BLOCK_GRAMMAR}",
                          "no block format has that name")


def _block_size(name: object, text: str | None, default: int) -> int:
    block = int(text) if text else default
    if block < 1:
        raise FormatNameError(f"{name!r}: block size must be >= 1", "block size must be >= 1")
    return block


def _with_size(base: str, block: int, default: int) -> str:
    return base if block == default else f"{base}_b{block}"


def _blocks(x: np.ndarray, axis: int, size: int):
    """Move ``axis`` last, zero-pad to whole blocks, reshape to (..., n_blocks, size)."""
    if x.ndim == 0:
        raise HwsimError("quantize_blocks needs an array with at least one axis")
    try:
        moved = np.moveaxis(x, axis, -1)
    except np.exceptions.AxisError as exc:
        raise HwsimError(f"axis {axis} is out of range for an array of shape {x.shape}") from exc
    n = moved.shape[-1]
    pad = (-n) % size
    if pad:
        moved = np.concatenate([moved, np.zeros(moved.shape[:-1] + (pad,), moved.dtype)], -1)
    return moved.reshape(moved.shape[:-1] + (moved.shape[-1] // size, size)), n


def _unblock(v: np.ndarray, n: int, axis: int) -> np.ndarray:
    flat = v.reshape(v.shape[:-2] + (-1,))[..., :n]
    return np.moveaxis(flat, -1, axis)


def _floor_log2(a: np.ndarray) -> np.ndarray:
    _, k = np.frexp(a)
    return (k - 1).astype(np.int64)


def quantize_blocks(x, fmt: str | BlockFormat, axis: int = -1, return_parts: bool = False):
    """Quantize ``x`` to a block format along ``axis``; return the dequantized values.

    With ``return_parts=True`` return a :class:`BlockQuantized` with the scales and element
    codes too. Output dtype follows :func:`hwsim.numerics.quantize` (float32 for float32 input).
    """
    f = get_block_format(fmt)
    arr = as_float_array(x)
    if arr.size == 0:
        empty = arr.copy()
        return BlockQuantized(empty, np.zeros(0), np.zeros(0, np.uint8), 1.0) if return_parts \
            else empty
    blocks, n = _blocks(arr.astype(np.float64), axis, f.block_size)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        amax = np.max(np.abs(blocks), axis=-1)
        bad = ~np.isfinite(amax)
        tensor_scale = 1.0
        if f.kind == "mx":
            exp = _floor_log2(np.where(bad | (amax == 0), 1.0, amax)) - f.elem_emax
            exp = np.where(amax == 0, f.scale.emin, exp)
            exp = np.clip(exp, f.scale.emin, f.scale.emax)
            scales = np.ldexp(1.0, exp)
        elif f.kind == "nvfp4":
            t_amax = float(np.max(np.where(bad[..., None], 0.0, np.abs(blocks))))
            elem_max, scale_max = f.element.max_normal, f.scale.max_normal
            tensor_scale = t_amax / (elem_max * scale_max) if t_amax > 0 else 1.0
            scales = quantize(amax / (elem_max * tensor_scale), f.scale).astype(np.float64)
        else:  # bfp
            lo = -((1 << (f.shared_exp_bits - 1)) - 1)
            hi = (1 << f.shared_exp_bits) - 1 + lo - 1  # top code reserved, as in IEEE
            shared = _floor_log2(np.where(bad | (amax == 0), 1.0, amax))
            shared = np.clip(np.where(amax == 0, lo, shared), lo, hi)
            scales = np.ldexp(1.0, shared - (f.element.bits - 2))
        scales = np.where(bad, np.nan, scales)
        total_scale = scales * tensor_scale
        safe = np.where((total_scale == 0) | ~np.isfinite(total_scale), 1.0, total_scale)
        scaled = blocks / safe[..., None]
        scaled = np.where((total_scale == 0)[..., None], 0.0, scaled)
        elems, codes = _quantize_elements(scaled, f)
        values = elems * total_scale[..., None]
        values = np.where(bad[..., None], np.nan, values)
    out = _unblock(values, n, axis).astype(arr.dtype)
    if not return_parts:
        return out
    return BlockQuantized(out, scales, codes, float(tensor_scale))


def _quantize_elements(scaled: np.ndarray, f: BlockFormat):
    """Element values and codes for block-scaled inputs (NaN blocks handled by the caller)."""
    clean = np.where(np.isfinite(scaled), scaled, 0.0)
    if f.kind == "bfp":
        lim = (1 << (f.element.bits - 1)) - 1
        q = np.clip(np.rint(clean), -lim, lim)  # sign-magnitude: symmetric range
        mag = np.abs(q).astype(np.uint64)
        codes = mag | np.where(q < 0, np.uint64(1 << (f.element.bits - 1)), np.uint64(0))
        return q, codes
    if isinstance(f.element, IntFormat):  # MXINT8, 1.6 fixed point
        q = np.clip(np.rint(clean * 64), -128, 127)
        return q / 64, (q.astype(np.int64) & 0xFF).astype(np.uint64)
    q = quantize(clean, f.element, saturate=True)
    return q, encode(q, f.element).astype(np.uint64)
