"""Mixed-precision GEMMs (low-bit weights x wider activations) on the GPU's tensor cores.

Two ways to run them, one per kind of tensor core (:attr:`GpuSpec.tensor_core`):

- **MAC tensor cores** (the standard path): the packed weights are read as stored and
  dequantised to the activation format in the main loop, :data:`DEQUANT_OPS` CUDA-core
  operations per weight element (unpack, convert, scale), overlapped with the MMAs.
- **LUT tensor cores** (Mo et al., LUT Tensor Core, arXiv 2408.06003): for weights of 1-4
  bits and int8/fp16 activations. The operator before the GEMM builds, for every activation
  row and group of ``g`` activations (the synthesised LUT tile's ``K``), the table of the
  2^(g-1) signed sums (the other half is their negation) and writes it instead of nothing:
  its cost (2^(g-1) additions per group, one add per entry in Gray-code order, and the
  table's bytes) is counted in THAT operator, once per distinct activation tensor (the q/k/v
  projections read one table). The GEMM reads the table (2^(g-1)/g times the activation
  bytes) and the packed weights, and runs one bit-plane of the weights per pass
  (bit-serial: W1.58, stored as int2, is two planes; W4 four). The LUT cores' rate per plane
  is the MAC tensor cores' rate for the activation format, times the share of the
  tensor-core area they take, times our synthesised LUT-vs-MAC throughput per area
  (:mod:`hwsim.devices.lut.units`).

GEMMs with no LUT path on a LUT part (weights wider than 4 bits, attention, the fp16 LM head)
run on the MAC tensor cores left. Low-bit weights the LUT cores cannot take (4-bit floats,
activations other than int8/fp16) are refused with the constraint named, rather than run on
a path the user did not ask for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hwsim.devices.gpu.spec import GpuSpec
from hwsim.devices.lut.precompute import low_bit_weights
from hwsim.devices.lut.units import (
    LutVsMac,
    TableSource,
    check_lut_operands,
    lut_vs_mac,
    shipped_table,
)

#: CUDA-core operations per weight element to dequantise packed low-bit weights in a GEMM's
#: main loop: an assumption (a shift-and-mask unpack plus a fused convert-and-scale, as
#: weight-only kernels of the FasterTransformer/Marlin kind do), not measured here
DEQUANT_OPS = 2.0
#: the MAC path whose peak is the LUT cores' reference, by activation format
LUT_REFERENCE_PATH = {"int8": "int8", "fp16": "fp16"}


def _bits(name: str | None) -> float:
    from workloads import format_bits

    return format_bits(name) if name else 16.0


@dataclass(frozen=True)
class MpGemm:
    """How one mpGEMM runs: the :class:`~.kernels.Kernel` fields it sets, and a note."""

    fields: Mapping[str, Any]
    lut: LutVsMac | None
    note: str


def lut_plane_rate(spec: GpuSpec, cmp: LutVsMac) -> float:
    """LUT products per SM per cycle for one weight bit-plane."""
    path = LUT_REFERENCE_PATH[cmp.act_format]
    full = spec.peak_ops(path) / 2 / (spec.sms * spec.hz)  # the MAC cores at full area
    return full * spec.lut_area_share * cmp.plane_density


def table_bytes_per_act(cmp: LutVsMac, act_bytes: float) -> float:
    """Table bytes per activation element: 2^(g-1) entries per group of g."""
    g = cmp.lut.k
    return 2 ** (g - 1) / g * act_bytes


def mpgemm(spec: GpuSpec, op: Any, where: str,
           source: TableSource = shipped_table) -> MpGemm | None:
    """How ``op`` runs if it is a low-bit-weight GEMM (None otherwise)."""
    if not low_bit_weights(op):
        return None
    x, w = op.fmt.x, op.fmt.w
    wb = _bits(w)
    if spec.tensor_core == "lut":
        n_planes = check_lut_operands(x, w, where)
        cmp = lut_vs_mac(n_planes, x, source)
        rate = lut_plane_rate(spec, cmp)
        xb = _bits(x) / 8
        return MpGemm({"planes": n_planes, "lut_rate": rate, "lut_n": cmp.lut.n, "lut_m": cmp.lut.m,
                       "a_bytes": table_bytes_per_act(cmp, xb), "w_bytes": wb / 8,
                       "path": LUT_REFERENCE_PATH[x]}, cmp,
                      f"LUT tensor cores, {x} tables x {w} weights bit-serial ({n_planes} "
                      f"planes), {rate:.0f} products/SM/cycle per plane")
    if wb < _bits(x):
        return MpGemm({"w_bytes": wb / 8, "dequant_ops": DEQUANT_OPS}, None,
                      f"{w} weights read packed, dequantised to {x} in the main loop")
    return None


__all__ = ["DEQUANT_OPS", "LUT_REFERENCE_PATH", "MpGemm", "lut_plane_rate", "mpgemm",
           "table_bytes_per_act"]
