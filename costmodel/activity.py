"""Energy-per-operation proxy from switching activity in PyRTL simulation.

Every non-constant wire of a unit is traced while it processes two operand streams quantised
to its format: ``normal`` (N(0, 1), as weights are) and ``llm`` (Student-t with 3 degrees of
freedom plus a few outlier channels 20-60x larger, scaled per tensor so the largest magnitude
meets the format's largest value, as activations of large language models are). Each bit
transition of a net is weighted by its operator type (``costmodel/data/toggle_weights.yaml``
gives the weights and where they come from), and the total is converted to pJ by one anchor:
an 8-bit integer multiplier costs 0.2 pJ at 45 nm (Horowitz, ISSCC 2014).

The LUT tensor core units take their operands as a LUT core would (:func:`_lut_stream`):
``lut-precompute`` the stream's K activations per cycle; ``lut-mpgemm`` per row the table of K
stream activations (``hwsim.numerics.lut_table``), per column the weight bit-plane of K
weights (N(0, 1) values, +-3 sigma quantised to B-bit codes), tables and weights held while
``plane`` steps 0..B-1, ``clr`` on the first plane of every 32nd K-group. Their "operation"
is one cycle of the unit (one table; one bit-plane of the tile), as for every other unit.

This is a proxy for comparing designs with each other, not a power-signoff figure: glitches,
wire capacitance and the synthesised gate structure are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from costmodel.space import DesignPoint
from hwsim.errors import HwsimError
from hwsim.numerics import FloatFormat, IntFormat, encode, quantize_blocks, resolve
from hwsim.sourced import load_table

STREAMS = ("normal", "llm")
N_CYCLES = 256  # operand vectors per stream: enough for the mean toggle rate to settle (~2%)
SEED = 20240


@dataclass(frozen=True)
class ToggleWeights:
    """Weights per PyRTL operator (GE per toggled bit) and the pJ calibration anchor."""

    op_ge: Mapping[str, float]
    clock_ge_per_bit_cycle: float
    anchor_unit: str
    anchor_format: str
    anchor_pj: float


@cache
def load_toggle_weights() -> ToggleWeights:
    t = load_table("costmodel", "data/toggle_weights.yaml")
    tech = load_table("costmodel", "data/tech/horowitz_45nm.yaml")
    unit, fmt = str(t.value("calibration.rtl_unit")), str(t.value("calibration.rtl_format"))
    # the anchor's published 45 nm energy: Horowitz's 8-bit integer multiply
    if (unit, fmt) != ("int-mul", "int8"):
        raise HwsimError(f"{t.where}: the calibration anchor must be the int-mul int8 that "
                         f"{tech.where} prices (ops.int8_mul), got {unit} {fmt}")
    return ToggleWeights(
        op_ge={k: float(e.value) for k, e in t.group("weights").items()},
        clock_ge_per_bit_cycle=float(t.value("clock_ge_per_bit_cycle")),
        anchor_unit=unit, anchor_format=fmt, anchor_pj=float(tech.value("ops.int8_mul")),
    )


def _values(stream: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if stream == "normal":
        return rng.standard_normal(n)
    x = rng.standard_t(3, n)
    outliers = rng.random(n) < 0.02
    x[outliers] *= rng.uniform(20, 60, outliers.sum())
    return x


def _float_codes(x: np.ndarray, f: FloatFormat, scale_to_max: bool) -> np.ndarray:
    if scale_to_max:
        x = x * (float(f.max_normal) / max(float(np.abs(x).max()), 1e-30))
    return np.asarray(encode(x, f, saturate=True)).astype(np.uint64)


def _int_codes(x: np.ndarray, f: IntFormat) -> np.ndarray:
    qmax = (1 << (f.total_bits - 1)) - 1
    q = np.clip(np.rint(x / max(float(np.abs(x).max()), 1e-30) * qmax), -qmax - 1, qmax)
    return (q.astype(np.int64) & ((1 << f.total_bits) - 1)).astype(np.uint64)


def _codes(x: np.ndarray, fmt: str, stream: str) -> np.ndarray:
    f = resolve(fmt)
    if isinstance(f, IntFormat):
        return _int_codes(x, f)
    return _float_codes(x, f, scale_to_max=stream == "llm")


def _requant_stream(stream: str, n: int, rng: np.random.Generator,
                    inputs: Mapping[str, int]) -> dict[str, np.ndarray]:
    """dyadic-requant: accumulators over the top quarter of their range, and per output
    channel (16 outputs each, a PE column's turn) HAWQ's (b, c) for a scale that maps them
    into the int8 range (so a few clamp)."""
    from hwsim.numerics.dyadic import dyadic_scale  # lazy: only this family needs it

    a_bits, b_bits, c_bits = inputs["acc"], inputs["b"], inputs["c"]
    x = _values(stream, n, rng)
    top = 1 << (a_bits - 2)
    acc = np.clip(np.rint(x / np.abs(x).max() * top), -top, top).astype(np.int64)
    chan = np.arange(n) // 16
    scale = 127.0 / top * rng.uniform(0.5, 2.0, chan[-1] + 1)[chan]
    b, c = dyadic_scale(scale, b_bits)
    return {"acc": (acc & ((1 << a_bits) - 1)).astype(np.uint64), "b": b.astype(np.uint64),
            "c": np.clip(c, 0, (1 << c_bits) - 1).astype(np.uint64)}


#: largest fp16 activation magnitude of the ``llm`` stream for the LUT units: scaled to fp16's
#: 65504 as the other units' streams are, K-term table sums would mostly be Inf
LUT_FP16_LLM_MAX = 256.0
#: K-groups accumulated per output before ``clr`` (as the other units' 32-product dot products)
LUT_GROUPS_PER_OUTPUT = 32


def _lut_acts(stream: str, shape: tuple[int, ...], fmt: str,
              rng: np.random.Generator) -> np.ndarray:
    """Activation values of ``stream`` quantised to int8 (per-tensor absmax) or fp16."""
    from hwsim.numerics import quantize

    x = _values(stream, int(np.prod(shape)), rng).reshape(shape)
    if fmt == "int8":
        return np.clip(np.rint(x / max(float(np.abs(x).max()), 1e-30) * 127), -128, 127)
    if stream == "llm":
        x = x * (LUT_FP16_LLM_MAX / max(float(np.abs(x).max()), 1e-30))
    return quantize(x, "fp16").astype(np.float64)


def _lut_codes(values: np.ndarray, fmt: str, bits: int) -> np.ndarray:
    """Port codes of activation or table values: fp16 codes, or two's complement ``bits``."""
    if fmt == "fp16":
        return np.asarray(encode(values, "fp16")).astype(np.uint64)
    return (values.astype(np.int64) & ((1 << bits) - 1)).astype(np.uint64)


def _lut_stream(p: DesignPoint, stream: str, n: int, rng: np.random.Generator,
                inputs: Mapping[str, int]) -> dict[str, np.ndarray]:
    """Operands of the LUT units (the module docstring)."""
    from hwsim.numerics import lut_table

    if p.unit == "lut-precompute":
        a = _lut_acts(stream, (n, p.k), p.format, rng)
        return {f"a_{j}": _lut_codes(a[:, j], p.format, inputs[f"a_{j}"]) for j in range(p.k)}
    b, k = p.weight_bits, p.k
    groups = -(-n // b)
    tables = lut_table(_lut_acts(stream, (groups, p.m, k), p.format, rng), p.format)
    tb = inputs["t_0_0"]
    out = {f"t_{r}_{i}": np.repeat(_lut_codes(tables[:, r, i], p.format, tb), b)[:n]
           for r in range(p.m) for i in range(tables.shape[-1])}
    w = rng.standard_normal((groups, p.n, k))
    top = (1 << b) - 1  # B-bit codes of the odd integers 2q - top (hwsim.numerics.lut)
    # N(0, 1) weights, +-3 sigma over the code range (a symmetric B-bit quantiser)
    q = np.clip(np.rint((w / 3 + 1) * top / 2), 0, top).astype(np.int64)
    plane = np.arange(n) % b
    qc = np.repeat(q, b, axis=0)[:n]  # (n, N, K)
    x = (((qc >> plane[:, None, None]) & 1) << np.arange(k)).sum(axis=-1)
    out |= {f"w_{c}": x[:, c].astype(np.uint64) for c in range(p.n)}
    if "plane" in inputs:
        out["plane"] = plane.astype(np.uint64)
    group = np.arange(n) // b
    out["clr"] = ((plane == 0) & (group % LUT_GROUPS_PER_OUTPUT == 0)).astype(np.uint64)
    return out


def _mixpe_stream(p: DesignPoint, stream: str, n: int, rng: np.random.Generator,
                  inputs: Mapping[str, int]) -> dict[str, np.ndarray]:
    """mixpe / dequant-mac: int8 activations of the stream, or fp16 ones as the LUT units'
    (:func:`_lut_acts`: the ``llm`` stream's largest magnitude :data:`LUT_FP16_LLM_MAX`);
    weights of the stream quantised per group of 32 (mixpe: its own group) to ``B``-bit codes
    with the group's min/max (the zero point) and a scale (int8 activations: an 8-bit code
    relative to the largest group step; fp16: the step's fp16 code); ``s`` and ``z`` held for
    the group."""
    wb = inputs["b"]
    group = p.block or 32
    fp16 = p.format == "fp16"
    a = _lut_codes(_lut_acts(stream, (n,), "fp16", rng), "fp16", 16) if fp16 else \
        _int_codes(_values(stream, n, rng), resolve("int8"))
    w = _values(stream, n, rng).reshape(-1, group) if n % group == 0 else \
        _values(stream, n, rng)[None, :]
    lo, hi = w.min(axis=1, keepdims=True), w.max(axis=1, keepdims=True)
    step = np.maximum(hi - lo, 1e-30) / ((1 << wb) - 1)
    z = np.clip(np.rint(-lo / step), 0, (1 << wb) - 1)
    q = np.clip(np.rint(w / step) + z, 0, (1 << wb) - 1)
    s = encode(step, "fp16").astype(np.uint64) if fp16 else \
        np.clip(np.rint(step / step.max() * 255), 1, 255)
    out = {"a": a, "b": q.ravel().astype(np.uint64),
           "z": np.broadcast_to(z, q.shape).ravel().astype(np.uint64)}
    if "s" in inputs:
        out["s"] = np.broadcast_to(s, q.shape).ravel().astype(np.uint64)
    return out


def operand_stream(p: DesignPoint, inputs: Mapping[str, int], stream: str,
                   n: int = N_CYCLES, seed: int = SEED) -> dict[str, np.ndarray]:
    """Input codes per port for ``n`` cycles of ``stream`` quantised to ``p``'s format."""
    if stream not in STREAMS:
        raise HwsimError(f"unknown operand stream {stream!r}; known: {', '.join(STREAMS)}")
    rng = np.random.default_rng([seed, STREAMS.index(stream)])
    out: dict[str, np.ndarray] = {}
    if p.unit == "block-dot":
        bf = resolve(p.format)
        qf = bf if bf.kind == "bfp" else bf.with_block_size(p.block)  # BFP names its own block
        for side in ("a", "b"):
            x = _values(stream, n * p.block, rng).reshape(n, p.block)
            q = quantize_blocks(x, qf, return_parts=True)
            codes = q.codes.reshape(n, -1)[:, :p.block].astype(np.uint64)
            for i in range(p.block):
                out[f"{side}_{i}"] = codes[:, i]
            if bf.kind == "nvfp4":  # E4M3 scale codes (the per-tensor scale is not an input)
                out[f"s{side}"] = encode(q.scales.reshape(n), bf.scale).astype(np.uint64)
                continue
            width = inputs[f"s{side}"]
            bias = (1 << (width - 1)) - 1
            e = np.rint(np.log2(np.maximum(q.scales.reshape(n), 2.0 ** -bias))) + bias
            out[f"s{side}"] = np.clip(e, 0, (1 << width) - 1).astype(np.uint64)
        return out
    if p.unit == "dyadic-requant":
        return _requant_stream(stream, n, rng, inputs)
    if p.unit in ("mixpe", "dequant-mac"):  # MixPE (sim_results/mixpe)
        return _mixpe_stream(p, stream, n, rng, inputs)
    if p.unit in ("lut-precompute", "lut-mpgemm"):
        return _lut_stream(p, stream, n, rng, inputs)
    if p.unit == "convert" and p.direction == "to":
        x = _values(stream, n, rng)
        x = x * (float(resolve(p.format).max_normal) / 8.0)  # mostly in range, some clip
        # an 8-bit-exponent format's tail overflows fp32: those operands are fp32 infinities
        with np.errstate(over="ignore"):
            out["a"] = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
        return out
    for port in ("a", "b"):
        if port in inputs:
            out[port] = _codes(_values(stream, n, rng), p.format, stream)
    if p.unit == "ternary-acc":  # b: 2-bit codes of the stream's values, absmean-ternarised
        from hwsim.numerics.ternary import absmean_ternary, encode_ternary
        out["b"] = encode_ternary(absmean_ternary(_values(stream, n, rng))[0])
    if "clr" in inputs:  # restart the accumulation every 32 products, as a dot product would
        out["clr"] = (np.arange(n) % 32 == 0).astype(np.uint64)
    return out


def _simulate_all_wires(unit: Any, cols: Mapping[str, np.ndarray], n: int) -> dict[Any, list]:
    import pyrtl  # lazy: start-up time; only netlist work needs PyRTL

    with pyrtl.set_working_block(unit.block, no_sanity_check=True):
        wires = [w for w in unit.block.wirevector_set if not isinstance(w, pyrtl.Const)]
        tracer = pyrtl.SimulationTrace(wires_to_track=wires, block=unit.block)
        # FastSimulation, not CompiledSimulation: the compiled one traces only named ports,
        # and a few hundred cycles of the Python-generated simulator take ~0.1 s
        sim = pyrtl.FastSimulation(tracer=tracer, block=unit.block)
        lists = {k: v.tolist() for k, v in cols.items()}
        if unit.has_reset:
            sim.step({"rst": 1, **{k: 0 for k in unit.inputs}})
        extra = {"rst": 0} if unit.has_reset else {}
        # one step per call: see rtl.pyrtl_sim (multi-step run() mis-traces in PyRTL 1.0.3)
        for k in range(n):
            sim.step({**extra, **{p: lists[p][k] for p in unit.inputs}})
        return {w: tracer.trace[w.name] for w in wires}


def _toggles(values: list) -> int:
    # skip the reset cycle's transition into the first vector: it is not steady-state activity
    v = values[1:] if len(values) > 1 else values
    return sum((int(a) ^ int(b)).bit_count() for a, b in zip(v[:-1], v[1:], strict=True))


def toggle_energy_ge(unit: Any, cols: Mapping[str, np.ndarray]) -> tuple[float, float]:
    """(weighted toggles in GE per cycle, raw bit toggles per cycle) for one stream."""
    import pyrtl  # lazy: start-up time; only netlist work needs PyRTL

    w = load_toggle_weights()
    n = len(next(iter(cols.values())))
    traces = _simulate_all_wires(unit, cols, n)
    tog = {wire: _toggles(vals) for wire, vals in traces.items()}
    cycles = max(n - 1 - (1 if unit.has_reset else 0), 1)

    def t(wire: Any) -> int:
        return 0 if isinstance(wire, pyrtl.Const) else tog.get(wire, 0)

    total = 0.0
    for net in unit.block.logic:
        op = net.op
        if op in "wcs" or op not in w.op_ge:
            continue  # wiring: concatenation and bit selection have no gates
        dest = net.dests[0]
        if op == "*":
            a, b = net.args
            act = t(a) * len(b) + t(b) * len(a)
        elif op in "+-<>=":
            act = sum(t(a) for a in net.args) + t(dest)
        elif op == "x":
            act = t(dest) + t(net.args[0])
        elif op == "r":
            act = t(dest)
            total += w.clock_ge_per_bit_cycle * len(dest) * cycles
        else:
            act = t(dest)
        total += w.op_ge[op] * act
    raw = sum(tog.values())
    return total / cycles, raw / cycles


def design_energy_ge(p: DesignPoint, unit: Any) -> dict[str, float]:
    """GE per operation on each stream, and the mean (one operation per cycle)."""
    out: dict[str, float] = {}
    for stream in STREAMS:
        cols = operand_stream(p, unit.inputs, stream)
        ge, raw = toggle_energy_ge(unit, cols)
        out[f"energy_ge_{stream}"] = ge
        out[f"toggles_{stream}"] = raw
    out["energy_ge"] = float(np.mean([out[f"energy_ge_{s}"] for s in STREAMS]))
    return out


@cache
def pj_per_ge() -> float:
    """pJ per GE toggle, from the calibration anchor's simulated activity."""
    from rtl.unit import build_unit  # lazy: PyRTL and every generator, for new designs only

    w = load_toggle_weights()
    p = DesignPoint(w.anchor_unit, w.anchor_format)
    unit = build_unit(p.unit, **p.params())
    ge, _ = toggle_energy_ge(unit, operand_stream(p, unit.inputs, "normal"))
    return w.anchor_pj / ge


def clock_pj_per_bit() -> float:
    """pJ per register bit and operation of the clock term :func:`toggle_energy_ge` adds (one
    operation per cycle): exact, a known function of the register bits."""
    return load_toggle_weights().clock_ge_per_bit_cycle * pj_per_ge()
