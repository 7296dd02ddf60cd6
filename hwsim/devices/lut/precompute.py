"""LUT table precompute, fused into the operator before a LUT GEMM.

For every activation row and group of ``g`` activations (the synthesised LUT tile's ``K``)
a LUT GEMM needs the table of the 2^(g-1) signed sums (the other half is their negation:
table symmetrisation). Mo et al. (LUT Tensor Core, arXiv 2408.06003) fuse building it into
the operator that produces the activations; so does this module: the cost, 2^(g-1)
additions per group (one add per entry in Gray-code order, an approximation of the
precompute unit's adder tree) and the table's bytes in the activation format, is counted in
THAT operator, once per distinct activation tensor (projections that read one input, as
q/k/v do, share one table).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hwsim.devices.lut.units import TableSource, check_lut_operands, lut_vs_mac, shipped_table


def _bits(name: str | None) -> float:
    from workloads import format_bits

    return format_bits(name) if name else 16.0


def low_bit_weights(op: Any) -> bool:
    """Whether ``op`` is a GEMM whose weights (a quantisable parameter) are 4 bits or fewer:
    the mpGEMMs a LUT unit exists for."""
    fmt = op.fmt
    return (bool(getattr(op, "MAC_BASED", False)) and fmt is not None and fmt.w is not None
            and getattr(op, "w_kind", None) == "weight" and _bits(fmt.w) <= 4)


@dataclass(frozen=True)
class Precompute:
    """LUT tables an operator builds for the LUT GEMMs after it (its fused epilogue)."""

    flops: int
    nbytes: int
    consumers: tuple[str, ...]

    def describe(self) -> str:
        return (f"+ LUT table precompute fused here for {', '.join(self.consumers)} "
                f"({self.nbytes / 1e6:.3g} MB of tables)")


def plan_precompute(ops: Sequence[Any], lowered_gemms: Mapping[str, Any],
                    source: TableSource = shipped_table) -> dict[str, Precompute]:
    """Producer op name -> the tables it builds. A LUT GEMM's table is built by the nearest
    op before it that is not itself a LUT GEMM and not a view (the producer of its input in
    the suite's graphs); GEMMs after the same producer with the same activation shape share
    one table. A LUT GEMM with no such op before it builds its own table (unfused).

    ``lowered_gemms`` maps a LUT GEMM's name to its lowered GEMMs (for M and K)."""
    from workloads import View

    acc: dict[str, dict[str, Any]] = {}
    producer: str | None = None
    seen: set[tuple[str | None, int, int, int]] = set()
    for op in ops:
        if op.name in lowered_gemms:
            cmp = lut_vs_mac(check_lut_operands(op.fmt.x, op.fmt.w, op.where), op.fmt.x, source)
            g, entries = cmp.lut.k, 2 ** (cmp.lut.k - 1)
            owner = producer or op.name
            for gm in lowered_gemms[op.name]:
                a = acc.setdefault(owner, {"flops": 0, "nbytes": 0.0, "consumers": []})
                if op.name not in a["consumers"]:
                    a["consumers"].append(op.name)
                key = (producer, gm.m, gm.k, gm.repeat)
                if producer is not None and key in seen:
                    continue  # the table this producer already builds
                seen.add(key)
                n = gm.repeat * gm.m * math.ceil(gm.k / g) * entries
                a["flops"] += n
                a["nbytes"] += n * _bits(op.fmt.x) / 8
        elif not isinstance(op, View):
            producer = op.name
    return {k: Precompute(v["flops"], math.ceil(v["nbytes"]), tuple(v["consumers"]))
            for k, v in acc.items()}


__all__ = ["Precompute", "low_bit_weights", "plan_precompute"]
