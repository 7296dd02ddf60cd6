"""PE kinds of the systolic array: what each PE accepts, what a MAC on it costs, and how
often it dequantises.

``SystolicSpec.pe`` names one of :data:`PE_KINDS`. ``mac`` (the default, and the FPGA presets'
``int8-dsp``/``fp8-lut``/``lmul-lut``, which are MACs sized by :mod:`.fpga`) takes any format
and is priced by the cost provider's ``Op("mac", fmt)`` as before. The others are RTL units
of our own, priced by their rows in the cost dataset (``costmodel/data/designs.csv``: Yosys
area, switching-activity energy per cycle, one MAC per cycle), handed to the driver through
the cost seam (:class:`PeCosts`, a cost provider that answers MAC queries for the PE and
passes every other query on):

- ``mixpe`` (MixPE, :mod:`rtl.units.mixpe`): int2/int4 weights x int8 or fp16 activations by
  shift-and-add, one dequantisation per quantisation group of ``pe_group`` weights along K
  (the group must divide every GEMM's K); priced by the row of its activation format, weight
  bits and group with the dequantiser in the PE (``direction=pe``).
- ``dequant-mac`` (:mod:`rtl.units.dequant_mac`): the per-element-dequantise MAC MixPE
  replaces; same precisions, one dequantisation per MAC; its row by activation format and
  weight bits.
- ``ternary-acc``: ternary (int2-coded) weights x int8 activations, accumulate only.
- ``olive-decode``: an int8 MAC fed by an OliVe outlier-victim-pair decoder (olive4/olive8
  weights); one decoder per array column at the array's edge, its decoded weight reused by
  the column's ``rows`` PEs (an assumption of ours), so a MAC carries 1/rows of a decode.

The dequantisers are pipelined inside the PE (``mixpe``'s is operand-isolated between group
ends), so no PE kind adds cycles: the dequantisations are counted in the run's notes and their
energy is in the unit's per-cycle energy.

A MAC is priced by the op's activation AND weight formats (:meth:`PeCosts.op_mac_pj`, which
the driver asks per op). A GEMM with no quantised weight operand (attention's QK^T and PV:
activations x activations; an LM head kept in high precision: ``w_kind`` not ``weight``) has
nothing for a low-bit-weight PE to do: it runs on
the array in the PE's plain MAC mode (an assumption of ours: as a MAC array of the same shape
beside the PEs, the way the LUT device runs attention beside its tiles), at the same cycles,
priced as the cost provider's MAC in its wider operand's format (:func:`plain_mac_format`: an
LM head kept in fp16 is an fp16 MAC); the op's detail says so.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError
from hwsim.numerics import resolve

#: FPGA preset labels (:data:`hwsim.devices.systolic.fpga.PE_KINDS`): MAC PEs
FPGA_MAC_LABELS = ("int8-dsp", "fp8-lut", "lmul-lut")


@dataclass(frozen=True)
class PeKind:
    """One kind of PE (see the module docstring)."""

    name: str
    summary: str
    weights: tuple[str, ...] | None = None  # weight formats it takes (None: any)
    activations: tuple[str, ...] | None = None  # activation formats it takes (None: any)
    dequant: str = "none"  # none | group | element: how often it dequantises a weight
    # (spec, activation, weight format) -> [(dataset module, share of one per MAC)]
    rows: Callable[[Any, str, str], list[tuple[str, float]]] | None = None

    def check(self, x: str, w: str, where: str) -> None:
        """One error naming what the PE takes, for an op it cannot run."""
        for what, fmt, allowed in (("weights", w, self.weights),
                                   ("activations", x, self.activations)):
            if allowed is not None and resolve(fmt).name not in allowed:
                raise HwsimError(f"{where}: PE kind {self.name!r} takes {what} in "
                                 f"{', '.join(allowed)}, not {fmt}; use pe='mac' for this "
                                 "workload or quantise it to what the PE takes")


def _mixpe_rows(spec: Any, x: str, w: str) -> list[tuple[str, float]]:
    return [(unit_module("mixpe", x, w, block=spec.pe_group, direction="pe"), 1.0)]


def _dequant_mac_rows(spec: Any, x: str, w: str) -> list[tuple[str, float]]:
    return [(unit_module("dequant-mac", x, w), 1.0)]


PE_KINDS: dict[str, PeKind] = {
    "mac": PeKind("mac", "a MAC in the op's formats, priced by the cost provider"),
    "mixpe": PeKind("mixpe", "MixPE: int2/int4 weights x int8/fp16 activations by "
                    "shift-and-add, one dequantisation per group", ("int2", "int4"),
                    ("int8", "fp16"), "group", _mixpe_rows),
    "dequant-mac": PeKind("dequant-mac", "a MAC that dequantises its int2/int4 weight every "
                          "element", ("int2", "int4"), ("int8", "fp16"), "element",
                          _dequant_mac_rows),
    "ternary-acc": PeKind("ternary-acc", "accumulate-only PE for ternary (int2-coded) weights",
                          ("int2",), ("int8",), "none",
                          lambda spec, x, w: [("ternary_acc_int8_acc24_p0", 1.0)]),
    "olive-decode": PeKind("olive-decode", "an int8 MAC fed by a column-edge OliVe decoder",
                           ("olive4", "olive8"), ("int8",), "none",
                           lambda spec, x, w: [("int_mac_int8_acc32_p0", 1.0),
                                               (f"olive_decode_{w}_p0", 1.0 / spec.rows)]),
    **{label: PeKind(label, "an FPGA preset's MAC PE (sized by the board's budget)")
       for label in FPGA_MAC_LABELS},
}


def get_pe_kind(name: str) -> PeKind:
    if name not in PE_KINDS:
        raise HwsimError(f"systolic array: unknown PE kind {name!r}; known: "
                         f"{', '.join(PE_KINDS)}")
    return PE_KINDS[name]


def designs_csv() -> Path:
    from costmodel.data import shipped_path

    return shipped_path("designs.csv")


@lru_cache(maxsize=4)
def _rows(path: str, mtime: float) -> dict[str, Mapping[str, str]]:
    with open(path, newline="") as f:
        return {r["module"]: r for r in csv.DictReader(f)}


@lru_cache(maxsize=4)
def _designs(path: str, mtime: float) -> dict[tuple[str, ...], str]:
    """(unit, format, weight format, group, dequantiser place) -> module, pipeline 0 only."""
    return {(r["unit"], r["format"], r["mul"], r["block"], r["direction"]): m
            for m, r in _rows(path, mtime).items() if r["pipeline"] == "0"}


def unit_module(unit: str, x: str, w: str, *, block: int = 0, direction: str = "") -> str:
    """The module of the cost dataset's ``unit`` row for activations ``x`` and weights ``w``
    (a ``mixpe``: its group and dequantiser place), one error naming the rows it has."""
    path = designs_csv()
    designs = _designs(str(path), path.stat().st_mtime)
    key = (unit, x, w, str(block), direction)
    if key not in designs:
        have = sorted(" ".join(k[1:3]) + (f" group {k[3]}" if k[3] != "0" else "")
                      for k in designs if k[0] == unit and k[4] == direction)
        where = f", dequantiser {direction!r}" if direction else ""
        raise HwsimError(f"PE kind {unit!r}: the cost dataset {path.name} has no row for "
                         f"{x} activations x {w} weights" + (f", group {block}" if block else "")
                         + f"{where}; it has {', '.join(have) or 'none'} (add one with "
                         "'hwsim cost dataset', or choose another group or precision)")
    return designs[key]


def dataset_row(module: str) -> Mapping[str, str]:
    """The cost-dataset row of a synthesised module (by its Verilog module name)."""
    path = designs_csv()
    rows = _rows(str(path), path.stat().st_mtime)
    if module not in rows:
        raise HwsimError(f"the cost dataset {path.name} has no row for {module}; add it with "
                         "'hwsim cost dataset'")
    return rows[module]


@dataclass(frozen=True)
class PePrice:
    energy_pj: float  # per MAC
    transistors: float  # per PE (the units' Yosys area; shares as for energy)
    source: str


def pe_price(spec: Any, x: str, w: str) -> PePrice | None:
    """What one MAC on ``spec``'s PE costs for activation ``x`` and weight ``w`` formats, from
    the cost dataset; None when the cost provider prices it (``mac`` and the FPGA labels)."""
    kind = get_pe_kind(spec.pe)
    if kind.rows is None:
        return None
    parts = kind.rows(spec, resolve(x).name, resolve(w).name)
    if not parts:
        return None
    rows = [(dataset_row(m), share) for m, share in parts]
    return PePrice(sum(float(r["energy_pj"]) * s for r, s in rows),
                   sum(float(r["transistors"]) * s for r, s in rows),
                   " + ".join(f"{m} x {s:g}" if s != 1 else m for m, s in parts)
                   + f" ({designs_csv().name})")


def plain_mac(op: Any) -> bool:
    """An op without a quantised weight operand (``w_kind`` not ``weight``: attention's
    activations x activations, an LM head in the ``hp`` format): the plain MAC mode's."""
    return getattr(op, "w_kind", "weight") != "weight"


def plain_mac_format(op: Any) -> str:
    """The MAC format of a plain-MAC-mode op: its wider operand's element format (int8 x int8
    attention: int8; an int8 x fp16 LM head kept in high precision: fp16), x on a tie."""
    from hwsim.engine.lowering import format_bits

    fmts = [resolve(f) for f in (op.fmt.x, op.fmt.w) if f]
    elems = [getattr(f, "element", f) for f in fmts]
    return max(elems, key=lambda f: format_bits(f.name)).name


class PeCosts:
    """A cost provider for the driver: a MAC of an op with weights at the PE's dataset price
    for the op's activation and weight formats (:meth:`op_mac_pj`), an op without weights (the
    plain MAC mode) and every other query from ``base``."""

    def __init__(self, base: Any, spec: Any) -> None:
        self.base = base
        self.spec = spec
        self.name = f"{base.name}+pe:{spec.pe}"
        self._prices: dict[tuple[str, str], PePrice | None] = {}

    def price(self, x: str, w: str) -> PePrice | None:
        """The PE's price for activations ``x`` x weights ``w`` (None: the provider's MAC)."""
        key = (resolve(x).name, resolve(w).name)
        if key not in self._prices:
            self._prices[key] = pe_price(self.spec, *key)
        return self._prices[key]

    def op_mac_pj(self, op: Any) -> float:
        """Energy of one MAC of ``op`` (:class:`hwsim.engine.pricing.ProviderPrices` asks)."""
        from costmodel.provider import Op

        if plain_mac(op):
            return self.base.energy_pj(Op("mac", plain_mac_format(op)))
        p = self.price(op.fmt.x, op.fmt.w)
        if p is not None:
            return p.energy_pj
        fmt = resolve(op.fmt.x)
        return self.base.energy_pj(Op("mac", getattr(fmt, "element", fmt).name))

    def mac_area(self, x: str, w: str) -> Any:
        """Transistors of one PE for ``x`` x ``w`` (a :class:`costmodel.provider.Price`)."""
        from costmodel.provider import Op, Price

        p = self.price(x, w)
        if p is None:
            return self.base.area(Op("mac", x))
        return Price(p.transistors, "transistors", f"PE {self.spec.pe}: {p.source}")

    def energy(self, q: Any) -> Any:
        return self.base.energy(q)

    def energy_pj(self, q: Any) -> float:
        return self.base.energy_pj(q)

    def area(self, q: Any) -> Any:
        return self.base.area(q)

    def fpga_resources(self, q: Any, family: str = "xilinx") -> Any:
        return self.base.fpga_resources(q, family)

    def describe(self) -> str:
        return (f"PE kind {self.spec.pe} from the cost dataset for the MACs of weighted ops; "
                f"{self.base.name}")


__all__ = ["PE_KINDS", "PeCosts", "PeKind", "PePrice", "dataset_row", "get_pe_kind",
           "pe_price", "plain_mac", "plain_mac_format",
           "unit_module"]
