"""The PULP cluster device kind: PULP-TrainLib's training and inference kernels on an 8+1-core
RISC-V cluster.

- :mod:`~hwsim.devices.pulp.spec`: :class:`PulpSpec` and the preset's sourced table;
- :mod:`~hwsim.devices.pulp.kernels`: inner loops as instruction counts, parallel primitives;
- :mod:`~hwsim.devices.pulp.device`: the kind (``KIND``), its model and ``run``.
"""

from hwsim.devices.pulp.device import KIND, op_work, run
from hwsim.devices.pulp.spec import PulpSpec

__all__ = ["KIND", "PulpSpec", "op_work", "run"]
