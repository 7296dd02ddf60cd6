"""Minifloats against integers on an FPGA LUT budget: quantisation error vs throughput and LUTs.

For ResNet-18 and ViT-B/16 every format (int4..int8, finite-only minifloats of 4..8 bits)
gets three numbers, and the Pareto-optimal formats are marked:

- **error**: for every weight layer (Conv2d, and MatMul with weights) of the built-in graph,
  synthetic operands of that layer's shape are quantised per tensor (WxAx, absmax scaled to
  the format's largest value, RNE) and the layer output is compared with the float64
  output: SQNR in dB, then the mean and the worst over layers. Convolutions are lowered by
  im2col at ``rows`` sampled output positions, linear layers take ``rows`` sampled tokens.
  Products and sums are in float64, i.e. exact accumulation.
- **PE LUTs**: a measured, LUT-only (no DSP) Yosys table of one processing element per format
  (``hwsim/data/fpga_pe_luts.yaml``, made by ``sim_results/fpga_minifloat_vs_int/
  synth_pe_luts.py``).
  Cost "views" say which circuit counts as the PE (see :data:`VIEWS`).
- **throughput**: ``floor(budget / PE LUTs)`` PEs as a near-square array on the board's LUT
  budget, clocked by :func:`hwsim.devices.systolic.fpga.clock_estimate_mhz` from the PE's
  logic depth, simulated by :func:`hwsim.devices.run` on the model's array ops. These
  simulations are sweep points (:func:`array_canonical`, :func:`evaluate_point`); the study's
  ``run.py`` runs them through ``hwsim.sweep`` (SQLite store, resumable).

Everything is a deterministic function of the arguments (seeded); nothing is downloaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.errors import HwsimError
from hwsim.numerics import IntFormat, get_format, quantize, sqnr_db
from hwsim.sourced import Table, load_table, read_table
from hwsim.studies.tensors import llm_activations, llm_weights

INT_FORMATS: tuple[str, ...] = tuple(f"int{b}" for b in range(4, 9))
# every eXmY with 1 + X + Y = bits, X >= 2, Y >= 1; the 3-bit set is empty under that rule.
# Finite-only ("fn") variants: IEEE-like Inf/NaN codes would waste a quarter of a 2-bit
# exponent's values, which no low-bit accelerator format does.
MINIFLOAT_FORMATS: tuple[str, ...] = tuple(
    f"fp{b}_e{x}m{b - 1 - x}fn" for b in range(3, 9) for x in range(2, b - 1))
FORMATS: tuple[str, ...] = INT_FORMATS + MINIFLOAT_FORMATS
MODELS: tuple[str, ...] = ("resnet18", "vit-b16")

#: the study's LUT-only PE table, shipped in the package (hwsim.sourced format)
PE_TABLE = "hwsim/data/fpga_pe_luts.yaml"
#: Yosys flows of the PE tables: family -> (command, unit of luts / carry / dsp / ff)
YOSYS_FLOWS: dict[str, tuple[str, dict[str, str]]] = {
    "xilinx": ("synth_xilinx -family xc7",
               {"luts": "LUT6", "carry": "CARRY4", "dsp": "DSP48E1", "ff": "flip-flops"}),
    "xilinx-nodsp": ("synth_xilinx -family xc7 -nodsp",
                     {"luts": "LUT6", "carry": "CARRY4", "dsp": "DSP48E1", "ff": "flip-flops"}),
    "ecp5": ("synth_ecp5",
             {"luts": "LUT4", "carry": "CCU2C", "dsp": "MULT18X18D", "ff": "flip-flops"}),
    "ice40": ("synth_ice40",
              {"luts": "LUT4", "carry": "SB_CARRY", "dsp": "SB_MAC16", "ff": "flip-flops"}),
}

#: view -> (table key prefix for ints, for minifloats): which circuit is "the PE"
VIEWS: dict[str, tuple[str, str]] = {
    # whole MAC: int-mac (2N+16-bit accumulator) vs mac with an fp16 accumulator
    "mac_fp16": ("mac", "mac_fp16"),
    # whole MAC: int-mac vs mac with an fp32 accumulator (what exact-ish accumulation costs)
    "mac_fp32": ("mac", "mac_fp32"),
    # whole MAC, both accumulating exactly in fixed point: int-mac vs mac with a Kulisch
    # accumulator (the minifloat MAC with fixed-point accumulation the paper's FPGA library uses)
    "mac_kulisch": ("mac", "mac_kulisch"),
    # multiplier only: accumulator-neutral, as if both used the same (free) accumulator
    "mul": ("mul", "mul"),
}
DEFAULT_FAMILY = "xilinx-nodsp"
DEFAULT_BOARD = "zcu104"
#: every format runs on the simulator with this word size, so SRAM tiling and CALC-mode
#: prefetch are the same for all formats and throughput differs only by array size and clock
SIM_WORD_FORMAT = "int8"


# --------------------------------------------------------------------------------------------
# result records
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    """A weight layer as a GEMM: ``rows`` sampled output rows of ``k`` inputs, ``n`` outputs."""

    model: str
    name: str
    kind: str  # "conv" or "linear"
    k: int
    n: int
    x_shape: tuple[int, ...] = ()  # conv input (N, C, H, W); empty for linear
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    out_hw: tuple[int, int] = (1, 1)
    relu_input: bool = False  # conv input comes out of a ReLU (all but the stem)


@dataclass(frozen=True)
class LayerError:
    model: str
    layer: str  # first layer of its shape group
    fmt: str
    sqnr_db: float
    count: int = 1  # layers in the model with this shape (and so the same synthetic statistics)


@dataclass(frozen=True)
class PeCost:
    fmt: str
    view: str
    unit: str
    luts: int
    carry: int
    ff: int
    logic_depth_gates: int


@dataclass(frozen=True)
class FormatPoint:
    """One format on one model under one cost view, with its Pareto marks."""

    model: str
    view: str
    fmt: str
    family: str  # "int" or "minifloat"
    bits: int
    sqnr_mean_db: float
    sqnr_worst_db: float
    worst_layer: str
    pe_luts: int
    pe_carry: int
    pe_ff: int
    logic_depth_gates: int
    array_rows: int
    array_cols: int
    clock_mhz: float
    array_cycles: int
    macs: int
    inferences_per_s: float
    pareto_throughput: bool = False
    pareto_luts: bool = False


@dataclass(frozen=True)
class StudyConfig:
    models: tuple[str, ...]
    formats: tuple[str, ...]
    views: tuple[str, ...]
    rows: int
    seed: int
    board: str
    board_luts: int
    lut_budget: int
    lut_budget_fraction: float
    lut_family: str
    dataflow: str
    pe_table: str


@dataclass(frozen=True)
class StudyResult:
    config: StudyConfig
    points: tuple[FormatPoint, ...]
    layer_errors: tuple[LayerError, ...]
    pe_costs: tuple[PeCost, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# layers and synthetic operands
# --------------------------------------------------------------------------------------------
def model_layers(model: str) -> list[Layer]:
    """The weight layers of a built-in graph, in order (attention's QK^T/PV are not weight
    layers and are left out of the error, though the array runs them for throughput)."""
    from workloads import Conv2d, MatMul, build_workload

    out: list[Layer] = []
    for op in build_workload(model).ops:
        if isinstance(op, Conv2d):
            n, c, _, _ = op.x_shape
            if op.groups != 1:
                raise HwsimError(f"{op.name}: grouped convolutions are not modelled here")
            kh, kw = op.kernel
            _, cout, ho, wo = op.out_shape
            out.append(Layer(model, op.name, "conv", c * kh * kw, cout, tuple(op.x_shape),
                             (kh, kw), tuple(op.stride), tuple(op.padding), tuple(op.dilation),
                             (ho, wo), relu_input=c != 3))
        elif isinstance(op, MatMul) and op.b_kind == "weight":
            out.append(Layer(model, op.name, "linear", op.k, op.n))
    return out


def _im2col_rows(x: np.ndarray, layer: Layer, rows: int,
                 rng: np.random.Generator) -> np.ndarray:
    """im2col of ``x`` (C, H, W) at up to ``rows`` random output positions, K ordered
    (C, kh, kw) like a (Cout, C, kh, kw) weight reshaped to (Cout, K)."""
    top, bottom, left, right = layer.padding
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    ho, wo = layer.out_hw
    pos = rng.choice(ho * wo, size=min(rows, ho * wo), replace=False)
    oy, ox = np.divmod(pos, wo)
    kh, kw = layer.kernel
    (sy, sx), (dy, dx) = layer.stride, layer.dilation
    ys = oy[:, None] * sy + np.arange(kh)[None, :] * dy  # (P, kh)
    xs = ox[:, None] * sx + np.arange(kw)[None, :] * dx  # (P, kw)
    patches = xp[:, ys[:, :, None], xs[:, None, :]]  # (C, P, kh, kw)
    return np.ascontiguousarray(patches.transpose(1, 0, 2, 3).reshape(len(pos), -1))


def layer_operands(layer: Layer, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic (activations (P, K), weights (K, N)) for one layer, float64.

    ResNet-like (conv layers and the classifier of a CNN): He-normal weights
    N(0, 2 / fan_in); inputs ReLU(N(0, 1)) except the stem, which sees a normalised image
    N(0, 1). Transformer-like (linear layers of ViT): weights N(0, 0.02^2) and activations
    with a few 20x outlier channels (:mod:`hwsim.studies.tensors`); ViT's patch-embedding
    convolution sees N(0, 1) pixels and has N(0, 0.02^2) weights.
    """
    rng = np.random.default_rng(seed)
    transformer = layer.model.startswith("vit")
    if layer.kind == "conv":
        _, c, h, w = layer.x_shape
        x = rng.standard_normal((c, h, w))
        if layer.relu_input:
            x = np.maximum(x, 0.0)
        a = _im2col_rows(x, layer, rows, rng)
    elif transformer:
        a = llm_activations(rows, layer.k, seed=seed).astype(np.float64)
    else:  # a CNN's classifier reads pooled ReLU outputs
        a = np.maximum(rng.standard_normal((rows, layer.k)), 0.0)
    if transformer:
        wt = llm_weights(layer.k, layer.n, seed=seed + 1).astype(np.float64)
    else:
        wt = rng.standard_normal((layer.k, layer.n)) * math.sqrt(2.0 / layer.k)
    return a, wt


def quantize_per_tensor(x: np.ndarray, fmt: str) -> np.ndarray:
    """Fake-quantise ``x`` with one absmax scale: the largest |x| maps to the format's
    largest finite value (symmetric for ints: +-(2^(N-1) - 1)), RNE, back in float64."""
    f = get_format(fmt)
    top = float(f.max_value if isinstance(f, IntFormat) else f.max_normal)
    amax = float(np.max(np.abs(x)))
    if amax == 0.0:
        return np.zeros_like(x)
    scale = amax / top
    # float64 in and out so the scale itself adds no rounding
    return quantize(x / scale, fmt, saturate=True).astype(np.float64) * scale


def layer_sqnr(a: np.ndarray, w: np.ndarray, fmt: str) -> float:
    ref = a @ w
    return sqnr_db(ref, quantize_per_tensor(a, fmt) @ quantize_per_tensor(w, fmt))


def shape_groups(layers: Sequence[Layer]) -> list[tuple[Layer, int]]:
    """Layers with one shape, grouped: (first layer, count), in order of first appearance.

    Layers of equal shape get operands from the same synthetic distributions (only the seed
    would differ), so one of them stands for all; ViT-B/16's 12 encoder blocks become one.
    """
    groups: dict[tuple, list] = {}
    for layer in layers:
        sig = (layer.kind, layer.k, layer.n, layer.x_shape, layer.kernel, layer.stride,
               layer.padding, layer.dilation, layer.relu_input)
        groups.setdefault(sig, [layer, 0])[1] += 1
    return [(g[0], g[1]) for g in groups.values()]


def layer_errors(layers: Sequence[Layer], formats: Sequence[str], rows: int,
                 seed: int) -> list[LayerError]:
    out = []
    for i, (layer, count) in enumerate(shape_groups(layers)):
        a, w = layer_operands(layer, rows, seed + 1000 * i)
        out.extend(LayerError(layer.model, layer.name, f, layer_sqnr(a, w, f), count)
                   for f in formats)
    return out


# --------------------------------------------------------------------------------------------
# hardware: PE table, array, throughput
# --------------------------------------------------------------------------------------------
def table_key(fmt: str, view: str) -> str:
    int_prefix, mf_prefix = VIEWS[view]
    return f"{int_prefix if fmt.startswith('int') else mf_prefix}_{fmt}"


def pe_candidates(formats: Sequence[str]) -> list[tuple[str, str, dict]]:
    """(table key, RTL unit, parameters) of every design the views need."""
    out: list[tuple[str, str, dict]] = []
    for f in formats:
        if f.startswith("int"):
            out += [(f"mac_{f}", "int-mac", {"format": f}), (f"mul_{f}", "int-mul", {"format": f})]
        else:
            out += [(f"mac_fp32_{f}", "mac", {"format": f, "acc": "fp32"}),
                    (f"mac_fp16_{f}", "mac", {"format": f, "acc": "fp16"}),
                    (f"mac_kulisch_{f}", "mac", {"format": f, "acc": "kulisch"}),
                    (f"mul_{f}", "minifloat-mul", {"format": f})]
    return out


def synthesis_entries(units: Mapping[str, Mapping[str, Any]], yosys: str) -> dict[str, Any]:
    """Sourced-table entries (:mod:`hwsim.sourced`) of measured designs: ``units`` maps a table
    key to ``{"unit", "params", "fpga": {family: {luts, carry, dsp, ff}}, "logic_depth_gates",
    "pyrtl_delay_ps", "transistors"}`` as the synthesis scripts record them; ``yosys`` names
    the tool and version."""
    out: dict[str, Any] = {}
    for key, u in units.items():
        params = ", ".join(f"{k}={v}" for k, v in u["params"].items() if v is not None)
        design = f"rtl unit {u['unit']} ({params}), this repository"
        e: dict[str, Any] = {"rtl_unit": {"value": u["unit"], "unit": "rtl unit",
                                          "source": f"rtl generators: {design}"}}
        for family, counts in u["fpga"].items():
            cmd, units_of = YOSYS_FLOWS[family]
            e[family] = {k: {"value": int(counts[k]), "unit": units_of[k],
                             "source": f"{yosys} {cmd} of {design}"} for k in units_of}
        e["logic_depth_gates"] = {"value": int(u["logic_depth_gates"]), "unit": "gates",
                                  "source": f"{yosys} ltp -noff (two-input gates) of {design}"}
        e["pyrtl_delay_ps"] = {"value": float(u["pyrtl_delay_ps"]), "unit": "ps",
                               "source": f"PyRTL timing analysis of {design}"}
        e["transistors"] = {"value": int(u["transistors"]), "unit": "transistors",
                            "source": f"{yosys} stat -tech cmos (abc -g cmos2) of {design}"}
        out[key] = e
    return out


def pe_table(table: str | Path = PE_TABLE) -> Table:
    """The shipped PE table, or a table file at another path."""
    if str(table) == PE_TABLE:
        return load_table("hwsim", "data/fpga_pe_luts.yaml")
    return read_table(table, where=str(table))


def load_pe_costs(formats: Sequence[str], views: Sequence[str], *,
                  table: str | Path = PE_TABLE, family: str = DEFAULT_FAMILY) -> list[PeCost]:
    """PE costs from the stored Yosys table; a missing entry is an error naming the script."""
    t = pe_table(table)
    out = []
    for view in views:
        if view not in VIEWS:
            raise HwsimError(f"unknown cost view {view!r}; known: {', '.join(VIEWS)}")
        for f in formats:
            key = table_key(f, view)
            if key not in t.children() or family not in t.children(key):
                raise HwsimError(f"no LUT-only synthesis of {key!r} ({family}) in {t.where}; "
                                 "run sim_results/fpga_minifloat_vs_int/synth_pe_luts.py")
            x = t.group(f"{key}.{family}")
            out.append(PeCost(f, view, str(t.value(f"{key}.rtl_unit")), int(x["luts"].value),
                              int(x["carry"].value), int(x["ff"].value),
                              int(t.value(f"{key}.logic_depth_gates"))))
    return out


def near_square(pes: int) -> tuple[int, int]:
    """rows x cols <= ``pes`` with rows = floor(sqrt(pes)): no power-of-two rounding, so the
    array uses (almost) the whole budget and throughput tracks PE cost smoothly."""
    if pes < 1:
        raise HwsimError("the LUT budget cannot fit one PE")
    rows = math.isqrt(pes)
    return rows, pes // rows


def clock_mhz(cost: PeCost) -> float:
    from costmodel.provider import FpgaResources
    from hwsim.devices.systolic.fpga import clock_estimate_mhz

    return clock_estimate_mhz(FpgaResources(cost.luts, 0, cost.ff, cost.logic_depth_gates))


def _array_spec(rows: int, cols: int, clock: float, dataflow: str,
                sram_kb: tuple[int, int, int]) -> Any:
    from hwsim.devices.systolic import SystolicSpec

    return SystolicSpec(rows=rows, cols=cols, dataflow=dataflow, sram_kb=tuple(sram_kb),
                        bandwidth_words=None, clock_mhz=clock, name="fpga-lut")


def _sim_precision() -> Any:
    from workloads.formats import Precision

    f = SIM_WORD_FORMAT
    return Precision(name=f"w{f}a{f}", weight=f, act=f, acc="int32", out=f, hp=f)


@lru_cache(maxsize=4)
def _graph(model: str) -> Any:
    from workloads import build_workload

    return build_workload(model, precision=_sim_precision())


def array_run(model: str, rows: int, cols: int, clock: float, *, dataflow: str = "ws",
              sram_kb: tuple[int, int, int] = (468, 468, 468)) -> tuple[int, int]:
    """(cycles, MACs) of the model's array ops on a rows x cols array, SCALE-Sim CALC mode."""
    m = array_metrics(model, _array_spec(rows, cols, clock, dataflow, sram_kb))
    return m["total_cycles"], m["macs"]


def array_metrics(model: str, spec: Any) -> dict[str, Any]:
    """The sweep metrics (:data:`hwsim.sweep.METRICS`) of the model's array ops on ``spec``.

    Vector-unit ops (norms, activations, pooling, softmax) are left out: an FPGA design folds
    batch norm into the weights and fuses the rest into the datapath, and the simulator's
    fallback unit is as wide as the array, which would tie their cost to the PE format. So
    ``total_cycles``, ``macs`` and ``energy_total_pj`` here count the array alone.
    """
    from hwsim.devices import run

    res = run(spec, _graph(model))
    ops = [o for o in res.ops if o.unit == "array"]
    cycles = sum(o.total_cycles for o in ops)
    macs = sum(o.macs for o in ops)
    peak = spec.rows * spec.cols
    return {"total_cycles": cycles, "compute_cycles": sum(o.compute_cycles for o in ops),
            "stall_cycles": sum(o.stall_cycles for o in ops), "macs": macs,
            "peak_macs_per_cycle": peak, "clock_mhz": spec.clock_mhz,
            "seconds": cycles / (spec.clock_mhz * 1e6),
            "energy_total_pj": sum(o.energy_pj for o in ops),
            "utilisation": macs / (cycles * peak) if cycles else 0.0}


# --------------------------------------------------------------------------------------------
# the array simulations as sweep points (run through hwsim.sweep by the study's run.py)
# --------------------------------------------------------------------------------------------
#: simulate(jobs) -> (cycles, MACs) of each (model, systolic spec) job, in order
Simulate = Callable[[Sequence[tuple[str, Any]]], list[tuple[int, int]]]


def array_canonical(model: str, spec: Any) -> dict[str, Any]:
    """One array simulation as a sweep point's canonical form (what ``hwsim.sweep`` keys and
    stores): the device's every field, the workload and the precision it runs in."""
    from dataclasses import asdict

    from hwsim.devices.base import spec_fields

    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in spec_fields(spec).items()}
    return {"device": {"kind": "systolic", **fields},
            "workload": {"name": model, "phase": "inference", "seq": None, "kv_len": None,
                         "batch": 1, "layers": None},
            "precision": asdict(_sim_precision())}


def evaluate_point(task: dict[str, Any]) -> dict[str, Any]:
    """A sweep worker for a point whose task is ``{"model", "spec"}`` (the spec's fields):
    the outcome ``hwsim.sweep``'s store records; a failure comes back, it is never raised."""
    import time
    import traceback

    start = time.perf_counter()
    try:
        s = task["spec"]
        spec = _array_spec(s["rows"], s["cols"], s["clock_mhz"], s["dataflow"], s["sram_kb"])
        return {"status": "done", "metrics": array_metrics(task["model"], spec),
                "wall_s": time.perf_counter() - start}
    except Exception as exc:  # recorded in the store, never stops the sweep
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
        return {"status": "failed", "error": f"{type(exc).__name__}: {exc}{where}",
                "wall_s": time.perf_counter() - start}


def simulate_here(jobs: Sequence[tuple[str, Any]]) -> list[tuple[int, int]]:
    """:data:`Simulate` in this process, no store."""
    out = []
    for model, spec in jobs:
        m = array_metrics(model, spec)
        out.append((m["total_cycles"], m["macs"]))
    return out


# --------------------------------------------------------------------------------------------
# Pareto
# --------------------------------------------------------------------------------------------
def pareto_mask(cost: Sequence[float], quality: Sequence[float], *,
                maximise_cost_axis: bool = False) -> list[bool]:
    """True where no other point is at least as good on both axes and better on one.

    ``quality`` is maximised; ``cost`` is minimised, or maximised with ``maximise_cost_axis``
    (throughput). Equal points are all kept.
    """
    c = np.asarray(cost, dtype=float) * (-1.0 if maximise_cost_axis else 1.0)
    q = np.asarray(quality, dtype=float)
    out = []
    for i in range(len(c)):
        better_eq = (c <= c[i]) & (q >= q[i])
        strictly = (c < c[i]) | (q > q[i])
        out.append(not bool(np.any(better_eq & strictly)))
    return out


# --------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------
def _bits(fmt: str) -> int:
    f = get_format(fmt)
    return int(f.bits if isinstance(f, IntFormat) else f.total_bits)


def run(models: Sequence[str] = MODELS, formats: Sequence[str] = FORMATS, *,
        views: Sequence[str] = tuple(VIEWS), rows: int = 256, seed: int = 0,
        board: str = DEFAULT_BOARD, family: str = DEFAULT_FAMILY,
        pe_table: str | Path = PE_TABLE, dataflow: str = "ws",
        max_layers: int | None = None, simulate: Simulate = simulate_here,
        on_model: Callable[[str], None] | None = None) -> StudyResult:
    """Error, PE cost and throughput of every format on every model; Pareto marks per
    (model, view). ``max_layers`` keeps only the first layers of each model (quick tests).

    ``simulate`` runs the distinct array simulations (one per model, array shape and clock):
    here by default; the study's ``run.py`` runs them as a sweep through ``hwsim.sweep``'s
    store and reads them back from it."""
    from hwsim.devices.systolic.fpga import LUT_BUDGET_FRACTION, get_board

    b = get_board(board)
    budget = int(b.luts * LUT_BUDGET_FRACTION)
    sram = (b.bram_kb // 3,) * 3
    costs = load_pe_costs(formats, views, table=pe_table, family=family)
    arrays: dict[tuple[str, str, str], tuple[str, Any]] = {}  # (model, fmt, view) -> job
    for model in models:
        for cost in costs:
            r, c = near_square(budget // max(cost.luts, 1))
            spec = _array_spec(r, c, round(clock_mhz(cost), 1), dataflow, sram)
            arrays[model, cost.fmt, cost.view] = (model, spec)
    jobs = list(dict.fromkeys(arrays.values()))  # distinct, in first-use order
    sims = dict(zip(jobs, simulate(jobs), strict=True))
    errors: list[LayerError] = []
    points: list[FormatPoint] = []
    for model in models:
        if on_model is not None:
            on_model(model)
        layers = model_layers(model)[:max_layers]
        errs = layer_errors(layers, formats, rows, seed)
        errors += errs
        for view in views:
            model_points = []
            for cost in (c for c in costs if c.view == view):
                mine = [e for e in errs if e.fmt == cost.fmt]
                worst = min(mine, key=lambda e: e.sqnr_db)
                job = arrays[model, cost.fmt, cost.view]
                spec = job[1]
                cycles, macs = sims[job]
                model_points.append(FormatPoint(
                    model=model, view=view, fmt=cost.fmt,
                    family="int" if cost.fmt.startswith("int") else "minifloat",
                    bits=_bits(cost.fmt),
                    sqnr_mean_db=float(np.average([e.sqnr_db for e in mine],
                                                  weights=[e.count for e in mine])),
                    sqnr_worst_db=worst.sqnr_db, worst_layer=worst.layer,
                    pe_luts=cost.luts, pe_carry=cost.carry, pe_ff=cost.ff,
                    logic_depth_gates=cost.logic_depth_gates, array_rows=spec.rows,
                    array_cols=spec.cols, clock_mhz=spec.clock_mhz,
                    array_cycles=cycles, macs=macs,
                    inferences_per_s=spec.clock_mhz * 1e6 / cycles))
            sq = [p.sqnr_mean_db for p in model_points]
            thr = pareto_mask([p.inferences_per_s for p in model_points], sq,
                              maximise_cost_axis=True)
            lut = pareto_mask([p.pe_luts for p in model_points], sq)
            points += [_mark(p, t, u) for p, t, u in zip(model_points, thr, lut, strict=True)]
    cfg = StudyConfig(tuple(models), tuple(formats), tuple(views), rows, seed, b.name, b.luts,
                      budget, LUT_BUDGET_FRACTION, family, dataflow, str(pe_table))
    return StudyResult(cfg, tuple(points), tuple(errors), tuple(costs))


def _mark(p: FormatPoint, thr: bool, lut: bool) -> FormatPoint:
    from dataclasses import replace

    return replace(p, pareto_throughput=thr, pareto_luts=lut)
