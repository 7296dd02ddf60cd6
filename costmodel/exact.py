"""The targets that are cheap to compute exactly for one design (no synthesis).

Delay is PyRTL's critical-path estimate of the generated block (``rtl.synth.pyrtl_estimates``,
milliseconds) and energy the switching-activity proxy of :mod:`costmodel.activity` (a toggle
simulation, tens of milliseconds): both are the dataset's own definitions of those targets, so
for a single design they are computed rather than predicted. Area, LUTs and logic depth need
Yosys (seconds to minutes) and stay with the learned model.
"""

from __future__ import annotations

import time
from typing import Any

from costmodel.space import DesignPoint

#: target -> how it is computed exactly
EXACT_TARGETS = {"delay": "PyRTL timing analysis", "energy": "toggle-energy simulation"}


def compute_exact(p: DesignPoint) -> dict[str, Any]:
    """Delay (ps) and energy (pJ/op) of ``p`` computed exactly, with the seconds it took."""
    from costmodel.activity import design_energy_ge, pj_per_ge
    from rtl.synth import pyrtl_estimates
    from rtl.unit import build_unit  # lazy: PyRTL and every generator

    t0 = time.perf_counter()
    unit = build_unit(p.unit, **p.params())
    _, delay_ps = pyrtl_estimates(unit)
    energy_pj = design_energy_ge(p, unit)["energy_ge"] * pj_per_ge()
    return {"delay": float(delay_ps), "energy": float(energy_pj),
            "seconds": time.perf_counter() - t0}
