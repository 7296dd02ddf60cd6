"""The Cortex-M device kind: one MCU core running int8 CMSIS-NN kernels, inference only.

- :mod:`~hwsim.devices.cortexm.spec`: :class:`CortexmSpec` and the presets' sourced table;
- :mod:`~hwsim.devices.cortexm.schedule`: the dataflow of a graph, live bytes per layer and
  MCUNetV2's patch-based stage (receptive-field halos, recomputed MACs);
- :mod:`~hwsim.devices.cortexm.device`: the kind (``KIND``), its SRAM plan, model and ``run``.
"""

from hwsim.devices.cortexm.device import KIND, CortexmResult, SramPlan, run
from hwsim.devices.cortexm.spec import CortexmSpec

__all__ = ["KIND", "CortexmResult", "CortexmSpec", "SramPlan", "run"]
