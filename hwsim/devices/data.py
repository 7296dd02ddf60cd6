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
    """The analytical 45 nm energy table: ``mac_pj[kind]``, ``sram_pj_per_byte``,
    ``dram_pj_per_byte`` as floats (sources stay in the file)."""
    raw = load_data("energy_45nm.json")
    return {
        "name": raw["name"],
        "mac_pj": {k: float(sourced(v, f"energy mac_pj.{k}")) for k, v in raw["mac_pj"].items()},
        "sram_pj_per_byte": float(sourced(raw["sram_pj_per_byte"], "energy sram")),
        "dram_pj_per_byte": float(sourced(raw["dram_pj_per_byte"], "energy dram")),
    }


def mac_energy_pj(fmt: str) -> float:
    """Energy of one MAC whose operands are in ``fmt`` (nearest entry of the table)."""
    from workloads import format_bits

    table = energy_table()["mac_pj"]
    name = fmt.lower()
    if name in table:
        return table[name]
    bits = format_bits(name)
    if name.startswith(("int", "uint", "ternary", "binary")) or "1.58" in name:
        return table["int4"] if bits <= 4 else table["int8"] if bits <= 8 else table["int32"]
    if bits <= 8:
        return table["fp8"]
    return table["fp16"] if bits <= 16 else table["fp32"]
