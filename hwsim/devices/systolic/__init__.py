"""The systolic-array device kind: any rows x cols array, OS/WS/IS dataflows,
double-buffered ifmap/filter/ofmap SRAMs over one DRAM channel, cycle-exact with SCALE-Sim v3,
and its FPGA presets.

- :mod:`~hwsim.devices.systolic.spec`: :class:`SystolicSpec`, the frozen spec;
- :mod:`~hwsim.devices.systolic.timing`: closed-form compute cycles (SCALE-Sim's);
- :mod:`~hwsim.devices.systolic.array`: tile plans and the SimPy model of a layer;
- :mod:`~hwsim.devices.systolic.device`: the kind (``KIND``), its presets and ``run``;
- :mod:`~hwsim.devices.systolic.fpga`: presets sized by a board's LUT/DSP budget;
- :mod:`~hwsim.devices.systolic.reference`: a cycle-by-cycle model the closed forms are
  tested against; :mod:`~hwsim.devices.systolic.scalesim_memory`: SCALE-Sim's USER-mode
  buffer bookkeeping, replayed; :mod:`~hwsim.devices.systolic.scalesim_compat`: running the
  real SCALE-Sim for comparison.
"""

from hwsim.devices.systolic.device import KIND, run, simulate_gemm
from hwsim.devices.systolic.spec import MEMORY_MODELS, SystolicSpec, parse_array

__all__ = ["KIND", "MEMORY_MODELS", "SystolicSpec", "parse_array", "run", "simulate_gemm"]
