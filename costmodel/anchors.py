"""The energy proxy against a second set of published figures: ratios, not one point.

:mod:`costmodel.activity` calibrates its toggle-count proxy to pJ with a single point (an
8-bit integer multiplier costs 0.2 pJ at 45 nm, Horowitz, ISSCC 2014). One point fixes the
scale, not the slope: :func:`horowitz_ratios` simulates the proxy on the pairs Horowitz's table
prices at two widths (fp16 vs fp32 multiply and add, int8 vs int32 multiply) and sets each
simulated ratio beside the table's, so a reader sees how far the proxy tracks how energy grows
with width. The designs are built and simulated here (about 4 s in all, most of it the 32-bit
floating-point units); fp32 and int32 are outside the dataset, so nothing is predicted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from costmodel.activity import design_energy_ge, pj_per_ge
from costmodel.provider import TECH_TABLE
from costmodel.space import DesignPoint
from hwsim.sourced import load_table

#: (operation, RTL unit, narrow format, wide format): the pairs the 45 nm table prices twice
PAIRS = (
    ("mul", "minifloat-mul", "fp16", "fp32"),
    ("add", "minifloat-add", "fp16", "fp32"),
    ("mul", "int-mul", "int8", "int32"),
)


@dataclass(frozen=True)
class AnchorRatio:
    """Energy of the narrow over the wide operation: the proxy's and Horowitz's."""

    op: str
    narrow: str
    wide: str
    proxy_narrow_pj: float
    proxy_wide_pj: float
    table_narrow_pj: float
    table_wide_pj: float

    @property
    def proxy_ratio(self) -> float:
        return self.proxy_narrow_pj / self.proxy_wide_pj

    @property
    def table_ratio(self) -> float:
        return self.table_narrow_pj / self.table_wide_pj

    @property
    def agreement(self) -> float:
        """proxy ratio / table ratio: 1 where the proxy scales with width as the table does."""
        return self.proxy_ratio / self.table_ratio

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "proxy_ratio": self.proxy_ratio,
                "table_ratio": self.table_ratio, "agreement": self.agreement}

    def line(self) -> str:
        return (f"{self.op} {self.narrow}/{self.wide}: proxy {self.proxy_ratio:.3f}, "
                f"Horowitz 45 nm {self.table_ratio:.3f} (proxy/table {self.agreement:.2f}x)")


def proxy_energy_pj(p: DesignPoint) -> float:
    """The dataset's energy figure for ``p`` (mean of both operand streams, in pJ), simulated."""
    from rtl.unit import build_unit  # lazy: PyRTL and every generator

    unit = build_unit(p.unit, **p.params())
    return design_energy_ge(p, unit)["energy_ge"] * pj_per_ge()


def horowitz_ratios() -> list[AnchorRatio]:
    """The proxy's narrow/wide energy ratios beside those of Horowitz's 45 nm table."""
    table = load_table(*TECH_TABLE)
    out = []
    for op, unit, narrow, wide in PAIRS:
        out.append(AnchorRatio(
            op, narrow, wide,
            proxy_energy_pj(DesignPoint(unit, narrow)), proxy_energy_pj(DesignPoint(unit, wide)),
            float(table.value(f"ops.{narrow}_{op}")), float(table.value(f"ops.{wide}_{op}"))))
    return out
