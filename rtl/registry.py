"""The value every RTL generator returns, and the registry the generators add themselves to.

A generator builds its circuit into a fresh ``pyrtl.Block`` (never the global working block)
and returns an :class:`RtlUnit`: the block, its ports, its latency and a reference function
that maps input codes to the expected output codes using :mod:`hwsim.numerics`.

Port conventions (shared by export, the cocotb bench and PyRTL simulation):
- inputs ``a``, ``b`` (and ``c``/``acc`` where the unit has them; ``a_0..a_{n-1}``,
  ``b_0..b_{n-1}`` for block units), output ``y``; all unsigned bit vectors carrying codes;
- ``clk`` is implicit (PyRTL's clock) and ``rst`` is an input only when the unit has state
  (pipeline registers or an accumulator); with ``latency`` N the output for inputs applied at
  cycle t appears at cycle t + N;
- ``rst`` is synchronous and active high: at a rising edge of ``clk`` with ``rst`` high every
  register (pipeline stages and accumulators) becomes 0. Inputs applied in a reset cycle, or
  still inside the pipeline when it comes, are dropped; inputs applied after it come out N
  cycles later as from a fresh unit (an accumulator starts a new sum). In between, ``y``
  shows the cleared pipeline: 0 where ``reset_reads_zero`` (see
  :func:`rtl.verify.vectors.expected_samples`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# reference(inputs) -> expected y codes; inputs maps port name -> uint64 array of codes
Reference = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@dataclass(frozen=True, eq=False)
class RtlUnit:
    """A generated circuit plus what is needed to export, simulate and check it."""

    name: str  # Verilog module name, e.g. "minifloat_mul_fp8_e4m3fn_p0"
    unit: str  # registry key, e.g. "minifloat-mul"
    block: Any  # pyrtl.Block
    inputs: Mapping[str, int]  # port name -> width (data ports only; no clk/rst)
    outputs: Mapping[str, int]  # port name -> width
    latency: int  # cycles from input to output (0 = combinational)
    reference: Reference
    params: Mapping[str, Any] = field(default_factory=dict)
    stateful: bool = False  # has registers beyond pipeline stages (e.g. an accumulator)
    # format of y, when it is a float format: outputs that both decode to NaN match
    out_format: str | None = None
    # y reads 0 while the pipeline holds its reset state; False where cleared registers
    # decode as something else (pipelined lmul: a cleared "sum" stage reads as an overflow)
    reset_reads_zero: bool = True

    @property
    def has_reset(self) -> bool:
        return self.latency > 0 or self.stateful


# unit name -> generator(**params) -> RtlUnit; filled when rtl.units is imported
GENERATORS: dict[str, Callable[..., RtlUnit]] = {}


def register(name: str):
    """Decorator adding a generator to :data:`GENERATORS` under ``name``."""

    def deco(fn: Callable[..., RtlUnit]) -> Callable[..., RtlUnit]:
        GENERATORS[name] = fn
        return fn

    return deco
