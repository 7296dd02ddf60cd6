"""``lut-mpgemm``: an M x N tile of a LUT tensor core, bit-serial over the weight planes.

Every cycle the tile takes, for each row ``m``, the table ``t_<m>_<i>`` of one group of K
activations (``2^(K-1)`` entries, as :mod:`rtl.units.lut_precompute` builds them), for each
column ``n`` one bit-plane ``w_<n>`` of its K weights (bit ``k`` = weight ``k``), the plane
index ``plane`` (``0 .. B-1``; absent for W1) and ``clr``; each of the M x N accumulators does

    acc <= (clr ? 0 : acc) + scale(x_0 ? T[x >> 1] : -T[~x >> 1], 2^plane)

(:func:`hwsim.numerics.lut_lookup`; the controller steps ``plane`` LSB first, as the authors'
``b_index`` counter does, and raises ``clr`` on the first plane of a new output tile).
int8 tables: ``term`` is the entry sign-extended, negated and shifted left, the accumulator an
``acc``-bit two's-complement register (wraps). fp16 tables: the entry's sign bit is flipped for
the negation, the value is scaled by ``2^plane`` exactly into the accumulator format (fp16:
past 65504 it is Inf; fp32: always exact) and added with the project's minifloat adder (one
IEEE RNE rounding); a NaN result is the canonical quiet NaN. Golden model:
:func:`hwsim.numerics.lut_mpgemm` (its docstring gives the rounding rule and where the
authors' RTL differs).

``y`` is every accumulator, element ``(m, n)`` at bits ``[(m*N + n)*w, (m*N + n + 1)*w)``; the
unit has latency ``1 + pipeline``. Stage boundary: ``term`` (between the lookup and the
accumulating adder; the adder sits in the accumulator loop and takes no register).

Ops per cycle: ``2 * M * N * K / B`` weight-activation multiply-adds per ``B`` cycles.

``symmetric=False`` models a LUT design without table symmetrisation (the conventional LUT
the paper improves on): each row takes all ``2^K`` entries ``t_<m>_<x>`` (entry ``x`` = the
signed sum for plane pattern ``x``, as ``lut_lookup(T, x)`` gives), the lookup is a
``2^K``-way multiplexer on ``x`` and there is no negation; the rest is the same tile.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import get_float_format, lut_lookup, quantize
from hwsim.numerics.arith import add
from hwsim.numerics.lut import check_acc, check_act_format, check_k, check_weight_bits, table_bits
from rtl.build import Pipeline, fresh_block
from rtl.fp import bits_for, const, normalise, pack_result, round_packed, unpack
from rtl.registry import RtlUnit, register
from rtl.units.lut_precompute import (
    NO_PIPE,
    act_values,
    canonical_nan,
    entry_codes,
    negate,
    pack,
    signed_codes,
)
from rtl.units.minifloat_add import adder

BOUNDARIES = ("term",)
FP16 = get_float_format("fp16")
MAX_TILE = 4096  # M * N accumulators


def scale_fp16(code: pyrtl.WireVector, plane: pyrtl.WireVector, fmt) -> pyrtl.WireVector:
    """fp16 ``code`` times ``2^plane`` as a code of ``fmt`` (exact; overflow gives Inf)."""
    u = unpack(code, FP16)
    width = max(FP16.man_bits + 1, fmt.man_bits + 2)
    p = pyrtl.concat(u.sig, const(0, width - FP16.man_bits - 1))
    # the leading one of a normal fp16 significand is p's top bit: biased exponent in fmt is
    # E - bias16 + plane + bias_fmt = T + 1, so T = E + plane + (bias_fmt - bias16 - 1)
    q, exp_part, sticky = normalise(p, u.exp + plane, fmt.bias - FP16.bias - 1)
    mag = round_packed(q, exp_part, sticky, fmt)
    mag = pyrtl.select(u.is_zero, const(0, len(mag)), mag)
    return pack_result(fmt, False, u.sign, mag, u.is_nan, u.is_inf)


def _tile_params(m: int, n: int) -> tuple[int, int]:
    for name, v in (("M", m), ("N", n)):
        if not isinstance(v, int) or v < 1:
            raise HwsimError(f"lut-mpgemm {name} must be a positive integer, got {v!r}")
    if m * n > MAX_TILE:
        raise HwsimError(f"lut-mpgemm tile M x N = {m * n} is above {MAX_TILE} accumulators")
    return m, n


def _reference(k: int, m: int, n: int, bits: int, act: str, acc: str, symmetric: bool = True):
    tb = table_bits(k, act)
    acc_bits = int(acc[3:]) if acc.startswith("int") else get_float_format(acc).total_bits
    is_float = act == "fp16"

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        cycles = len(inputs["clr"])
        entries = 1 << (k - 1 if symmetric else k)
        if is_float:
            tables = np.stack([[act_values(inputs[f"t_{r}_{i}"], "fp16") for i in range(entries)]
                               for r in range(m)])  # (M, E, cycles)
        else:
            tables = np.stack([[signed_codes(inputs[f"t_{r}_{i}"], tb) for i in range(entries)]
                               for r in range(m)])
        tables = np.moveaxis(tables, 2, 0)[:, :, None, :]  # (cycles, M, 1, E)
        x = np.stack([inputs[f"w_{c}"].astype(np.int64) for c in range(n)], axis=-1)
        if symmetric:
            terms = lut_lookup(tables, x[:, None, :])  # (cycles, M, N)
        else:  # the full table: entry x is the term itself
            full = np.broadcast_to(tables, (cycles, m, n, entries))
            terms = np.take_along_axis(full, np.broadcast_to(x[:, None, :, None],
                                                             (cycles, m, n, 1)), -1)[..., 0]
        plane = inputs["plane"].astype(np.int64) if bits > 1 else np.zeros(cycles, np.int64)
        clr = inputs["clr"].astype(bool)
        if not is_float:
            shifted = terms << plane[:, None, None]
            total = np.cumsum(shifted, axis=0)
            start = np.maximum.accumulate(np.where(clr, np.arange(cycles), -1))
            before = np.where(start[:, None, None] > 0, total[np.maximum(start - 1, 0)], 0)
            out = total - before
        else:
            out = np.empty(terms.shape)
            accum = np.zeros(terms.shape[1:])
            with np.errstate(over="ignore", invalid="ignore"):
                scaled = quantize(terms * np.ldexp(1.0, plane)[:, None, None], acc)
                for c in range(cycles):
                    accum = add(np.where(clr[c], 0.0, accum), scaled[c], acc)
                    out[c] = accum
        codes = entry_codes(out.reshape(cycles, m * n), acc, acc_bits)
        return pack([codes[:, i] for i in range(m * n)], acc_bits)

    return ref


@register("lut-mpgemm")
def build_lut_mpgemm(k: int = 4, m: int = 1, n: int = 2, weight_bits: int = 2,
                     format: str = "int8", acc: str | None = None,  # noqa: A002
                     pipeline: int = 0, symmetric: bool = True) -> RtlUnit:
    """An M x N bit-serial LUT mpGEMM tile (module docstring). The default tile keeps ``y``
    within the 64 bits ``hwsim rtl verify`` carries for every accumulator; the paper's tile is
    M=2, N=64, K=4 (``sim_results/lut_tensor_core/synth_units.py`` synthesises it)."""
    k = check_k(k)
    act = check_act_format(format)
    bits = check_weight_bits(weight_bits)
    acc = check_acc(acc, k, act, bits)
    m, n = _tile_params(m, n)
    if not isinstance(symmetric, bool):
        raise HwsimError(f"lut-mpgemm symmetric must be true or false, got {symmetric!r}")
    tb = table_bits(k, act)
    entries = 1 << (k - 1 if symmetric else k)
    is_float = act == "fp16"
    acc_fmt = get_float_format(acc) if is_float else None
    acc_bits = acc_fmt.total_bits if is_float else int(acc[3:])
    plane_bits = bits_for(bits - 1)
    inputs = {f"t_{r}_{i}": tb for r in range(m) for i in range(entries)}
    inputs |= {f"w_{c}": k for c in range(n)}
    if bits > 1:
        inputs["plane"] = plane_bits
    inputs["clr"] = 1
    with fresh_block() as block:
        pipe = Pipeline(pipeline, BOUNDARIES, "lut-mpgemm")
        rst = pipe.rst if pipe.rst is not None else pyrtl.Input(1, "rst")
        ports = {p: pyrtl.Input(w, p) for p, w in inputs.items()}
        plane = ports.get("plane", const(0, 1))
        y = pyrtl.Output(m * n * acc_bits, "y")
        terms = []
        for r in range(m):
            table = [ports[f"t_{r}_{i}"] for i in range(entries)]
            for c in range(n):
                x = ports[f"w_{c}"]
                if not symmetric:  # the full table: select, no negation
                    entry = pyrtl.mux(x, *table)
                    terms.append(scale_fp16(entry, plane, acc_fmt) if is_float else
                                 pyrtl.shift_left_logical(entry.sign_extended(acc_bits), plane))
                    continue
                pos = x[0]
                idx = pyrtl.select(pos, x[1:], ~x[1:])
                entry = pyrtl.mux(idx, *table) if entries > 1 else table[0]
                if not is_float:  # widen first: -(-2^(tb-1)) needs tb + 1 bits
                    entry = entry.sign_extended(acc_bits)
                signed = pyrtl.select(pos, entry, negate(entry, is_float))
                if is_float:
                    terms.append(scale_fp16(signed, plane, acc_fmt))
                else:
                    terms.append(pyrtl.shift_left_logical(signed, plane))
        *terms, clr = pipe.stage("term", *terms, ports["clr"])
        accs = []
        for term in terms:
            accum = pyrtl.Register(acc_bits)
            base = pyrtl.select(clr, const(0, acc_bits), accum)
            if is_float:
                total = canonical_nan(adder(base, term, acc_fmt, False,
                                            Pipeline(0, NO_PIPE, "accumulate")), acc_fmt)
            else:
                total = (base + term)[:acc_bits]
            accum.next <<= pyrtl.select(rst, const(0, acc_bits), total)
            accs.append(accum)
        y <<= pyrtl.concat_list(accs)
    return RtlUnit(
        name=f"lut_mpgemm_{act}_{acc}_w{bits}_k{k}_m{m}_n{n}_p{pipeline}"
             f"{'' if symmetric else '_full'}",
        unit="lut-mpgemm",
        block=block,
        inputs=inputs,
        outputs={"y": m * n * acc_bits},
        latency=1 + pipeline,
        reference=_reference(k, m, n, bits, act, acc, symmetric),
        params={"k": k, "m": m, "n": n, "weight_bits": bits, "format": act, "acc": acc,
                "pipeline": pipeline, "symmetric": symmetric},
        stateful=True,
    )


def ops_per_cycle(k: int, m: int, n: int, weight_bits: int) -> float:
    """Weight x activation operations (multiply and add: 2) per cycle of the tile."""
    return 2.0 * m * n * k / weight_bits
