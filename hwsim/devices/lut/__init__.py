"""LUT Tensor Core (Mo et al., arXiv 2408.06003) as devices: the standalone LUT array kind,
and what the GPU's LUT tensor cores share with it.

- :mod:`~hwsim.devices.lut.units`: the synthesised LUT/MAC units (Yosys table) as
  LUT-vs-MAC density and energy ratios; bit-planes; the operand constraints;
- :mod:`~hwsim.devices.lut.precompute`: table precompute fused into the previous operator;
- :mod:`~hwsim.devices.lut.energy`: LUT GEMMs' energy from the ratios;
- :mod:`~hwsim.devices.lut.spec`, :mod:`~hwsim.devices.lut.device`: the ``lut`` kind.
"""

from hwsim.devices.lut.device import KIND, run
from hwsim.devices.lut.spec import LutArraySpec

__all__ = ["KIND", "LutArraySpec", "run"]
