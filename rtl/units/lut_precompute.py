"""``lut-precompute``: the table of a LUT tensor core for one group of K activations.

Inputs ``a_0 .. a_{K-1}`` (int8 two's complement or fp16 codes); output ``y`` holds the
``2^(K-1)`` entries ``T[i] = a_0 + sum_k (+-a_k)`` (sign of ``a_k`` from bit ``k-1`` of ``i``),
entry ``i`` in bits ``[i*w, (i+1)*w)``. Golden model and the fp16 rounding rule:
:mod:`hwsim.numerics.lut` (left to right, each addition IEEE RNE). The table is built as a
prefix tree: level ``j`` adds ``+a_j`` and ``-a_j`` to each of the ``2^(j-1)`` partial sums of
level ``j-1`` (``2 + 4 + ... + 2^(K-1)`` adders, each partial sum rounded once and shared).

int8: exact two's-complement sums of ``8 + ceil(log2 K)`` bits. fp16: the project's minifloat
adder (:func:`rtl.units.minifloat_add.adder`) with the subtrahend's sign bit flipped; a NaN
entry is the canonical quiet NaN ``0x7e00``.

Stage boundaries: ``sum<j>`` (after level ``j``), the last level first (an output register),
then the middle of the tree.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyrtl

from hwsim.numerics import decode, encode, get_float_format, lut_table
from hwsim.numerics.lut import check_act_format, check_k, table_bits
from rtl.build import Pipeline, fresh_block
from rtl.fp import const
from rtl.registry import RtlUnit, register
from rtl.units.minifloat_add import adder

FP16 = get_float_format("fp16")
NO_PIPE = ("none",)


def boundaries(k: int) -> tuple[str, ...]:
    levels = [f"sum{j}" for j in range(1, k)]
    return (levels[-1], *sorted(levels[:-1], key=lambda s: abs(int(s[3:]) - k / 2)))


def canonical_nan(code: pyrtl.WireVector, fmt) -> pyrtl.WireVector:
    """``code``, or the format's positive quiet NaN where ``code`` is any NaN."""
    m = fmt.man_bits
    is_nan = (code[m:m + fmt.exp_bits] == (1 << fmt.exp_bits) - 1) & (code[:m] != 0)
    return pyrtl.select(is_nan, const(fmt.nan_code, fmt.total_bits), code)


def negate(code: pyrtl.WireVector, is_float: bool) -> pyrtl.WireVector:
    """``-x``: the sign bit flipped (float) or the two's complement (int, same width)."""
    n = len(code)
    if is_float:
        return pyrtl.concat(~code[n - 1], code[: n - 1])
    return (~code + 1)[:n]


def _add(x: pyrtl.WireVector, y: pyrtl.WireVector, is_float: bool) -> pyrtl.WireVector:
    if is_float:
        return canonical_nan(adder(x, y, FP16, False, Pipeline(0, NO_PIPE, "fp16 add")), FP16)
    return (x + y)[: len(x)]


def table_logic(acts: list[pyrtl.WireVector], act: str, pipe: Pipeline
                ) -> list[pyrtl.WireVector]:
    """The 2^(K-1) entries, index order, from the K activation codes."""
    k = len(acts)
    is_float = act == "fp16"
    width = table_bits(k, act)
    ops = [a if is_float else a.sign_extended(width) for a in acts]
    level = [canonical_nan(ops[0], FP16) if is_float else ops[0]]
    for j in range(1, k):
        minus, plus = negate(ops[j], is_float), ops[j]
        # entry index bit j-1 is a_j's sign: the new bit is the most significant so far
        level = [_add(s, minus, is_float) for s in level] + \
                [_add(s, plus, is_float) for s in level]
        level = list(pipe.stage(f"sum{j}", *level))
        ops = list(pipe.stage(f"sum{j}", *ops)) if j < k - 1 else ops
    return level


def signed_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    v = np.asarray(codes, dtype=np.uint64).astype(np.int64)
    return np.where(v >= 1 << (bits - 1), v - (1 << bits), v)


def act_values(codes: np.ndarray, act: str) -> np.ndarray:
    return decode(codes, "fp16").astype(np.float64) if act == "fp16" else signed_codes(codes, 8)


def entry_codes(values: np.ndarray, fmt_name: str, bits: int) -> np.ndarray:
    """Codes of values: float formats with the canonical NaN, integers two's complement."""
    if fmt_name.startswith("fp"):
        codes = encode(values, fmt_name).astype(np.uint64)
        return np.where(np.isnan(values), np.uint64(get_float_format(fmt_name).nan_code), codes)
    return values.astype(np.int64).astype(np.uint64) & np.uint64((1 << bits) - 1)


def pack(columns: list[np.ndarray], bits: int) -> np.ndarray:
    """Per-field code arrays as one code, field 0 lowest (as ``pyrtl.concat_list``)."""
    out = np.zeros(len(columns[0]), dtype=np.uint64)
    for i, c in enumerate(columns):
        out |= np.asarray(c, dtype=np.uint64) << np.uint64(i * bits)
    return out


def _reference(k: int, act: str):
    width = table_bits(k, act)

    def ref(inputs: Mapping[str, np.ndarray]) -> np.ndarray:
        a = np.stack([act_values(inputs[f"a_{j}"], act) for j in range(k)], axis=-1)
        with np.errstate(over="ignore", invalid="ignore"):
            table = lut_table(a, act)
        codes = entry_codes(table, act if act == "fp16" else "int", width)
        return pack([codes[:, i] for i in range(table.shape[1])], width)

    return ref


@register("lut-precompute")
def build_lut_precompute(k: int = 3, format: str = "int8",  # noqa: A002
                         pipeline: int = 0) -> RtlUnit:
    """The table of K activations (module docstring). The default K=3 keeps ``y`` (4 entries)
    within the 64 bits ``hwsim rtl verify`` carries; the paper's K=4 gives 80 (int8) or 128
    (fp16) bits, checked entry by entry in PyRTL by tests/rtl/test_lut_units.py."""
    k = check_k(k)
    act = check_act_format(format)
    in_bits = 8 if act == "int8" else 16
    width = table_bits(k, act)
    entries = 1 << (k - 1)
    with fresh_block() as block:
        pipe = Pipeline(pipeline, boundaries(k), "lut-precompute")
        acts = [pyrtl.Input(in_bits, f"a_{j}") for j in range(k)]
        y = pyrtl.Output(entries * width, "y")
        y <<= pyrtl.concat_list(table_logic(acts, act, pipe))
    return RtlUnit(
        name=f"lut_precompute_{act}_k{k}_p{pipeline}",
        unit="lut-precompute",
        block=block,
        inputs={f"a_{j}": in_bits for j in range(k)},
        outputs={"y": entries * width},
        latency=pipeline,
        reference=_reference(k, act),
        params={"k": k, "format": act, "pipeline": pipeline},
    )
