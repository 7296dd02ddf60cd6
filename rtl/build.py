"""Helpers every generator uses: a fresh PyRTL block and pipeline-stage placement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import pyrtl

from hwsim.errors import HwsimError
from hwsim.numerics import decode, encode
from rtl.registry import RtlUnit


@contextmanager
def fresh_block() -> Iterator[pyrtl.Block]:
    """Build into a new ``pyrtl.Block``; the previous working block is restored afterwards."""
    block = pyrtl.Block()
    previous = pyrtl.working_block()
    pyrtl.set_working_block(block, no_sanity_check=True)
    try:
        yield block
    finally:
        pyrtl.set_working_block(previous, no_sanity_check=True)


class Pipeline:
    """Register stages placed at named boundaries of a unit's datapath.

    A generator lists its boundaries in order of preference (where a register shortens the
    critical path most, e.g. right after a multiplier) and calls :meth:`stage` at each
    boundary in datapath order; the first ``depth`` boundaries of the preference list get a
    register stage with a synchronous reset (input ``rst``). ``depth`` beyond the number of
    boundaries is an error: the logic has no more places to cut.
    """

    def __init__(self, depth: int, boundaries: Sequence[str], unit: str) -> None:
        if not isinstance(depth, int) or depth < 0:
            raise HwsimError(f"pipeline depth must be a non-negative integer, got {depth!r}")
        if depth > len(boundaries):
            raise HwsimError(
                f"pipeline={depth} is deeper than the logic of {unit}: it has "
                f"{len(boundaries)} stage boundaries ({', '.join(boundaries)}); use 0.."
                f"{len(boundaries)}"
            )
        self.depth = depth
        self.active = frozenset(boundaries[:depth])
        self.rst = pyrtl.Input(1, "rst") if depth else None

    def register(self, w: pyrtl.WireVector) -> pyrtl.Register:
        """One register with synchronous reset to 0 (needs a pipelined unit's ``rst``)."""
        assert self.rst is not None
        r = pyrtl.Register(len(w))
        r.next <<= pyrtl.select(self.rst, pyrtl.Const(0, len(w)), w)
        return r

    def stage(self, boundary: str, *wires: pyrtl.WireVector) -> tuple[pyrtl.WireVector, ...]:
        if boundary not in self.active:
            return wires
        return tuple(self.register(w) for w in wires)


def binary_float_unit(unit: str, fmt, pipeline: int, saturate: bool,
                      boundaries: Sequence[str], logic, reference) -> RtlUnit:
    """A unit ``y = logic(a, b)`` on two codes of ``fmt`` giving a code of ``fmt``.

    ``logic(a, b, fmt, saturate, pipe)`` builds the datapath; ``reference`` maps input codes to
    expected codes. The module is named ``<unit>_<format>[_sat]_p<pipeline>``.
    """
    with fresh_block() as block:
        pipe = Pipeline(pipeline, boundaries, unit)
        a = pyrtl.Input(fmt.total_bits, "a")
        b = pyrtl.Input(fmt.total_bits, "b")
        y = pyrtl.Output(fmt.total_bits, "y")
        y <<= logic(a, b, fmt, saturate, pipe)
    sat = "_sat" if saturate else ""
    return RtlUnit(
        name=f"{unit.replace('-', '_')}_{fmt.name}{sat}_p{pipeline}",
        unit=unit,
        block=block,
        inputs={"a": fmt.total_bits, "b": fmt.total_bits},
        outputs={"y": fmt.total_bits},
        latency=pipeline,
        reference=reference,
        params={"format": fmt.name, "pipeline": pipeline, "saturate": saturate},
        out_format=fmt.name,
    )


def binary_reference(op, fmt, saturate: bool):
    """Reference for :func:`binary_float_unit`: decode both codes, ``op`` them with
    :mod:`hwsim.numerics` (``mul``, ``add``), encode the result."""

    def ref(inputs):
        a, b = decode(inputs["a"], fmt), decode(inputs["b"], fmt)
        return encode(op(a, b, fmt, saturate=saturate), fmt).astype(np.uint64)

    return ref
