"""The cocotb bench: drives the vectors the runner prepared and records ``y`` every cycle.

It runs inside the simulator (Verilator, started by :mod:`rtl.verify.runner`), imports only
installed packages, and does no checking itself: the runner compares the recorded codes with
the reference model, so the comparison rules (NaN matches any NaN) live in one place.

Timing, shared with the PyRTL cross-check: per cycle, the inputs of vector ``k`` are applied
with ``clk`` low, ``y`` is sampled once they settle, then ``clk`` rises. A combinational unit
has no ``clk``: apply, settle, sample. The runner reads vector ``k``'s result at sample
``k + latency``. A unit with a reset is held in reset for ``reset_cycles`` cycles first (all
inputs 0, nothing sampled); after that ``rst`` is one of the driven ports, so the runner
asserts it in the middle of the stream by a 1 in its column (synchronous reset: the registers
clear at the rising edge of a cycle whose ``rst`` is 1).

Files (named by environment variables the runner sets): ``HWSIM_VERIFY_IN`` is an ``.npz``
with ``ports`` (the ports driven each cycle: the data inputs, then ``rst`` on a unit with a
reset), ``in_<port>`` (uint64 codes, one per cycle), ``cycles``, ``clocked``,
``reset_cycles``; the bench writes the sampled ``y`` codes to ``HWSIM_VERIFY_OUT`` (``.npy``).
"""

from __future__ import annotations

import os

import cocotb
import numpy as np
from cocotb.triggers import Timer


@cocotb.test()
async def drive_vectors(dut) -> None:
    spec = np.load(os.environ["HWSIM_VERIFY_IN"])
    ports = [str(p) for p in spec["ports"]]
    cycles = int(spec["cycles"])
    clocked = bool(spec["clocked"])
    reset_cycles = int(spec["reset_cycles"])
    # Python ints index much faster than numpy scalars in this per-vector loop
    columns = [spec[f"in_{p}"].tolist() for p in ports]
    handles = [getattr(dut, p) for p in ports]
    drive = list(zip(handles, columns, strict=True))
    y = dut.y
    got = [0] * cycles

    if not clocked:
        for k in range(cycles):
            for h, col in drive:
                h.value = col[k]
            await Timer(1)
            got[k] = int(y.value)
    else:
        clk = dut.clk
        if reset_cycles:
            for h, _ in drive:
                h.value = 0
            rst = dut.rst
            rst.value = 1
            for _ in range(reset_cycles):
                clk.value = 0
                await Timer(1)
                clk.value = 1
                await Timer(1)
            rst.value = 0
        for k in range(cycles):
            clk.value = 0
            for h, col in drive:
                h.value = col[k]
            await Timer(1)
            got[k] = int(y.value)
            clk.value = 1
            await Timer(1)

    np.save(os.environ["HWSIM_VERIFY_OUT"], np.asarray(got, dtype=np.uint64))
