"""Loading the sourced hardware data files in ``hwsim/data``: every number has value, unit
and source, checked on load, so no figure enters the models without its provenance."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from hwsim.errors import HwsimError


@cache
def load_data(name: str) -> dict[str, Any]:
    """Parse ``hwsim/data/<name>`` (JSON: no YAML parser among the core dependencies)."""
    path = resources.files("hwsim") / "data" / name
    if not path.is_file():
        raise HwsimError(f"hardware data file {name!r} is missing from hwsim/data")
    return json.loads(path.read_text())


def sourced(entry: Any, where: str) -> float:
    """The value of a ``{value, unit, source}`` entry, refusing entries without a source."""
    if not isinstance(entry, dict) or not {"value", "unit", "source"} <= entry.keys():
        raise HwsimError(f"{where}: each figure needs value, unit and source, got {entry!r}")
    if not str(entry["source"]).strip():
        raise HwsimError(f"{where}: empty source")
    return entry["value"]


@cache
def energy_table() -> dict[str, Any]:
    """The analytical 45 nm memory energies: ``sram_pj_per_byte``, ``dram_pj_per_byte`` as
    floats (sources stay in the file). Per-MAC energy comes from a cost provider."""
    raw = load_data("energy_45nm.json")
    return {
        "name": raw["name"],
        "sram_pj_per_byte": float(sourced(raw["sram_pj_per_byte"], "energy sram")),
        "dram_pj_per_byte": float(sourced(raw["dram_pj_per_byte"], "energy dram")),
    }
