"""PyRTL's own simulator as a fast cross-check of the generated units (no Verilog involved).

The cycle convention is the cocotb bench's (:mod:`rtl.verify.bench`): each step applies one
vector, records ``y`` before the clock edge, then the registers update; a unit with a reset is
held in reset for the same number of cycles first, and ``rst`` mid-stream is driven from the
same per-cycle column (:func:`rtl.verify.vectors.reset_column`). So the same comparison
(:func:`rtl.verify.vectors.check_samples`) applies to both simulators.

``CompiledSimulation`` (PyRTL emits C and compiles it) is used where a C compiler works,
``FastSimulation`` otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

import numpy as np
import pyrtl

from rtl.registry import RtlUnit
from rtl.verify.runner import RESET_CYCLES
from rtl.verify.vectors import VerifyResult, check_samples, reset_column, resolve_vectors


def _simulator(unit: RtlUnit):
    with pyrtl.set_working_block(unit.block, no_sanity_check=True):
        y = unit.block.get_wirevector_by_name("y")
        tracer = pyrtl.SimulationTrace(wires_to_track=[y], block=unit.block)
        try:
            return pyrtl.CompiledSimulation(tracer=tracer, block=unit.block)
        except Exception:  # noqa: BLE001  (no usable C compiler: PyRTL's Python simulator)
            tracer = pyrtl.SimulationTrace(wires_to_track=[y], block=unit.block)
            return pyrtl.FastSimulation(tracer=tracer, block=unit.block)


def simulate_pyrtl(unit: RtlUnit, inputs: Mapping[str, np.ndarray],
                   resets: Iterable[int] = ()) -> np.ndarray:
    """``y`` sampled once per cycle for ``inputs`` (port -> codes), ``n + latency`` samples.

    Vector ``k``'s result is sample ``k + unit.latency``; ``rst`` is high at the stream cycles
    in ``resets``.
    """
    n = len(next(iter(inputs.values())))
    cols = {p: np.asarray(inputs[p], dtype=np.uint64).tolist() + [0] * unit.latency
            for p in unit.inputs}
    rst = reset_column(unit, n, resets)
    steps: list[dict[str, int]] = []
    if unit.has_reset:
        steps += [{"rst": 1, **{p: 0 for p in unit.inputs}} for _ in range(RESET_CYCLES)]
        cols["rst"] = rst.tolist()
    steps += [{p: cols[p][k] for p in cols} for k in range(n + unit.latency)]
    sim = _simulator(unit)
    # one step per call: PyRTL 1.0.3's CompiledSimulation.run() with many steps copies the
    # first step's outputs into every step of the trace, and single steps cost only ~5 us
    for step in steps:
        sim.step(step)
    trace = sim.tracer.trace["y"]
    skip = RESET_CYCLES if unit.has_reset else 0
    return np.asarray(trace[skip:], dtype=np.uint64)


def verify_pyrtl(unit: RtlUnit, vectors: Mapping[str, np.ndarray] | None = None, *,
                 exhaustive: bool | None = None, n_random: int = 100_000,
                 seed: int = 0, resets: Iterable[int] = ()) -> VerifyResult:
    """Like :func:`rtl.verify.verify_unit`, simulated in PyRTL instead of Verilator."""
    resets = list(resets)
    vectors, exhaustive = resolve_vectors(unit, vectors, exhaustive, n_random, seed)
    t0 = time.perf_counter()
    samples = simulate_pyrtl(unit, vectors, resets)
    return check_samples(unit, vectors, samples, exhaustive=exhaustive, simulator="pyrtl",
                         sim_s=time.perf_counter() - t0, resets=resets)
