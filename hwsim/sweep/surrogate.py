"""Cheap predictions of a sweep point's objectives, for a guided search's warm start.

A guided search (:mod:`hwsim.sweep.guided`) can rank every point of its grid before it
simulates any: this module predicts a point's run metrics from closed forms, in microseconds
to milliseconds a point, and takes its cost-model features (:mod:`hwsim.sweep.costs`) as they
are (they need no simulation, so they are exact). Only systolic-array devices (the kind and
its FPGA presets) are predicted; for any other kind :func:`predict` returns None and the
search starts from its sampler alone.

What a prediction approximates, per layer (each GEMM of the lowered op, ``repeat`` times):

- compute cycles: SCALE-Sim's fold count times cycles per fold
  (:func:`hwsim.devices.systolic.timing.compute_cycles`, the published closed form);
- DRAM traffic: the stationary operand and the output once; the streamed operand once, or
  once per column fold when it does not fit its SRAM (double-buffered: both halves) and
  the array has more than one row fold (the usual tiling reuse rule);
- DRAM cycles: that traffic at the spec's ``bandwidth_words`` words per cycle (none in CALC
  mode); a layer takes the larger of compute and DRAM cycles (a roofline: stalls, prefetch
  leads and drains are left out);
- vector work: its flops over the vector lanes, one per lane and cycle;
- energy: MACs priced as the run prices them (the analytical 45 nm provider, by the
  activation format) plus SRAM traffic (the words each fold streams, summed in closed form
  over the folds) and the DRAM traffic above, at the same provider's per-byte prices.

``tests/sweep/test_guided.py`` checks how far these are from the simulator on a grid.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from hwsim.sweep.spec import Point


@lru_cache(maxsize=8)
def _prices() -> tuple[Any, float, float]:
    """(MAC pricer, SRAM pJ/byte, DRAM pJ/byte) of the provider a sweep run prices with."""
    from costmodel.provider import get_provider
    from hwsim.engine.pricing import ProviderPrices

    prices = ProviderPrices(get_provider("analytical"))
    return prices, prices.access_pj_per_byte("sram"), prices.access_pj_per_byte("dram")


@lru_cache(maxsize=4096)
def _ops(name: str, phase: str, seq: int | None, kv_len: int | None, batch: int,
         layers: int | None, precision: str | None) -> tuple[tuple[Any, Any], ...]:
    """(op, its lowering) of every op of a workload (the lowering does not depend on the
    systolic array's spec)."""
    from hwsim.engine.lowering import lower_op
    from hwsim.sweep.graphs import workload_graph

    graph = workload_graph(name, phase, seq, kv_len, batch, layers, precision)
    return tuple((op, lower_op(op, device="systolic")) for op in graph.ops)


def _sram_words(g: Any, rows: int, cols: int, dataflow: str) -> int:
    """Words every fold of one GEMM instance reads and writes in the SRAMs, summed over the
    folds (:func:`hwsim.devices.systolic.timing.fold_traffic` in closed form)."""
    from hwsim.devices.systolic.timing import fold_counts, mapping

    sr, sc, t = mapping(g, dataflow)
    rf, cf = fold_counts(g, rows, cols, dataflow)
    if dataflow == "os":
        return t * sr * cf + t * sc * rf + sr * sc
    if dataflow == "ws":
        return t * sr * cf + sr * sc + t * sc * rf
    return sr * sc + t * sr * cf + t * sc * rf


def _dram_words(g: Any, spec: dict[str, Any], word_bits: int) -> float:
    """Words one GEMM instance moves between DRAM and the SRAMs (see the module doc)."""
    from hwsim.devices.systolic.timing import fold_counts

    df = spec["dataflow"]
    rf, cf = fold_counts(g, spec["rows"], spec["cols"], df)
    ifmap, filt = g.m * g.k, g.k * g.n
    if df == "is":  # the filter is streamed
        fits = filt * word_bits <= spec["sram_kb"][1] * 8192
        filt *= 1 if fits or rf == 1 else cf
    else:
        fits = ifmap * word_bits <= spec["sram_kb"][0] * 8192
        ifmap *= 1 if fits or rf == 1 else cf
    return ifmap + filt + g.m * g.n


def predict(point: Point) -> dict[str, float] | None:
    """Predicted ``total_cycles``, ``seconds``, ``energy_total_pj``, ``macs`` and the exact
    cost features of ``point`` (see the module doc); None for devices other than systolic."""
    import json

    from hwsim.devices.systolic.timing import compute_cycles
    from hwsim.sweep.costs import features

    dev = point.canonical.get("device")
    if not isinstance(dev, dict) or dev.get("kind") != "systolic":
        return None
    rows, cols, df, bw = dev["rows"], dev["cols"], dev["dataflow"], dev["bandwidth_words"]
    lanes = dev.get("vector_lanes") or cols
    wl, prec = point.task["workload"], point.task["precision"]
    key = (wl["name"], wl["phase"], wl["seq"], wl["kv_len"], wl["batch"], wl["layers"],
           json.dumps(prec, sort_keys=True) if prec else None)
    ops = _ops(*key)
    prices, sram_pj, dram_pj = _prices()
    cycles = energy = macs = 0.0
    for op, low in ops:
        wbytes = low.word_bits / 8
        for g in low.gemms:
            compute = compute_cycles(g, rows, cols, df)
            words = g.repeat * _dram_words(g, dev, low.word_bits)
            dram = words * wbytes
            cycles += max(compute, words / bw) if bw else compute
            energy += (g.macs * prices.mac_pj(op)
                       + g.repeat * _sram_words(g, rows, cols, df) * wbytes * sram_pj
                       + dram * dram_pj)
            macs += g.macs
        if low.vector_flops:
            cycles += math.ceil(low.vector_flops / lanes)
            energy += low.vector_bytes * dram_pj
    seconds = cycles / (dev["clock_mhz"] * 1e6)
    out: dict[str, float] = {"total_cycles": cycles, "seconds": seconds,
                             "energy_total_pj": energy, "macs": macs}
    for name, value in features(point.canonical, *_mac_format_of(key)).items():
        if value is not None:
            out[name] = value
    return out


@lru_cache(maxsize=4096)
def _mac_format_of(key: tuple[Any, ...]) -> tuple[str | None, str | None]:
    from hwsim.sweep.graphs import mac_format, workload_graph

    return mac_format(workload_graph(*key))


__all__ = ["predict"]
