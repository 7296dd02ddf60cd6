"""Analytical structure of a design, from its parameters alone (microseconds, no netlist).

Each count follows how the generator in ``rtl/units/`` builds the circuit: the significand
product of a multiplier (``sig x sig`` partial-product bits), the alignment shifter of an
adder (``m + 1 + GRS`` bits shifted by an ``e``-bit amount), the normaliser (leading-zero count
and shift over the exact product or sum), the rounding increment, the accumulator, and the
pipeline registers :class:`rtl.build.Pipeline` places at each generator's stage boundaries
(``BOUNDARIES`` in each unit module, in order of preference: ``pipeline=k`` registers the
first ``k``). :func:`register_bits` is exact (the width of every PyRTL ``Register``); the
others are the sizes a physically-informed baseline prices, not gate counts.

A family without formulas here (a generator added after this module) gets the generic counts
(format widths only) and its register bits from building its PyRTL block once (milliseconds,
cached): still exact, only slower.
"""

from __future__ import annotations

import math
from functools import lru_cache

from costmodel.space import DesignPoint
from hwsim.numerics import BlockFormat, FloatFormat, resolve

#: guard, round and sticky bits below the adder's significand (rtl.units.minifloat_add.GRS)
GRS = 3
_FP32 = (8, 23, 127)  # exp bits, mantissa bits, bias: the convert unit's other side
_ACC = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}
#: the counts :func:`structure_features` returns, in order
STRUCT_FEATURES = ("st_reg_bits", "st_pp_bits", "st_add_bits", "st_shift_bits",
                   "st_norm_bits", "st_round_bits", "st_acc_bits", "st_io_bits")


@lru_cache(maxsize=4096)
def _resolve(fmt: str):  # noqa: ANN202  (a format object of hwsim.numerics)
    return resolve(fmt)


def _bits_for(v: int) -> int:
    """Width that holds 0..v (rtl.fp.bits_for)."""
    return max(1, int(v).bit_length())


def _clz_shift(width: int) -> float:
    """A leading-zero count plus a barrel shift over ``width`` bits: width x log2(width)."""
    return float(width * max(1, math.ceil(math.log2(max(width, 2)))))


def _normalise_exp_bits(width: int, tp_bits: int, c: int) -> int:
    """Width of rtl.fp.normalise's exponent output for a ``width``-bit significand, a
    ``tp_bits``-bit exponent sum and offset ``c``."""
    z = max(-c, 0)
    grow = _bits_for(z + width) + 1
    base = max(tp_bits, _bits_for(c)) + 1 if c > 0 else tp_bits
    return max(base, grow) + 1


def _float_fields(fmt: str) -> tuple[int, int, int, int] | None:
    """(exp bits, mantissa bits, bias, total bits) of a float element format, else None."""
    f = _resolve(fmt)
    if isinstance(f, FloatFormat):
        return f.exp_bits, f.man_bits, f.bias, f.total_bits
    return None


def _int_bits(fmt: str) -> int | None:
    f = _resolve(fmt)
    if isinstance(f, BlockFormat) or getattr(f, "kind", "") != "int":
        return None
    return int(f.total_bits)


def _float_mul_regs(p: DesignPoint, e: int, m: int, bias: int, total: int) -> int:
    # product: prod (2m+2), tp (e+1), sign, nan, inf, zero; normalise: q (2m+2), exp_part,
    # sticky, sign, nan, inf, zero; output: the code
    stages = {"product": 2 * m + 2 + e + 1 + 4,
              "normalise": 2 * m + 2 + _normalise_exp_bits(2 * m + 2, e + 1, -bias) + 1 + 4,
              "output": total}
    return sum(stages[b] for b in ("product", "normalise", "output")[:p.pipeline])


def _float_add_regs(p: DesignPoint, e: int, m: int, total: int) -> int:
    w = m + 1 + GRS
    # align: big_ext, small_al (w each), subtract, big_exp (e), big_sign, both_neg, nan, inf,
    # inf_sign; normalise: q (w), exp_base (e+1), sticky, sign, zero, nan, inf
    stages = {"align": 2 * w + e + 6, "normalise": w + e + 1 + 5, "output": total}
    return sum(stages[b] for b in ("align", "normalise", "output")[:p.pipeline])


def _lmul_regs(p: DesignPoint, e: int, m: int, total: int) -> int:
    # sum: raw (e+m+2: two adds), zero, sign, nan, inf; output: the code
    stages = {"sum": e + m + 2 + 4, "output": total}
    return sum(stages[b] for b in ("sum", "output")[:p.pipeline])


def _convert_regs(p: DesignPoint, e: int, m: int, bias: int, total: int) -> int:
    fe, fm, fbias = _FP32
    if p.direction == "from":  # fmt -> fp32: significand padded to fp32's m + 2 bits
        sig = max(m + 1, fm + 2)
        pad = max(fm + 2 - (m + 1), 0)
        c = fbias - bias - 1 + (sig - 1 - m - pad)
        exp_bits, out_bits = _normalise_exp_bits(sig, e, c), 1 + fe + fm
    else:  # fp32 -> fmt
        sig = fm + 1 + max(m + 2 - (fm + 1), 0)
        c = bias - fbias - 1 + (sig - 1 - fm - max(m + 2 - (fm + 1), 0))
        exp_bits, out_bits = _normalise_exp_bits(sig, fe, c), total
    # normalise: q, exp_part, sticky, sign, nan_sign, zero, nan, inf; output: the code
    stages = {"normalise": sig + exp_bits + 1 + 5, "output": out_bits}
    return sum(stages[b] for b in ("normalise", "output")[:p.pipeline])


def _int_mul_regs(p: DesignPoint, n: int) -> int:
    # product: the 2n-bit product; partial: two 2n-bit half arrays and the n+1-bit correction
    stages = {"product": 2 * n, "partial": 4 * n + n + 1}
    return sum(stages[b] for b in ("product", "partial")[:p.pipeline])


def int_acc_bits(p: DesignPoint, n: int) -> int:
    """The int-mac accumulator width (rtl.units.int_mac: default min(2n + 16, 64))."""
    return int(p.acc) if p.acc else min(2 * n + 16, 64)


def _analytic_register_bits(p: DesignPoint) -> int | None:
    """Register bits by formula, or None where this module has none for ``p``."""
    if p.unit in LUT_UNITS:  # the LUT block at the end of this module
        return _lut_register_bits(p)
    if p.unit in MIXPE_UNITS:  # the MixPE block at the end of this module
        return _mixpe_register_bits(p)
    fl = _float_fields(p.format)
    if fl is not None:
        e, m, bias, total = fl
        if p.unit == "minifloat-mul":
            return _float_mul_regs(p, e, m, bias, total)
        if p.unit == "minifloat-add":
            return _float_add_regs(p, e, m, total)
        if p.unit == "lmul":
            return _lmul_regs(p, e, m, total)
        if p.unit == "convert":
            return _convert_regs(p, e, m, bias, total)
        if p.unit == "mac" and p.acc in _ACC:
            acc = 1 + sum(_ACC[p.acc])
            # product: prod (2m+2), tp (e+1), sign, nan, inf, zero, clr
            return acc + (2 * m + 2 + e + 1 + 5 if p.pipeline else 0)
    n = _int_bits(p.format)
    if n is not None:
        if p.unit == "int-mul":
            return _int_mul_regs(p, n)
        if p.unit == "int-mac":
            return _int_mul_regs(p, n) + int_acc_bits(p, n)
    if p.unit == "block-dot" and p.pipeline == 0:
        return 0
    return None


@lru_cache(maxsize=65536)
def register_bits(p: DesignPoint) -> int:
    """Bits of every register in the design's PyRTL netlist (exact): by formula where the
    family has one, else counted in its PyRTL block (built once, cached)."""
    bits = _analytic_register_bits(p)
    if bits is not None:
        return bits
    return built_register_bits(p)


def built_register_bits(p: DesignPoint) -> int:
    """Register bits counted in the PyRTL block the generator builds (milliseconds)."""
    from rtl.unit import build_unit  # lazy: PyRTL and every generator, for the fallback only

    block = build_unit(p.unit, **p.params()).block
    return sum(len(net.dests[0]) for net in block.logic if net.op == "r")


def _block_extras(f: BlockFormat) -> tuple[int, int]:
    """(bits of the negations before each element product: MXINT's two's-complement operands
    made magnitudes, 0 for sign-magnitude and float elements; significand bits of a float
    scale: NVFP4's E4M3, 0 for a power-of-two scale)."""
    el = f.element
    neg = 2 * el.total_bits if f.kind == "mx" and not isinstance(el, FloatFormat) else 0
    ssig = f.scale.man_bits + 1 if f.kind == "nvfp4" else 0
    return neg, ssig


def _counts(p: DesignPoint) -> dict[str, float]:
    """Structure sizes other than registers (see the module docstring); zero where absent."""
    if p.unit in LUT_UNITS and (lut := _lut_counts(p)) is not None:  # the LUT block below
        return lut
    if p.unit in MIXPE_UNITS and (mix := _mixpe_counts(p)) is not None:  # the MixPE block
        return mix
    c = dict.fromkeys(STRUCT_FEATURES, 0.0)
    f = _resolve(p.format)
    nblock = max(p.block, 1)
    elem = f.element if isinstance(f, BlockFormat) else f
    bits = int(elem.total_bits)
    c["st_io_bits"] = float(2 * bits * nblock + bits)
    fl = _float_fields(p.format)
    n = _int_bits(p.format)
    if fl is not None:
        e, m, bias, total = fl
        sig = m + 1
        if p.unit == "minifloat-mul":
            c.update(st_pp_bits=sig * sig, st_add_bits=e + 1 + e + m + 1,
                     st_norm_bits=_clz_shift(2 * sig), st_round_bits=e + m + 1)
        elif p.unit == "minifloat-add":
            w = sig + GRS
            c.update(st_add_bits=w + 1 + e + e + 1, st_shift_bits=w * _bits_for(w),
                     st_norm_bits=_clz_shift(w), st_round_bits=e + m + 1)
        elif p.unit == "lmul":
            c.update(st_add_bits=2 * (e + m + 2))
        elif p.unit == "convert":
            # normalise's offset (rtl.units.convert): a right shift of up to -offset bits for
            # results below the target's normal range; none to speak of when the ranges agree
            fe, fm, fbias = _FP32
            if p.direction == "from":
                sig_in, off = max(sig, fm + 2), fbias - bias - 1
            else:
                sig_in, off = fm + 1 + max(m + 2 - (fm + 1), 0), bias - fbias - 1
            z = max(-off, 0)
            # the normaliser's input is the padded significand, but constants propagate: to
            # fp32 it normalises the source's m + 1 bits, and only subnormals that are normal
            # in fp32 (a bias below fp32's) need it
            if p.direction == "from":
                norm = _clz_shift(sig) if bias < fbias else 0.0
            else:
                norm = _clz_shift(sig_in)
            c.update(st_norm_bits=norm,
                     st_shift_bits=float(sig_in * _bits_for(min(z, sig_in)) if z > 1 else 0),
                     st_add_bits=float(fe + 2 + abs(fe - e)),
                     st_round_bits=float(e + m + 1) if p.direction != "from" else 32.0)
        elif p.unit == "mac":
            ae, am = _ACC.get(p.acc, _ACC["fp32"])
            w = max(2 * sig, am + 1)
            pp = 0 if p.mul == "lmul" else sig * sig
            c.update(st_pp_bits=pp, st_acc_bits=1 + ae + am,
                     st_add_bits=(e + m + 2) * (p.mul == "lmul") + e + 1 + ae + 2 * (w + 3),
                     st_shift_bits=2 * (w + 3) * _bits_for(w + 3),
                     st_norm_bits=_clz_shift(w + 4), st_round_bits=ae + am + 1)
    elif n is not None and p.unit in ("int-mul", "int-mac"):
        c.update(st_pp_bits=n * n, st_add_bits=(n + 1) + 2 * n)
        if p.unit == "int-mac":
            acc = int_acc_bits(p, n)
            c.update(st_acc_bits=acc, st_add_bits=c["st_add_bits"] + acc)
    elif p.unit == "block-dot" and isinstance(f, BlockFormat):
        el = f.element
        if isinstance(el, FloatFormat):
            sig = el.man_bits + 1
            width = 2 * sig + 2 ** el.exp_bits  # a fixed-point product spans the exponents
            pp = sig * sig
        else:
            mag = el.total_bits - (0 if f.kind == "mx" else 1)
            width, pp = 2 * mag, mag * mag
        tree = width + 1 + _bits_for(nblock)
        neg, ssig = _block_extras(f)
        # NVFP4 (rtl.units.block_dot): the two E4M3 scales' significands multiplied, then the
        # sum's magnitude times that product, which widens what is normalised
        wide = tree + 2 * ssig
        c.update(st_pp_bits=pp * nblock + ssig * ssig + tree * 2 * ssig,
                 st_add_bits=(nblock - 1) * tree + float(f.scale_bits) + neg * nblock,
                 st_shift_bits=wide * _bits_for(wide), st_norm_bits=_clz_shift(wide),
                 st_round_bits=float(elem.total_bits))
    elif p.unit == "ternary-acc" and n is not None:  # rtl.units.ternary_acc: the activation
        # gated and inverted at the accumulator's width, one adder (carry in: subtract)
        # (default width: the activation's plus rtl.units.int_mac.ACC_HEADROOM_BITS, 16)
        acc = int(p.acc) if p.acc else min(n + 16, 64)
        c.update(st_add_bits=acc, st_acc_bits=acc, st_io_bits=n + 2 + acc)
    elif p.unit == "dyadic-requant":  # rtl.units.dyadic_requant: signed acc x unsigned b,
        # the sign fix, an arithmetic shift by c, the rounding bit and sticky mask (two more
        # shifts), the increment and the saturating compares
        acc = int(p.acc) if p.acc else 32
        b = min(acc, 32)
        width = acc + b
        cb = _bits_for(width) - 1
        c.update(st_pp_bits=acc * b, st_add_bits=width + 3 * (width + 1) + cb,
                 st_shift_bits=3 * width * cb, st_round_bits=width,
                 st_io_bits=acc + b + cb + bits)
    elif p.unit == "olive-decode":  # rtl.units.olive_decode: per slot a negation, the
        # shift's +2, the identifier compare and the selects of integer and shift; no multiply
        c.update(st_add_bits=2 * (bits + 3 + bits), st_shift_bits=2 * (2 * bits + 3))
    else:  # a family without formulas: a multiplier-sized guess from the element width
        c.update(st_pp_bits=bits * bits * nblock, st_add_bits=2 * bits * nblock)
    return {k: float(v) for k, v in c.items()}


@lru_cache(maxsize=65536)
def _structure(p: DesignPoint) -> tuple[float, ...]:
    c = _counts(p)
    c["st_reg_bits"] = float(register_bits(p))
    return tuple(c[k] for k in STRUCT_FEATURES)


def structure_features(p: DesignPoint) -> dict[str, float]:
    """The analytical counts of ``p`` (:data:`STRUCT_FEATURES`); cached per point."""
    return dict(zip(STRUCT_FEATURES, _structure(p), strict=True))


# ---- LUT tensor core units (lut-precompute, lut-mpgemm) ------------------------------------
# Owned with rtl/units/lut_*.py (issue 15); the rest of this module is another's. Counts follow
# rtl/units/lut_precompute.py and lut_mpgemm.py; registers exactly (tested against the built
# netlists), the rest as sizes. A table's lookup multiplexers (2^(K-1) entries of the table
# width per tile cell) stand in st_pp_bits, the bits a multiplier's partial products would.

LUT_UNITS = ("lut-precompute", "lut-mpgemm")
_LUT_FP16 = (5, 10)  # fp16 exp, mantissa bits: the fp16 tables and the minifloat adders


def _lut_widths(p: DesignPoint) -> tuple[int, int, int] | None:
    """(table entry bits, activation bits, accumulator bits), or None for a format with no
    LUT path (the generic counts apply)."""
    if p.format not in ("int8", "fp16") or p.k < 1:
        return None
    if p.format == "fp16":
        acc = 1 + sum(_ACC.get(p.acc, _LUT_FP16))
        return 16, 16, acc
    acc = int(p.acc[3:]) if p.acc.startswith("int") and p.acc[3:].isdigit() else 32
    return 8 + math.ceil(math.log2(p.k)), 8, acc


def _float_adder_sizes(e: int, m: int, count: int) -> dict[str, float]:
    """``count`` minifloat adders (rtl.units.minifloat_add) of an e/m format."""
    w = m + 1 + GRS
    return {"st_add_bits": count * (w + 1 + 2 * e + 1), "st_shift_bits": count * w * _bits_for(w),
            "st_norm_bits": count * _clz_shift(w), "st_round_bits": count * (e + m + 1)}


def _lut_counts(p: DesignPoint) -> dict[str, float] | None:
    widths = _lut_widths(p)
    if widths is None:
        return None
    tb, in_bits, acc = widths
    c = dict.fromkeys(STRUCT_FEATURES, 0.0)
    entries = 1 << (p.k - 1)
    is_float = p.format == "fp16"
    if p.unit == "lut-precompute":  # a prefix tree of 2 + 4 + ... + 2^(K-1) adders
        adders = 2 * entries - 2
        c.update(_float_adder_sizes(*_LUT_FP16, adders) if is_float
                 else {"st_add_bits": adders * tb})
        c["st_io_bits"] = p.k * in_bits + entries * tb
        return {k: float(v) for k, v in c.items()}
    cells = p.m * p.n
    plane_bits = _bits_for(p.weight_bits - 1) if p.weight_bits > 1 else 0
    c["st_pp_bits"] = cells * entries * tb  # the lookup multiplexers
    c["st_acc_bits"] = cells * acc
    if is_float:  # scale by 2^plane (a normalise and a rounding), the accumulating adder
        ae, am = next(((e, m) for a, (e, m) in _ACC.items() if a == p.acc), _LUT_FP16)
        adder = _float_adder_sizes(ae, am, cells)
        sig = max(11, am + 2)
        c.update(adder, st_norm_bits=adder["st_norm_bits"] + cells * _clz_shift(sig),
                 st_round_bits=adder["st_round_bits"] + cells * (ae + am + 1))
    else:  # negation and accumulation adders, the plane shift
        c.update(st_add_bits=cells * 2 * acc, st_shift_bits=cells * acc * plane_bits)
    c["st_io_bits"] = p.m * entries * tb + p.n * p.k + plane_bits + 1 + cells * acc
    return {k: float(v) for k, v in c.items()}


def _lut_register_bits(p: DesignPoint) -> int | None:
    """Register bits of the LUT units' netlists (their ``Pipeline`` stages, accumulators)."""
    widths = _lut_widths(p)
    if widths is None:
        return None
    tb, _, acc = widths
    if p.unit == "lut-precompute":
        # boundaries: the last level (sum<K-1>) first, then the middle of the tree; a level j
        # < K-1 registers its 2^j partial sums and the K operands
        levels = [p.k - 1, *sorted(range(1, p.k - 1), key=lambda j: abs(j - p.k / 2))]
        return sum((1 << j) * tb + (p.k * tb if j < p.k - 1 else 0)
                   for j in levels[:p.pipeline])
    cells = p.m * p.n
    return cells * acc + (cells * acc + 1 if p.pipeline else 0)  # accumulators; term + clr
# ---- end of the LUT block -------------------------------------------------------------------


# ---- MixPE units (mixpe, dequant-mac) -------------------------------------------------------
# Counts follow rtl/units/mixpe.py and dequant_mac.py: int8 activations (8 bits) or fp16 ones
# (mixpe: decoded to a 41-bit fixed-point integer; dequant-mac: an fp16 x fp16 -> fp32 MAC).
# A DesignPoint holds the weight format in ``mul``, the group size in ``block`` and the
# dequantiser's place (pe/shared) in ``direction``; registers exactly (tested against the
# built netlists), the rest as sizes, as above.

MIXPE_UNITS = ("mixpe", "dequant-mac")
_MIXPE_FP16_FIXED = 41  # rtl.units.mixpe.FP16_FIXED_BITS
_MIXPE_SCALE = 8  # hwsim.numerics.mixpe.SCALE_BITS: the int8 path's scale


def mixpe_widths(p: DesignPoint) -> tuple[int, int, int, int, bool] | None:
    """(datapath activation bits, weight bits, group-counter bits, accumulator bits, fp16),
    or None for a format the units do not take (the generic counts apply)."""
    if p.format not in ("int8", "fp16"):
        return None
    fp16 = p.format == "fp16"
    wb = int(p.mul.removeprefix("int") or 4) if p.mul.removeprefix("int").isdigit() else 4
    acc = 32 if fp16 or not p.acc.isdigit() else int(p.acc)
    lg = _bits_for(p.block or 128) if p.unit == "mixpe" else 0
    return (_MIXPE_FP16_FIXED if fp16 else 8), wb, lg, acc, fp16


def _mixpe_group_widths(act: int, wb: int, lg: int) -> tuple[int, int, int]:
    """(psum bits, asum bits, r bits) of a MixPE group: rtl.units.mixpe's pw, aw, rw."""
    pw = act + wb + lg
    return pw, act + lg, pw + 2


def _mixpe_counts(p: DesignPoint) -> dict[str, float] | None:
    widths = mixpe_widths(p)
    if widths is None:
        return None
    act, wb, lg, acc, fp16 = widths
    c = dict.fromkeys(STRUCT_FEATURES, 0.0)
    in_bits, s_bits = (16, 16) if fp16 else (8, _MIXPE_SCALE)
    if p.unit == "dequant-mac":
        c["st_io_bits"] = in_bits + 2 * wb + s_bits + acc
        if not fp16:  # w = s * (q - z), then an int8 x w MAC
            w = wb + 1 + s_bits
            c.update(st_pp_bits=(wb + 1) * s_bits + 8 * w, st_add_bits=wb + 1 + acc,
                     st_acc_bits=acc)
            return {k: float(v) for k, v in c.items()}
        # w = fp16(s * (q - z)): an 11 x (wb + 1) product, normalised and rounded; then the
        # fp16 x fp16 -> fp32 MAC of rtl.units.mac (the mac family's counts)
        ae, am = _ACC["fp32"]
        mw = max(22, am + 1)
        c.update(st_pp_bits=11 * (wb + 1) + 11 * 11, st_acc_bits=1 + ae + am,
                 st_add_bits=wb + 1 + 5 + 1 + ae + 2 * (mw + 3),
                 st_shift_bits=2 * (mw + 3) * _bits_for(mw + 3),
                 st_norm_bits=_clz_shift(11 + wb + 1) + _clz_shift(mw + 4),
                 st_round_bits=16 + ae + am + 1)
        return {k: float(v) for k, v in c.items()}
    pw, aw, rw = _mixpe_group_widths(act, wb, lg)
    shared = p.direction == "shared"
    # shift-and-add (wb adders of act + wb bits), the group adders, the counter, r = P - z*A
    c.update(st_pp_bits=act * wb + aw * (wb + 1),
             st_add_bits=wb * (act + wb) + pw + aw + lg + rw)
    if fp16:  # the fp16 decode: a 40-bit left shift by the 5-bit exponent, a negation
        c.update(st_shift_bits=40 * 5, st_add_bits=c["st_add_bits"] + _MIXPE_FP16_FIXED)
    c["st_io_bits"] = in_bits + 2 * wb + (rw if shared else s_bits + acc)
    if shared:
        return {k: float(v) for k, v in c.items()}
    if not fp16:  # acc += s * r
        c.update(st_pp_bits=c["st_pp_bits"] + rw * (s_bits + 1),
                 st_add_bits=c["st_add_bits"] + acc, st_acc_bits=acc)
        return {k: float(v) for k, v in c.items()}
    # |r| x the scale's 11-bit significand, normalised and rounded to fp32, an fp32 adder
    add = _float_adder_sizes(*_ACC["fp32"], 1)
    c.update(st_pp_bits=c["st_pp_bits"] + rw * 11, st_acc_bits=32,
             st_add_bits=c["st_add_bits"] + rw + add["st_add_bits"],
             st_shift_bits=c["st_shift_bits"] + add["st_shift_bits"],
             st_norm_bits=_clz_shift(rw + 11) + add["st_norm_bits"],
             st_round_bits=32 + add["st_round_bits"])
    return {k: float(v) for k, v in c.items()}


def _mixpe_register_bits(p: DesignPoint) -> int | None:
    """Register bits of the MixPE units' netlists."""
    widths = mixpe_widths(p)
    if widths is None:
        return None
    act, wb, lg, acc, fp16 = widths
    in_bits, s_bits = (16, 16) if fp16 else (8, _MIXPE_SCALE)
    if p.unit == "dequant-mac":
        # the operand stage: the activation and the dequantised weight (fp16: a code)
        return acc + (in_bits + (16 if fp16 else wb + 1 + s_bits) if p.pipeline else 0)
    pw, aw, rw = _mixpe_group_widths(act, wb, lg)
    out = rw if p.direction == "shared" else acc
    # the operand stage: the partial product, a, s, z and the group-end flag
    stage = (act + wb) + act + s_bits + wb + 1
    return lg + pw + aw + out + (stage if p.pipeline else 0)
# ---- end of the MixPE block -----------------------------------------------------------------


# ---- shape parameters of the families whose fields the format widths do not describe ---------
#: weight bits (MixPE units, lut-mpgemm), log2 of the MixPE group, the dequantiser in the PE
#: (1) or shared (0), the activation's datapath bits (MixPE: 41 for fp16's fixed point; LUT
#: units: 8 or 16), a LUT unit's K, table entries 2^(K-1) and tile cells M x N; 0 elsewhere
SHAPE_FEATURES = ("sh_weight_bits", "sh_group_log2", "sh_dequant_pe", "sh_act_bits", "sh_k",
                  "sh_entries", "sh_cells")
SHAPE_UNITS = MIXPE_UNITS + LUT_UNITS


@lru_cache(maxsize=65536)
def shape_vector(p: DesignPoint) -> tuple[float, ...]:
    """:data:`SHAPE_FEATURES` of ``p`` (all zero for a family not in :data:`SHAPE_UNITS`)."""
    c = dict.fromkeys(SHAPE_FEATURES, 0.0)
    if p.unit in MIXPE_UNITS and (w := mixpe_widths(p)) is not None:
        act, wb, _, _, _ = w
        c.update(sh_weight_bits=wb, sh_act_bits=act,
                 sh_dequant_pe=float(p.unit == "dequant-mac" or p.direction != "shared"),
                 sh_group_log2=math.log2(p.block or 128) if p.unit == "mixpe" else 0.0)
    elif p.unit in LUT_UNITS and p.k >= 1:
        c.update(sh_weight_bits=p.weight_bits, sh_act_bits=16 if p.format == "fp16" else 8,
                 sh_k=p.k, sh_entries=1 << (p.k - 1), sh_cells=p.m * p.n)
    return tuple(float(c[k]) for k in SHAPE_FEATURES)
