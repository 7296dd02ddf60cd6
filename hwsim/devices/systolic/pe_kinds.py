"""PE kinds of the systolic array: what each PE accepts, what a MAC on it costs, and how
often it dequantises.

``SystolicSpec.pe`` names one of :data:`PE_KINDS`. ``mac`` (the default, and the FPGA presets'
``int8-dsp``/``fp8-lut``/``lmul-lut``, which are MACs sized by :mod:`.fpga`) takes any format
and is priced by the cost provider's ``Op("mac", fmt)`` as before. The others are RTL units
of our own, priced by their rows in the cost dataset (``costmodel/data/designs.csv``: Yosys
area, switching-activity energy per cycle, one MAC per cycle), handed to the driver through
the cost seam (:class:`PeCosts`, a cost provider that answers MAC queries for the PE and
passes every other query on):

- ``mixpe`` (MixPE, :mod:`rtl.units.mixpe`): int2/int4 weights x int8 activations by
  shift-and-add, one dequantisation per quantisation group of ``pe_group`` weights along K
  (the group must divide every GEMM's K). fp16 activations are accepted (the golden model has
  that path) but have no RTL yet: they are priced as the provider's fp16 MAC, an upper bound.
- ``dequant-mac`` (:mod:`rtl.units.dequant_mac`): the per-element-dequantise MAC MixPE
  replaces; same precisions, one dequantisation per MAC.
- ``ternary-acc``: ternary (int2-coded) weights x int8 activations, accumulate only.
- ``olive-decode``: an int8 MAC fed by an OliVe outlier-victim-pair decoder (olive4/olive8
  weights); one decoder per array column at the array's edge, its decoded weight reused by
  the column's ``rows`` PEs (an assumption of ours), so a MAC carries 1/rows of a decode.

The dequantisers are pipelined inside the PE (``mixpe``'s is operand-isolated between group
ends), so no PE kind adds cycles: the dequantisations are counted in the run's notes and their
energy is in the unit's per-cycle energy.
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
#: quantisation group sizes the cost dataset has ``mixpe`` rows for
MIXPE_GROUPS = (32, 128)


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
    if x != "int8":
        return []  # fp16: no RTL; the provider's fp16 MAC prices it
    if spec.pe_group not in MIXPE_GROUPS:
        raise HwsimError(f"PE kind 'mixpe': the cost dataset has MixPE rows for groups of "
                         f"{', '.join(map(str, MIXPE_GROUPS))}, not {spec.pe_group}")
    return [(f"mixpe_int8_w{resolve(w).bits}_g{spec.pe_group}_acc32_p0", 1.0)]


def _dequant_mac_rows(spec: Any, x: str, w: str) -> list[tuple[str, float]]:
    return [(f"dequant_mac_int8_w{resolve(w).bits}_acc32_p0", 1.0)] if x == "int8" else []


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
    the cost dataset; None when the cost provider prices it (``mac``, or no RTL row)."""
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


class PeCosts:
    """A cost provider for the driver: MACs at the PE's dataset price, all else from
    ``base``. Built per run from the spec and the formats of the run's ops."""

    def __init__(self, base: Any, spec: Any) -> None:
        self.base = base
        self.spec = spec
        self.name = f"{base.name}+pe:{spec.pe}"
        self._w: dict[str, str] = {}  # activation format -> the weight format it meets

    def weight_for(self, x: str, w: str) -> None:
        self._w.setdefault(resolve(x).name, resolve(w).name)

    def _price(self, q: Any) -> PePrice | None:
        if q.kind == "mac" and q.fmt in self._w:
            return pe_price(self.spec, q.fmt, self._w[q.fmt])
        return None

    def energy(self, q: Any) -> Any:
        from costmodel.provider import Price

        p = self._price(q)
        if p is None:
            return self.base.energy(q)
        return Price(p.energy_pj, "pJ", f"PE {self.spec.pe}: {p.source}")

    def energy_pj(self, q: Any) -> float:
        return self.energy(q).value

    def area(self, q: Any) -> Any:
        from costmodel.provider import Price

        p = self._price(q)
        if p is None:
            return self.base.area(q)
        return Price(p.transistors, "transistors", f"PE {self.spec.pe}: {p.source}")

    def fpga_resources(self, q: Any, family: str = "xilinx") -> Any:
        return self.base.fpga_resources(q, family)

    def describe(self) -> str:
        return f"PE kind {self.spec.pe} from the cost dataset for its MACs; {self.base.name}"


__all__ = ["PE_KINDS", "PeCosts", "PeKind", "PePrice", "dataset_row", "get_pe_kind",
           "pe_price"]
