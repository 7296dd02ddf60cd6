"""The GPU device kind: A100/H100-class GPUs at tile level.

- :mod:`~hwsim.devices.gpu.spec`: :class:`GpuSpec` and the presets' sourced table;
- :mod:`~hwsim.devices.gpu.kernels`: GEMM tile plans (with split-K), FlashAttention-2 (with
  flash decoding's split-KV) and the all-reduce, each simulated as CTA waves over the SMs
  with HBM alongside;
- :mod:`~hwsim.devices.gpu.mpgemm`: low-bit-weight GEMMs, dequantised on MAC tensor cores or
  on LUT tensor cores (``tensor_core: lut``: the a100-lut / h100-lut what-ifs);
- :mod:`~hwsim.devices.gpu.parallel`: Megatron-style tensor parallelism (``tp``) and the
  NVLink ring all-reduce between the shards;
- :mod:`~hwsim.devices.gpu.device`: the kind (``KIND``), its model and ``run``.
"""

from hwsim.devices.gpu.device import KIND, run, tensor_path
from hwsim.devices.gpu.spec import GpuSpec

__all__ = ["KIND", "GpuSpec", "run", "tensor_path"]
