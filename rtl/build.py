"""Helpers every generator uses: a fresh PyRTL block and pipeline-stage placement."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyrtl

from hwsim.errors import HwsimError


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
