"""Cost-model features of a sweep point and its constraints.

Every finished point gets the cost model's price of its MAC unit, asked of
:class:`costmodel.provider.LearnedCostProvider` (the learned model where it was trained, the
analytical 45 nm provider for the rest, as ``hwsim run --costs learned`` prices MACs):

- ``mac_energy_pj``: the energy of one MAC in the format of the point's busiest MAC op (its
  activation format and accumulator, the operand the run's energy is priced by);
- ``area_transistors``: that MAC unit's area times the PEs (``rows x cols``), for devices with
  an array; an estimate of the MAC array only (SRAMs, control and wiring are not counted);
- ``fpga_luts``: the measured LUTs (carry cells included) of the preset's PE times the PEs,
  for FPGA presets (their PE kind is in :data:`hwsim.devices.systolic.fpga.PE_KINDS`).

They are computed when an objective or a constraint of the sweep names one
(:attr:`~hwsim.sweep.spec.Sweep.needs_costs`), by the driver (the model loads once, each
price is asked once per format: a format the model has no netlist features for is
synthesised by PyRTL first, seconds each). The constraints are checked on every sweep: a
point that breaks one keeps its row, with the reason in ``violation``, and is left out of
every Pareto front.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from hwsim.sweep.spec import ALL_NAMES, COST_METRICS, Sweep


@lru_cache(maxsize=256)
def _mac_prices(fmt: str, acc: str | None) -> tuple[float, float]:
    """(area in transistors, energy in pJ) of one MAC unit, from the learned provider."""
    from costmodel.provider import LearnedCostProvider, Op

    costs = LearnedCostProvider()
    q = Op("mac", fmt, acc=acc)
    return costs.area(q).value, costs.energy_pj(q)


@lru_cache(maxsize=64)
def _pe_luts(pe: str) -> int | None:
    from hwsim.devices.systolic.fpga import PE_KINDS, pe_resources

    return pe_resources(pe).luts if pe in PE_KINDS else None


def preflight() -> None:
    """Load the learned cost model now, so that a model that cannot load is one clean error
    before any work (not a crash after the first point)."""
    _mac_prices("int8", None)


def features(canonical: dict[str, Any], mac_fmt: str | None, acc: str | None
             ) -> dict[str, float | None]:
    """The cost-model features (:data:`COST_METRICS`) of one point."""
    out: dict[str, float | None] = dict.fromkeys(COST_METRICS)
    if mac_fmt is None:
        return out
    area, energy = _mac_prices(mac_fmt, acc)
    out["mac_energy_pj"] = energy
    dev = canonical["device"]
    if isinstance(dev.get("rows"), int) and isinstance(dev.get("cols"), int):
        pes = dev["rows"] * dev["cols"]
        out["area_transistors"] = area * pes
        luts = _pe_luts(str(dev.get("pe")))
        out["fpga_luts"] = luts * pes if luts is not None else None
    return out


def assess(sweep: Sweep, canonical: dict[str, Any], outcome: dict[str, Any]) -> dict[str, Any]:
    """``outcome`` with the cost features among its metrics and the constraints' verdict
    (``violation``: the reasons, or None). A failed outcome is returned as it is."""
    if outcome["status"] != "done":
        return outcome
    metrics = dict(outcome["metrics"])
    if sweep.needs_costs:
        metrics.update(features(canonical, outcome.get("mac_fmt"), outcome.get("acc_fmt")))
    reasons = [r for c in sweep.constraints if (r := c.violation(metrics.get(c.metric)))]
    return {**outcome, "metrics": metrics, "violation": "; ".join(reasons) or None}


def objective_values(sweep: Sweep, outcome: dict[str, Any]) -> list[float] | None:
    """The objectives of an assessed outcome, in order (None when one is missing)."""
    values = [outcome["metrics"].get(o) for o in sweep.objectives]
    return None if any(v is None for v in values) else [float(v) for v in values]


def constraint_values(sweep: Sweep, metrics: dict[str, Any]) -> list[float]:
    """Optuna's constraint values (<= 0: met) of a point's metrics."""
    return [c.excess(metrics.get(c.metric)) for c in sweep.constraints]


#: every metric a stored row may hold
ALL_METRICS = ALL_NAMES

__all__ = ["ALL_METRICS", "assess", "constraint_values", "features", "objective_values",
           "preflight"]
