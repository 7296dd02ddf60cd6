"""RTL unit sweeps: the cost-model dataset as a sweep file.

A sweep file with ``unit:`` instead of ``device:``/``workload:`` sweeps RTL units
(:data:`costmodel.space.FAMILIES`) over their parameters (:data:`UNIT_AXES`: format,
pipeline, saturate, accumulator, ...). Each point is one :class:`costmodel.space.DesignPoint`;
a worker synthesises it with :func:`costmodel.dataset.evaluate_design` (Yosys and PyRTL, as
``hwsim cost dataset`` does) and the store keeps the record it returns (``record``, JSON) and
its targets as metrics (:data:`UNIT_METRICS`, named as the dataset's columns, the energy as
``unit_energy_pj``). :func:`hwsim.sweep.store.dataset_frame` turns a finished store into the
dataset's table, row for row what ``hwsim cost dataset`` writes for the same designs
(``sweeps/costmodel_dataset.yaml``). Parameters a unit does not take do not enter its key
(:attr:`DesignPoint.key`), so the product of the axes holds each design once.
"""

from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from hwsim.errors import HwsimError

#: a unit sweep's axes: DesignPoint's fields
UNIT_AXES = ("format", "pipeline", "saturate", "acc", "mul", "block", "direction", "k", "m",
             "n", "weight_bits")
#: the type of each axis's values (str otherwise)
AXIS_TYPES = {"pipeline": int, "saturate": bool, "block": int, "k": int, "m": int, "n": int,
              "weight_bits": int}
#: a unit's targets as sweep metrics -> its dataset column (costmodel.models.TARGETS)
UNIT_COLUMNS = {"area_transistors": "area_transistors", "fpga_luts": "fpga_luts",
                "pyrtl_delay_ps": "pyrtl_delay_ps", "logic_depth": "logic_depth",
                "unit_energy_pj": "energy_pj"}
#: an RTL unit sweep's metrics (area_transistors and fpga_luts are the unit's own there)
UNIT_METRICS = tuple(UNIT_COLUMNS)


def design_point(choice: dict[str, Any]) -> Any:
    """The DesignPoint of a unit sweep's choice (``unit``, ``unit.<axis>``)."""
    from costmodel.space import DesignPoint

    fields = {k[5:]: v for k, v in choice.items() if k.startswith("unit.")}
    if "format" not in fields:
        raise HwsimError("sweep file: unit needs a 'format' axis (one format or a list)")
    if isinstance(fields.get("acc"), int) and not isinstance(fields["acc"], bool):
        fields["acc"] = str(fields["acc"])  # int-mac's accumulator width
    for name, v in {"unit": choice["unit"], **fields}.items():
        want = AXIS_TYPES.get(name, str)
        if isinstance(v, bool) is not (want is bool) or not isinstance(v, want) or (
                want is int and v < 0):
            what = {bool: "true or false", int: "an integer >= 0"}.get(want, "a name")
            raise HwsimError(f"sweep file: unit {name} must be {what}, got {v!r}")
    p = DesignPoint(choice["unit"], **fields)
    from costmodel.space import canonical_format

    canonical_format(p.format)  # an unknown format is one error here
    return p


def unit_canonical(p: Any) -> dict[str, Any]:
    """What a design point resolves to: its unit and the generator's parameters (the
    format by its canonical name), as its dataset key does."""
    from costmodel.space import canonical_format

    return {"unit": p.unit, **p.params(), "format": canonical_format(p.format)}


def evaluate_unit(task: dict[str, Any]) -> dict[str, Any]:
    """Synthesise one design (see the module doc); never raises."""
    from costmodel.dataset import evaluate_design
    from costmodel.space import DesignPoint

    start = time.perf_counter()
    try:
        p = DesignPoint.from_dict(task["unit"])
        with tempfile.TemporaryDirectory(prefix="hwsim-unit-") as build:
            rec = evaluate_design(p, build)
        metrics = {m: rec[c] for m, c in UNIT_COLUMNS.items()}
        return {"status": "done", "metrics": metrics, "record": rec,
                "wall_s": time.perf_counter() - start}
    except Exception as exc:  # recorded, never stops the sweep
        return failed(exc, start)


def failed(exc: BaseException, start: float) -> dict[str, Any]:
    """The ``failed`` outcome of a point that raised ``exc`` (type, message and where)."""
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return {"status": "failed", "error": f"{type(exc).__name__}: {exc}{where}",
            "wall_s": time.perf_counter() - start}


__all__ = ["UNIT_AXES", "UNIT_COLUMNS", "UNIT_METRICS", "design_point", "evaluate_unit", "failed",
           "unit_canonical"]
