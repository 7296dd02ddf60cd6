"""Device models on the SimPy kernel. Registry: :func:`get_device` by name.

- ``systolic``: a rows x cols systolic array (OS/WS/IS), cycle-exact with SCALE-Sim v3.
- ``fpga:<board>:<pe>``, e.g. ``fpga:pynq-z2:int8-dsp``: the systolic array a public FPGA
  board affords with a PE kind (:mod:`hwsim.devices.fpga`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hwsim.devices.systolic import SystolicSpec, simulate, simulate_gemm
from hwsim.errors import HwsimError

DEVICES: dict[str, str] = {
    "systolic": "systolic array, any size and dataflow (SCALE-Sim v3 compatible)",
    "fpga": "fpga:<board>:<pe>: systolic array sized by an FPGA board's LUT/DSP budget",
}


def get_device(name: str, **overrides: Any) -> SystolicSpec:
    """A device spec by name, with fields overridden (``rows=``, ``dataflow=``, ...)."""
    key = str(name).strip().lower()
    kw = {k: v for k, v in overrides.items() if v is not None}
    if key == "systolic":
        return SystolicSpec(**kw)
    if key == "fpga" or key.startswith("fpga:"):
        from hwsim.devices.fpga import PE_KINDS, fpga_spec

        parts = key.split(":")
        board = parts[1] if len(parts) > 1 and parts[1] else "pynq-z2"
        pe = parts[2] if len(parts) > 2 else "int8-dsp"
        if pe not in PE_KINDS:
            raise HwsimError(f"unknown PE kind {pe!r}; known: {', '.join(PE_KINDS)}")
        spec = fpga_spec(board, pe, dataflow=kw.pop("dataflow", "ws"))
        return replace(spec, **kw) if kw else spec
    raise HwsimError(f"unknown device {name!r}; known: {', '.join(DEVICES)} "
                     "(e.g. fpga:pynq-z2:int8-dsp)")


__all__ = ["DEVICES", "SystolicSpec", "get_device", "simulate", "simulate_gemm"]
