"""Tiny units built inside the tests, so the infrastructure is checked on circuits whose
correct behaviour is obvious (an 8-bit adder), independently of the arithmetic generators."""

from __future__ import annotations

import numpy as np
import pyrtl

from rtl.build import Pipeline, fresh_block
from rtl.unit import RtlUnit


def adder8(pipeline: int = 0, *, wrong: bool = False, deaf_reset: bool = False) -> RtlUnit:
    """``y = a + b`` (9 bits); ``wrong`` gives it a reference that is off by one for a == 3;
    ``deaf_reset`` (with ``pipeline=1``) a stage register that ignores ``rst``: a reset bug."""
    with fresh_block() as block:
        pipe = Pipeline(pipeline, ("sum",), "adder8")
        a = pyrtl.Input(8, "a")
        b = pyrtl.Input(8, "b")
        y = pyrtl.Output(9, "y")
        if deaf_reset:  # rst stays a port (pipe.rst), but nothing reads it
            s = pyrtl.Register(9)
            s.next <<= a + b
            y <<= s
        else:
            (s,) = pipe.stage("sum", a + b)
            y <<= s

    def ref(inputs):
        out = inputs["a"].astype(np.uint64) + inputs["b"].astype(np.uint64)
        return out + (inputs["a"] == 3) if wrong else out

    return RtlUnit(name=f"adder8_p{pipeline}", unit="adder8", block=block,
                   inputs={"a": 8, "b": 8}, outputs={"y": 9}, latency=pipeline,
                   reference=ref, params={"pipeline": pipeline})
