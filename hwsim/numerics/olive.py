"""OliVe outlier-victim pair (OVP) formats ``olive4`` and ``olive8``.

Sources: Guo et al., "OliVe: Accelerating Large Language Models via Hardware-friendly
Outlier-Victim Pair Quantization" (ISCA 2023, arXiv 2304.07493), and the authors' code,
github.com/clevercool/ANT-Quantization, folder ``olive_quantization`` (commit bc84067), file
``antquant/quant_modules.py`` (``int_value``, ``outlier_value``, ``_forward``) and the nearest-
value kernel ``quant/quant_kernel.cu``. Values here are in units of the normal integer grid
(the authors scale their grids by ``32 / 2**(bits-1)`` so that 32 is the outlier threshold;
dividing that factor out gives the same grid up to one per-tensor scale).

Rules, for ``bits`` = 4 or 8 and ``B = bits - 1``:

- Normal values: the signed integers ``-(2**B - 1) .. 2**B - 1`` (``int_value``: symmetric, so
  the two's-complement code ``1 << B`` (``1000``/``10000000``) never holds a normal value).
- Outliers ("adaptive biased float", ``outlier_value(exp_bit=2, exp_base=5)``): a sign, a
  2-bit exponent ``e`` and a ``B - 2``-bit mantissa ``m`` with value
  ``(1 + m / 2**(B-2)) * 2**(e + B)``; the magnitude code ``e = m = 0`` is left out (the
  authors skip it, so an outlier's code is never the identifier). olive4 outliers are
  +-{12, 16, 24, 32, 48, 64, 96}; olive8 outliers +-{132, 136, ..., 2016}.
- Rounding: each value goes to the nearest point of the union of both grids (the kernel scans
  the normal grid, then the outlier grid, both ascending, keeping the last point at the
  smallest distance: a tie goes to the larger value, or to the outlier where a normal value and
  an outlier tie).
- Pairs: elements ``2i`` and ``2i + 1`` along the pair axis. A value above the normal range is
  an outlier; its neighbour, the victim, is pruned to zero and its code is the identifier
  ``1 << B``. If both are outliers the first keeps its value and the second becomes the victim
  (``_forward``'s ``victim_odd`` mask is taken first). Each pair stays ``2 * bits`` wide, so the
  encoding is memory-aligned: no index or sparse list.

The systolic PE consumes each value as ``integer << shift`` (:func:`pe_operands`): a normal
value is ``k << 0``; an outlier is ``+-(2**(B-2) + m) << (e + 2)``, an integer of at most
``bits`` bits (sign included) and a shift in 2..5 (OliVe Sec. 5, decoder to exponent-integer
pair).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from hwsim.errors import HwsimError

OLIVE_FORMATS = ("olive4", "olive8")
OLIVE_GRAMMAR = "olive4, olive8 (OliVe outlier-victim pairs along the last axis)"
_RE = re.compile(r"olive(4|8)")


@dataclass(frozen=True)
class OliveFormat:
    """An OVP format: ``bits``-bit codes, paired along one axis."""

    name: str
    bits: int

    kind = "ovp"
    # the outlier format's fields, for code that describes a format by E/M/Inf/NaN (the cost
    # model's features): 2 exponent bits, ``man_bits`` below, no Inf, no NaN
    exp_bits = 2
    has_inf = False
    nan = "none"

    @property
    def total_bits(self) -> int:
        return self.bits

    @property
    def bits_per_element(self) -> float:
        return float(self.bits)

    @property
    def normal_max(self) -> int:
        return (1 << (self.bits - 1)) - 1

    @property
    def identifier(self) -> int:
        """The victim's code (``1000`` in olive4): two's-complement -2**B, never a normal."""
        return 1 << (self.bits - 1)

    @property
    def man_bits(self) -> int:
        """Mantissa bits of the outlier format (exponent bits are 2)."""
        return self.bits - 3

    @property
    def max_normal(self) -> float:
        """The largest magnitude, an outlier (for callers that scale by it)."""
        return float(self.outlier_grid()[-1])

    def outlier_value(self, code: np.ndarray) -> np.ndarray:
        """Magnitudes of outlier magnitude codes ``e << man_bits | m`` (code 0 included)."""
        c = np.asarray(code, np.int64)
        e, m = c >> self.man_bits, c & ((1 << self.man_bits) - 1)
        return ((1 << self.man_bits) + m) << (e + 2)

    @cache  # noqa: B019  (frozen, hashable, two instances)
    def outlier_grid(self) -> np.ndarray:
        """Positive outlier magnitudes, ascending (magnitude code 0 left out)."""
        return self.outlier_value(np.arange(1, 1 << (self.bits - 1))).astype(np.float64)

    @cache  # noqa: B019
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Every representable value ascending, and whether each is an outlier."""
        out = self.outlier_grid()
        vals = np.concatenate([-out[::-1], np.arange(-self.normal_max, self.normal_max + 1.0),
                               out])
        is_out = np.abs(vals) > self.normal_max
        return vals, is_out

    def __str__(self) -> str:
        return self.name


@cache
def get_olive_format(name: str | OliveFormat) -> OliveFormat:
    if isinstance(name, OliveFormat):
        return name
    key = str(name).strip().lower()
    if m := _RE.fullmatch(key):
        return OliveFormat(key, int(m[1]))
    raise HwsimError(f"unknown OVP format {name!r}; allowed: {OLIVE_GRAMMAR}")


def is_olive(fmt: object) -> bool:
    """Whether ``fmt`` is an OVP format object or a name that starts like one."""
    return isinstance(fmt, OliveFormat) or (
        isinstance(fmt, str) and fmt.strip().lower().startswith("olive"))


def _pairs(x: np.ndarray, axis: int, f: OliveFormat) -> np.ndarray:
    """Move ``axis`` last and view it as (..., n/2, 2); an odd length is an error."""
    if x.ndim == 0:
        raise HwsimError(f"{f.name} pairs values along an axis: a scalar has none")
    try:
        moved = np.moveaxis(x, axis, -1)
    except np.exceptions.AxisError as exc:
        raise HwsimError(f"axis {axis} is out of range for an array of shape {x.shape}") from exc
    n = moved.shape[-1]
    if n % 2:
        raise HwsimError(f"{f.name} stores outlier-victim pairs: the pair axis (axis {axis}) must "
                         f"have an even length, got {n} (shape {x.shape})")
    return moved.reshape(moved.shape[:-1] + (n // 2, 2))


def _unpairs(p: np.ndarray, axis: int) -> np.ndarray:
    return np.moveaxis(p.reshape(p.shape[:-2] + (-1,)), -1, axis)


def _round_to_grid(x: np.ndarray, f: OliveFormat) -> np.ndarray:
    """Nearest grid value with the reference kernel's tie rule (module docstring)."""
    vals, is_out = f.grid()
    hi = np.clip(np.searchsorted(vals, x, side="left"), 1, len(vals) - 1)
    lo = hi - 1
    d_lo, d_hi = x - vals[lo], vals[hi] - x
    tie_to_lo = is_out[lo] & ~is_out[hi]  # -outlier vs -normal: the outlier is scanned last
    take_lo = (d_lo < d_hi) | ((d_lo == d_hi) & tie_to_lo)
    return np.where(take_lo, vals[lo], vals[hi])


def _check(x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise HwsimError(f"cannot quantize values of dtype {arr.dtype} to an OVP format")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise HwsimError("OVP formats have no NaN or Inf codes; remove them before quantizing")
    return arr


def olive_quantize(x, fmt: str | OliveFormat = "olive4", axis: int = -1) -> np.ndarray:
    """Round ``x`` (in normal-grid units) to ``fmt``, pairs along ``axis``; victims become 0.

    Returns float64 (float32 for float32 input), the input's shape.
    """
    f = get_olive_format(fmt)
    dtype = np.float32 if np.asarray(x).dtype == np.float32 else np.float64
    p = _pairs(_check(x), axis, f)
    q = _round_to_grid(p, f)
    out = np.abs(q) > f.normal_max
    first = out[..., 0]
    q[..., 1] = np.where(first, 0.0, q[..., 1])
    q[..., 0] = np.where(~first & out[..., 1], 0.0, q[..., 0])
    return _unpairs(q, axis).astype(dtype)


def olive_encode(x, fmt: str | OliveFormat = "olive4", axis: int = -1) -> np.ndarray:
    """The ``bits``-bit codes (uint8) of ``olive_quantize(x, fmt, axis)``."""
    f = get_olive_format(fmt)
    p = _pairs(olive_quantize(x, f, axis).astype(np.float64), axis, f)
    return _unpairs(_encode_pairs(p, f), axis)


def _encode_pairs(p: np.ndarray, f: OliveFormat) -> np.ndarray:
    mask = (1 << f.bits) - 1
    out = np.abs(p) > f.normal_max
    mag = np.abs(p)
    e = np.where(out, np.floor(np.log2(np.maximum(mag, 1.0))) - (f.bits - 1), 0).astype(np.int64)
    m = np.where(out, mag / np.exp2(e + f.bits - 1) * (1 << f.man_bits) - (1 << f.man_bits), 0)
    out_code = (np.where(p < 0, f.identifier, 0) | (e << f.man_bits) | m.astype(np.int64))
    normal_code = p.astype(np.int64) & mask
    codes = np.where(out, out_code, normal_code)
    codes = np.where(out[..., ::-1], f.identifier, codes)  # victims (pairs hold <= 1 outlier)
    return codes.astype(np.uint8)


def pe_operands(codes, fmt: str | OliveFormat = "olive4", axis: int = -1):
    """What the decoder hands a PE for each code: ``(integer, shift)``, value = integer << shift.

    ``codes``: uint codes, pairs along ``axis``. Rules (the decoder's, total over all codes):
    if the second code of a pair is the identifier, the first is an outlier and the second 0;
    else if the first is the identifier, the second is an outlier and the first 0; else both
    are normal two's-complement integers. Codes :func:`olive_encode` never writes (an
    identifier pair, outlier magnitude code 0) decode by the same rules.
    """
    f = get_olive_format(fmt)
    c = np.asarray(codes)
    if c.dtype.kind not in "iu" or (c.size and (c.min() < 0 or c.max() >= 1 << f.bits)):
        raise HwsimError(f"{f.name} codes must be integers in 0..{(1 << f.bits) - 1}")
    p = _pairs(c.astype(np.int64), axis, f)
    ident = p == f.identifier
    second = ident[..., 0] & ~ident[..., 1]
    out = np.stack([ident[..., 1], second], -1)
    zero = np.stack([second, ident[..., 1]], -1)
    normal = np.where(p >= f.identifier, p - (1 << f.bits), p)
    mag_code = p & (f.identifier - 1)
    o_int = (1 << f.man_bits) + (mag_code & ((1 << f.man_bits) - 1))
    o_int = np.where(p & f.identifier, -o_int, o_int)
    o_shift = (mag_code >> f.man_bits) + 2
    integer = np.where(out, o_int, np.where(zero, 0, normal))
    shift = np.where(out, o_shift, 0)
    return _unpairs(integer, axis), _unpairs(shift, axis)


def olive_decode(codes, fmt: str | OliveFormat = "olive4", axis: int = -1) -> np.ndarray:
    """Values (float64, normal-grid units) of OVP codes, pairs along ``axis``."""
    integer, shift = pe_operands(codes, fmt, axis)
    return (integer * (1 << shift)).astype(np.float64)


def olive_scale(x, fmt: str | OliveFormat = "olive4", search: bool = True) -> float:
    """One per-tensor scale (real value of one normal-grid step), the authors' rule.

    ``quant_modules.py`` (``search_mse``, non-per-channel branch, ``--a_low 75 --a_up 150``):
    the clipping value starts at ``max(|mean +- 3 std|)`` and is searched over 75 %..149 % of it
    in 2 % steps for the smallest mean squared error; the scale maps it onto the normal maximum.
    ``search=False`` keeps the 3-sigma value.
    """
    f = get_olive_format(fmt)
    arr = _check(x)
    mu, sd = float(arr.mean()), float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    base = max(abs(mu + 3 * sd), abs(mu - 3 * sd))
    if base == 0:
        return 1.0
    if not search:
        return base / f.normal_max
    best, best_err = base, np.inf
    for pct in range(75, 150, 2):
        alpha = base * pct * 0.01
        s = alpha / f.normal_max
        err = float(np.mean((olive_quantize(arr / s, f) * s - arr) ** 2))
        if err < best_err:
            best, best_err = alpha, err
    return best / f.normal_max
