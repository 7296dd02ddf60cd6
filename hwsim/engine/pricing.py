"""The driver's energy prices, asked of a :class:`costmodel.provider.CostProvider`.

A MAC is priced by the op's activation format ``x`` (a block format's MAC as its element
format's: the shared-scale logic is not counted), unless the provider has ``op_mac_pj(op)``
(it then prices each op itself, e.g. by its weight format too); memory traffic per byte by
level. Each price is asked once per format or level in a run.
"""

from __future__ import annotations

from typing import Any

from costmodel.provider import CostProvider, Op
from hwsim.numerics import resolve


class ProviderPrices:
    """:class:`hwsim.engine.driver.Prices` backed by a cost provider."""

    def __init__(self, costs: CostProvider) -> None:
        self.costs = costs
        self.name = costs.name
        self._mac: dict[Any, float] = {}
        self._access: dict[str, float] = {}

    def mac_pj(self, op: Any) -> float:
        by_op = getattr(self.costs, "op_mac_pj", None)
        if by_op is not None:  # a provider that prices by more than x (a systolic PE kind)
            return by_op(op)
        fmt = resolve(op.fmt.x)
        elem = getattr(fmt, "element", fmt)
        if elem not in self._mac:
            self._mac[elem] = self.costs.energy_pj(Op("mac", elem.name))
        return self._mac[elem]

    def access_pj_per_byte(self, level: str) -> float:
        if level not in self._access:
            self._access[level] = self.costs.energy_pj(Op("access", level=level))
        return self._access[level]


__all__ = ["ProviderPrices"]
