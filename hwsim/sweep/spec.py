"""Sweep files: the schema, the expansion into points and each point's canonical key.

A sweep file (YAML or JSON) is a mapping::

    device:                       # a kind or preset name, a list of them, or a mapping:
      name: systolic              #   name(s) plus axes over any spec field of that device
      rows: [8, 16, 32]
      dataflow: [os, ws, is]
    workload:                     # a name, a list, or a mapping: name(s) plus axes over
      name: resnet18              #   phase, seq, kv_len, batch, layers
      layers: 4
    precision: [int8, fp16]       # precision presets, or `format:` element/block formats
    objectives: [total_cycles, energy_total_pj]   # or {name: utilisation, direction: max}
    constraints: [{metric: area_transistors, max: 2.0e7}]
    search: grid                  # or random (+ samples, seed), or guided (+ budget, seed,
                                  #   sampler: tpe | nsga2 | random, or {name: ..., knobs},
                                  #   warm_start: share of the budget, see below)

``unit:`` instead of ``device:``/``workload:`` sweeps RTL units (:mod:`hwsim.sweep.units`),
``study:`` the studies of ``sim_results/`` (:mod:`hwsim.sweep.studies`, ``hwsim reproduce``).

Every axis is a value or a list of values; the points are their product (``grid``) or
``samples`` distinct points drawn from it (``random``). A point's canonical form holds what
it resolves to (every device spec field after :func:`hwsim.devices.base.build_spec`, the
workload's defaults filled in, the formats' canonical names), so two spellings of one point
(an alias of a format, the kind's name and its default preset, a field set to its default)
share one key: a hash of that form and :data:`hwsim.__version__`.

Objectives and constraints name a run metric (:data:`METRICS`) or a cost-model feature
(:data:`COST_METRICS`: the learned cost model's prices of the point's MAC unit, times the PEs
where the device has an array; see :mod:`hwsim.sweep.costs`). Objectives are minimised unless
their direction says ``max`` (the default for :data:`HIGHER_IS_BETTER` metrics).

A guided search first evaluates the points a cheap prediction ranks best
(:mod:`hwsim.sweep.surrogate`: closed forms and the cost model, no simulation), spending
``warm_start`` of its budget on them (default :data:`WARM_START`; 0 leaves every choice to the
sampler), then lets the sampler, told those results, spend the rest.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwsim import __version__
from hwsim.errors import HwsimError
from hwsim.io import read_mapping
from hwsim.sweep.studies import STUDY_AXES, STUDY_METRICS, study_names
from hwsim.sweep.units import UNIT_AXES, UNIT_METRICS

TOP_KEYS = ("device", "workload", "unit", "study", "precision", "format", "objectives",
            "constraints", "search", "samples", "budget", "sampler", "seed", "warm_start")
WORKLOAD_AXES = ("phase", "seq", "kv_len", "batch", "layers")
SEARCHES = ("grid", "random", "guided")
#: numeric RunResult fields a sweep stores for every point (objectives name some of them)
METRICS = ("total_cycles", "compute_cycles", "stall_cycles", "macs", "peak_macs_per_cycle",
           "clock_mhz", "seconds", "energy_total_pj", "utilisation")
#: cost-model features of every point (hwsim.sweep.costs): MAC-array area (transistors), energy
#: of one MAC (pJ) and FPGA LUTs of the PEs (FPGA presets only); names follow costmodel's
#: dataset columns (costmodel.models.TARGETS)
COST_METRICS = ("area_transistors", "mac_energy_pj", "fpga_luts")
#: every metric a sweep file may name
ALL_NAMES = tuple(dict.fromkeys(METRICS + COST_METRICS + UNIT_METRICS))
#: metrics whose default direction is ``max``
HIGHER_IS_BETTER = ("utilisation", "macs", "peak_macs_per_cycle", "clock_mhz")
#: Optuna samplers a guided search may name, and the knobs each takes (name -> type)
SAMPLERS: dict[str, dict[str, type]] = {
    "tpe": {"n_startup_trials": int, "multivariate": bool, "n_ei_candidates": int},
    "nsga2": {"population_size": int, "mutation_prob": float, "crossover_prob": float},
    "random": {},
}
#: TPE: with budgets of tens of evaluations NSGA-II hardly gets past its first generations
#: (benchmarks/bench_sweep.py prints both)
DEFAULT_SAMPLER = "tpe"
#: share of a guided search's budget spent first on the points the surrogate ranks best
#: (fixed from the design, not fitted: half the budget to the prediction, half to the sampler,
#: so a poor prediction costs at most half the search; benchmarks/bench_sweep.py prints the
#: recall with and without it)
WARM_START = 0.5


@dataclass(frozen=True)
class Point:
    """One point: what a worker needs to run it (``task``) and its ``key``; ``choice`` is
    the axis values it came from (what a guided search tells its optimiser)."""

    key: str
    task: dict[str, Any]
    canonical: dict[str, Any] = field(repr=False)
    choice: dict[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Constraint:
    """``min <= metric <= max`` (either bound may be absent)."""

    metric: str
    min: float | None = None  # noqa: A003  (the sweep file's own words)
    max: float | None = None  # noqa: A003

    def violation(self, value: float | None) -> str | None:
        """Why ``value`` breaks this constraint, or None."""
        if value is None:
            return f"{self.metric} unknown (the constraint needs it)"
        if self.max is not None and value > self.max:
            return f"{self.metric} {value:.6g} > max {self.max:.6g}"
        if self.min is not None and value < self.min:
            return f"{self.metric} {value:.6g} < min {self.min:.6g}"
        return None

    def excess(self, value: float | None) -> float:
        """Optuna's constraint value: <= 0 when met, else the relative excess."""
        if value is None:
            return 1.0
        out = -math.inf
        for bound, sign in ((self.max, 1.0), (self.min, -1.0)):
            if bound is not None:
                out = max(out, sign * (value - bound) / (abs(bound) or 1.0))
        return out


@dataclass(frozen=True)
class Sweep:
    axes: tuple[tuple[str, tuple[Any, ...]], ...]  # (name, values) in expansion order
    objectives: tuple[str, ...]
    search: str
    samples: int | None
    seed: int
    source: dict[str, Any]
    #: "min" or "max" per objective
    directions: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    budget: int | None = None  # guided: evaluations
    sampler: tuple[str, tuple[tuple[str, Any], ...]] = ("tpe", ())  # name, knobs
    warm_start: float = WARM_START  # guided: share of the budget for predicted-best points

    def __post_init__(self) -> None:
        if not self.directions:
            object.__setattr__(self, "directions", tuple(
                "max" if o in HIGHER_IS_BETTER else "min" for o in self.objectives))

    @property
    def units(self) -> bool:
        """Whether this sweeps RTL units (:mod:`hwsim.sweep.units`), not devices."""
        return self.axes[0][0] == "unit"

    @property
    def needs_costs(self) -> bool:
        """Whether an objective or a constraint names a cost-model feature (only then are
        they computed: the learned model takes seconds to load, more under load); a unit
        sweep measures its own, a study sweep has none."""
        kind = self.axes[0][0] if self.axes else None
        return kind not in ("unit", "study") and any(
            m in COST_METRICS for m in (*self.objectives, *(c.metric for c in self.constraints)))

    @property
    def grid_size(self) -> int:
        return math.prod(len(v) for _, v in self.axes)

    def points(self) -> list[Point]:
        """The points of this sweep, unique by key, in expansion order."""
        n = self.grid_size
        if self.search == "random":
            k = min(self.samples or n, n)
            indices: Any = sorted(random.Random(self.seed).sample(range(n), k))
        else:
            indices = range(n)
        out: dict[str, Point] = {}
        for i in indices:
            p = make_point(self._choice(i))
            out.setdefault(p.key, p)
        return list(out.values())

    def _choice(self, index: int) -> dict[str, Any]:
        """The ``index``-th element of the axes' product (last axis fastest)."""
        choice: dict[str, Any] = {}
        for name, values in reversed(self.axes):
            index, r = divmod(index, len(values))
            choice[name] = values[r]
        return choice


def _values(value: Any, where: str) -> tuple[Any, ...]:
    """An axis's values; a value that is itself a list (a tuple field such as ``sram_kb``:
    ``[[64, 64, 64], [128, 128, 128]]``) becomes a tuple."""
    values = tuple(value) if isinstance(value, list) else (value,)
    if not values:
        raise HwsimError(f"sweep file: {where} is an empty list; give at least one value")
    out = []
    for v in values:
        if isinstance(v, list) and not any(isinstance(x, dict | list) for x in v):
            v = tuple(v)
        if isinstance(v, dict | list):
            raise HwsimError(f"sweep file: {where} holds {v!r}; allowed: a value or a list "
                             "of values (a list value: a list of plain values)")
        out.append(v)
    return tuple(out)


def _names_and_axes(entry: Any, what: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(entry, dict):
        if "name" not in entry:
            raise HwsimError(f"sweep file: '{what}' needs a 'name' (one name or a list)")
        rest = {k: v for k, v in entry.items() if k != "name"}
        return _values(entry["name"], f"{what}.name"), rest
    return _values(entry, what), {}


def parse_sweep(data: dict[str, Any]) -> Sweep:
    """Check a sweep file's mapping; every error names the field and what is allowed."""
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise HwsimError(f"sweep file: unknown field {unknown[0]!r}; allowed: "
                         f"{', '.join(TOP_KEYS)}")
    if "study" in data:
        return _parse_study_sweep(data)
    if "unit" in data:
        return _parse_unit_sweep(data)
    for key in ("device", "workload"):
        if key not in data:
            raise HwsimError(f"sweep file: '{key}' is missing (a name, a list of names, or a "
                             "mapping with 'name' and axes; or 'unit' for an RTL unit sweep, "
                             "'study' for a study sweep)")
    devices, dev_axes = _names_and_axes(data["device"], "device")
    workloads, wl_axes = _names_and_axes(data["workload"], "workload")
    for k in wl_axes:
        if k not in WORKLOAD_AXES:
            raise HwsimError(f"sweep file: workload axis {k!r} is unknown; allowed: name, "
                             f"{', '.join(WORKLOAD_AXES)}")
    if "precision" in data and "format" in data:
        raise HwsimError("sweep file: give 'precision' or 'format', not both")
    axes: list[tuple[str, tuple[Any, ...]]] = [("device", devices)]
    axes += [(f"device.{k}", _values(v, f"device.{k}")) for k, v in sorted(dev_axes.items())]
    axes.append(("workload", workloads))
    axes += [(f"workload.{k}", _values(v, f"workload.{k}")) for k, v in sorted(wl_axes.items())]
    for key in ("precision", "format"):
        if key in data:
            axes.append((key, _values(data[key], key)))
    return _finish(data, axes)


def _parse_unit_sweep(data: dict[str, Any]) -> Sweep:
    """An RTL unit sweep (:mod:`hwsim.sweep.units`): ``unit`` (names and axes) only."""
    other = [k for k in ("device", "workload", "precision", "format") if k in data]
    if other:
        raise HwsimError(f"sweep file: '{other[0]}' does not apply to a unit sweep ('unit'); "
                         "give the format as an axis of 'unit'")
    units, axes = _kind_axes(data, "unit", UNIT_AXES)
    return _finish({"objectives": list(UNIT_METRICS[:3]), **data}, [("unit", units), *axes])


def _parse_study_sweep(data: dict[str, Any]) -> Sweep:
    """A study sweep (:mod:`hwsim.sweep.studies`): ``study`` (names and axes), a grid."""
    other = [k for k in ("device", "workload", "unit", "precision", "format") if k in data]
    if other:
        raise HwsimError(f"sweep file: '{other[0]}' does not apply to a study sweep ('study')")
    if data.get("search", "grid") != "grid":
        raise HwsimError(f"sweep file: search {data['search']!r} does not apply to a study "
                         "sweep; allowed: grid (every study named)")
    names, axes = _kind_axes(data, "study", STUDY_AXES)
    with _context("study"):
        names = study_names(names)
    return _finish({"objectives": list(STUDY_METRICS), **data}, [("study", names), *axes])


def _kind_axes(data: dict[str, Any], kind: str, allowed: tuple[str, ...]
               ) -> tuple[tuple[Any, ...], list[tuple[str, tuple[Any, ...]]]]:
    """The names of a ``unit:``/``study:`` entry and its other axes (``<kind>.<axis>``, in
    name order), each axis one of ``allowed``."""
    names, axes = _names_and_axes(data[kind], kind)
    for k in axes:
        if k not in allowed:
            raise HwsimError(f"sweep file: {kind} axis {k!r} is unknown; allowed: name, "
                             f"{', '.join(allowed)}")
    return names, [(f"{kind}.{k}", _values(v, f"{kind}.{k}")) for k, v in sorted(axes.items())]


def _finish(data: dict[str, Any], axes: list[tuple[str, tuple[Any, ...]]]) -> Sweep:
    """The search, objectives and constraints of a sweep file, and its checked axes."""
    search = data.get("search", "grid")
    if search not in SEARCHES:
        raise HwsimError(f"sweep file: search {search!r} is unknown; allowed: "
                         f"{', '.join(SEARCHES)}")
    samples, budget = data.get("samples"), data.get("budget")
    seed = data.get("seed", 0)
    for name, v, lo in (("samples", samples, 1), ("budget", budget, 1), ("seed", seed, 0)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lo):
            raise HwsimError(f"sweep file: {name} must be an integer >= {lo}, got {v!r}")
    if search == "random" and samples is None:
        raise HwsimError("sweep file: search 'random' needs 'samples' (an integer >= 1)")
    if search != "random" and samples is not None:
        raise HwsimError(f"sweep file: 'samples' applies to search 'random', not {search!r}")
    if search == "guided":
        for key, what in (("budget", "an integer >= 1: the evaluations to spend"),
                          ("objectives", "a list of metrics to optimise")):
            if key not in data:
                raise HwsimError(f"sweep file: search 'guided' needs '{key}' ({what})")
    else:
        for key in ("budget", "sampler", "warm_start"):
            if key in data:
                raise HwsimError(f"sweep file: '{key}' applies to search 'guided', not "
                                 f"{search!r}")
    objectives, directions = parse_objectives(data.get("objectives",
                                                  ["total_cycles", "energy_total_pj"]))
    constraints = _constraints(data.get("constraints", []))
    sampler = _sampler(data.get("sampler", DEFAULT_SAMPLER))
    warm = data.get("warm_start", WARM_START)
    if isinstance(warm, bool) or not isinstance(warm, int | float) or not 0 <= warm <= 1:
        raise HwsimError(f"sweep file: warm_start must be a number from 0 to 1 (the share of "
                         f"the budget spent on predicted-best points), got {warm!r}")

    sweep = Sweep(tuple(axes), objectives, search, samples, seed, data, directions,
                  constraints, budget, sampler, float(warm))
    if budget is not None and budget > sweep.grid_size:
        raise HwsimError(f"sweep file: budget {budget} exceeds the grid's {sweep.grid_size} "
                         f"points; allowed: 1 to {sweep.grid_size} (or search: grid)")
    # every name and value is checked before any work: each value on its own, against the
    # first value of every other axis (a full product can be large)
    first = {name: values[0] for name, values in axes}
    for name, values in axes:
        for v in values:
            make_point({**first, name: v})
    return sweep


def _metric(name: Any, where: str) -> str:
    if name not in ALL_NAMES:
        raise HwsimError(f"sweep file: {where} {name!r} is unknown; allowed: "
                         f"{', '.join(ALL_NAMES)}")
    return name


def parse_objectives(value: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Objective names and directions; an entry is a metric or ``{name:, direction:}``."""
    entries = value if isinstance(value, list) else [value]
    if not entries:
        raise HwsimError("sweep file: objectives is an empty list; give at least one metric")
    names, directions = [], []
    for e in entries:
        if isinstance(e, dict):
            extra = set(e) - {"name", "direction"}
            if extra or "name" not in e:
                raise HwsimError(f"sweep file: objective {e!r}: allowed keys: name, direction")
            direction = e.get("direction", "max" if e["name"] in HIGHER_IS_BETTER else "min")
            if direction not in ("min", "max"):
                raise HwsimError(f"sweep file: objective {e['name']!r}: direction "
                                 f"{direction!r} is unknown; allowed: min, max")
            e = e["name"]
        else:
            direction = "max" if e in HIGHER_IS_BETTER else "min"
        if _metric(e, "objective") in names:
            raise HwsimError(f"sweep file: objective {e!r} is given twice")
        names.append(e)
        directions.append(direction)
    return tuple(names), tuple(directions)


def _constraints(value: Any) -> tuple[Constraint, ...]:
    if not isinstance(value, list):
        raise HwsimError("sweep file: constraints must be a list of {metric:, min:, max:}")
    out = []
    for c in value:
        if not isinstance(c, dict) or "metric" not in c or set(c) - {"metric", "min", "max"}:
            raise HwsimError(f"sweep file: constraint {c!r}: allowed keys: metric, min, max "
                             "(metric and at least one bound)")
        bounds = {k: _number(c.get(k), f"constraint on {c['metric']!r}: {k}")
                  for k in ("min", "max")}
        if all(v is None for v in bounds.values()):
            raise HwsimError(f"sweep file: constraint on {c['metric']!r} needs min or max")
        out.append(Constraint(_metric(c["metric"], "constraint metric"), **bounds))
    return tuple(out)


def _number(v: Any, where: str) -> float | None:
    """A number or None; a string that reads as a float is one (YAML 1.1, which PyYAML
    follows, reads ``5.0e6`` as a string: it wants ``5.0e+6``)."""
    if v is None:
        return None
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise HwsimError(f"sweep file: {where} must be a finite number, got {v!r}")
    return float(v)


def _sampler(value: Any) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """A guided search's sampler: a name, or ``{name:, <knob>: value, ...}``."""
    name, knobs = (value.get("name"), {k: v for k, v in value.items() if k != "name"}) \
        if isinstance(value, dict) else (value, {})
    if name not in SAMPLERS:
        raise HwsimError(f"sweep file: sampler {name!r} is unknown; allowed: "
                         f"{', '.join(SAMPLERS)}")
    allowed = SAMPLERS[name]
    for k, v in knobs.items():
        if k not in allowed:
            raise HwsimError(f"sweep file: sampler {name} knob {k!r} is unknown; allowed: "
                             f"{', '.join(allowed) or 'none'}")
        typ = allowed[k]
        ok = isinstance(v, bool) if typ is bool else (
            isinstance(v, typ | int) and not isinstance(v, bool) and v > 0)
        if typ is int and ok:
            ok = isinstance(v, int)
        if not ok:
            raise HwsimError(f"sweep file: sampler {name} knob {k} must be a "
                             f"{'boolean' if typ is bool else f'positive {typ.__name__}'}, "
                             f"got {v!r}")
    return name, tuple(sorted(knobs.items()))


def load_sweep(path: str | Path) -> Sweep:
    return parse_sweep(read_mapping(path, what="sweep file"))


def _precision(choice: dict[str, Any]) -> Any:
    """The workloads.Precision of a point, or None (the workload's own default)."""
    from workloads.formats import Precision, check_format, get_precision

    if "precision" in choice:
        p = choice["precision"]
        if not isinstance(p, str):
            raise HwsimError(f"sweep file: precision {p!r} must be a preset name")
        return get_precision(p)
    if "format" in choice:
        from hwsim.numerics import resolve
        from hwsim.numerics.formats import IntFormat

        fmt = check_format(choice["format"], "sweep file: format")
        acc = "int32" if isinstance(resolve(fmt), IntFormat) else "fp32"
        return Precision(f"format:{fmt}", fmt, fmt, acc)
    return None


def make_point(choice: dict[str, Any]) -> Point:
    """Resolve one choice of axis values (``device``, ``device.<field>``, ``workload``,
    ``workload.<axis>``, ``precision``/``format``) into a :class:`Point`."""
    from dataclasses import asdict

    from hwsim.devices.base import build_spec, get_device, kind_of, spec_fields
    from workloads.registry import get_info

    if "study" in choice:
        from hwsim.sweep.studies import study_task

        with _context("study"):
            task = study_task(choice)
        return Point(point_key(task), task, task, dict(choice))
    if "unit" in choice:
        from hwsim.sweep.units import design_point, unit_canonical

        with _context("unit"):
            design = design_point(choice)
            canonical = unit_canonical(design)
        return Point(point_key(canonical), {"unit": design.to_dict()}, canonical,
                     dict(choice))
    device = choice["device"]
    if not isinstance(device, str):
        raise HwsimError(f"sweep file: device {device!r} must be a kind or preset name")
    overrides = {k[7:]: v for k, v in choice.items() if k.startswith("device.")}
    with _context(f"device {device}" + "".join(f", {k}={v!r}" for k, v in overrides.items())):
        spec = get_device(device)
        kind = kind_of(spec)
        spec = build_spec(kind, spec, overrides)
    wl = {k[9:]: v for k, v in choice.items() if k.startswith("workload.")}
    name = choice["workload"]
    if not isinstance(name, str):
        raise HwsimError(f"sweep file: workload {name!r} must be a built-in workload name")
    with _context("workload"):
        info = get_info(name)
    workload = {"name": info.name, "phase": wl.get("phase") or info.default_phase,
                "seq": wl.get("seq"), "kv_len": wl.get("kv_len"), "batch": wl.get("batch", 1),
                "layers": wl.get("layers")}
    for k in ("seq", "kv_len", "batch", "layers"):
        v = workload[k]
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
            raise HwsimError(f"sweep file: workload.{k} must be an integer >= 1, got {v!r}")
    with _context("precision"):
        precision = _precision(choice)
    prec = asdict(precision) if precision is not None else None
    canonical = {"device": {"kind": kind.name, **_plain(spec_fields(spec))},
                 "workload": workload, "precision": prec}
    task = {"device": device, "overrides": overrides, "workload": workload,
            "precision": prec}
    return Point(point_key(canonical), task, canonical, dict(choice))


@contextmanager
def _context(what: str) -> Iterator[None]:
    """Prefix an error raised inside with ``sweep file: <what>:``."""
    try:
        yield
    except HwsimError as exc:
        msg = str(exc)
        raise HwsimError(msg if msg.startswith("sweep file") else
                         f"sweep file: {what}: {msg}") from None


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def point_key(canonical: dict[str, Any]) -> str:
    """The store key: a hash of the canonical point and the suite's version."""
    text = json.dumps({"point": canonical, "version": __version__}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]
