"""LUT GEMMs' energy: the cost provider prices a product as a MAC of the activation format;
a product done by LUT units costs our synthesised LUT-vs-MAC energy ratio times that.

The driver prices every executed MAC with the provider (:mod:`hwsim.engine.pricing`); a LUT
device hands it the run and then moves its LUT GEMMs' MAC energy to a ``lut`` component,
scaled by :attr:`~hwsim.devices.lut.units.LutVsMac.energy` (LUT energy per product at the
op's weight bit-planes over a MAC slice's energy per product, both from the Yosys table).
Where the table has no energies the MAC price is kept and a note says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from costmodel.provider import get_provider
from hwsim.devices.lut.units import LutVsMac
from hwsim.engine.pricing import ProviderPrices
from hwsim.engine.result import RunResult


def relabel_lut_energy(res: RunResult, graph: Any, lut_ops: Mapping[str, LutVsMac],
                       costs: Any = None) -> RunResult:
    """``res`` with the MAC energy of the ops in ``lut_ops`` moved to ``lut``, rescaled."""
    if not lut_ops:
        return res
    prices = ProviderPrices(costs if costs is not None else get_provider("analytical"))
    by_name = {op.name: op for op in graph.ops}
    ops, mac_moved, lut_pj = [], 0.0, 0.0
    unpriced: set[str] = set()
    for r in res.ops:
        cmp = lut_ops.get(r.name)
        if cmp is None or cmp.energy is None:
            if cmp is not None:
                unpriced.add(f"W{cmp.weight_bits} {cmp.act_format}")
            ops.append(r)
            continue
        e_mac = r.macs * prices.mac_pj(by_name[r.name])
        e_lut = e_mac * cmp.energy
        ops.append(replace(r, energy_pj=r.energy_pj - e_mac + e_lut))
        mac_moved += e_mac
        lut_pj += e_lut
    energy = dict(res.energy_pj)
    notes = list(res.notes)
    if lut_pj:
        energy["mac"] = energy.get("mac", 0.0) - mac_moved
        energy["lut"] = lut_pj
        ratios = sorted({f"W{c.weight_bits} {c.act_format} x{c.energy:.3g}"
                         for c in lut_ops.values() if c.energy is not None})
        notes.append("LUT GEMMs' energy: the provider's MAC price times our synthesised "
                     f"LUT/MAC energy per product ({', '.join(ratios)})")
    if unpriced:
        notes.append(f"LUT GEMMs ({', '.join(sorted(unpriced))}) priced as MACs: the Yosys "
                     "table has no energy for them")
    return replace(res, ops=tuple(ops), energy_pj=energy, notes=tuple(notes))


__all__ = ["relabel_lut_energy"]
