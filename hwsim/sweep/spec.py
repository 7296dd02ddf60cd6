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
    objectives: [total_cycles, energy_total_pj]
    search: grid                  # or random (+ samples, seed)

Every axis is a value or a list of values; the points are their product (``grid``) or
``samples`` distinct points drawn from it (``random``). A point's canonical form holds what
it resolves to (every device spec field after :func:`hwsim.devices.base.build_spec`, the
workload's defaults filled in, the formats' canonical names), so two spellings of one point
(an alias of a format, the kind's name and its default preset, a field set to its default)
share one key: a hash of that form and :data:`hwsim.__version__`.
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

TOP_KEYS = ("device", "workload", "precision", "format", "objectives", "search", "samples",
            "seed")
WORKLOAD_AXES = ("phase", "seq", "kv_len", "batch", "layers")
SEARCHES = ("grid", "random")
#: numeric RunResult fields a sweep stores for every point (objectives name some of them)
METRICS = ("total_cycles", "compute_cycles", "stall_cycles", "macs", "peak_macs_per_cycle",
           "clock_mhz", "seconds", "energy_total_pj", "utilisation")


@dataclass(frozen=True)
class Point:
    """One point: what a worker needs to run it (``task``) and its ``key``."""

    key: str
    task: dict[str, Any]
    canonical: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class Sweep:
    axes: tuple[tuple[str, tuple[Any, ...]], ...]  # (name, values) in expansion order
    objectives: tuple[str, ...]
    search: str
    samples: int | None
    seed: int
    source: dict[str, Any]

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
    values = tuple(value) if isinstance(value, list) else (value,)
    if not values:
        raise HwsimError(f"sweep file: {where} is an empty list; give at least one value")
    for v in values:
        if isinstance(v, dict | list):
            raise HwsimError(f"sweep file: {where} holds {v!r}; allowed: a value or a list "
                             "of values")
    return values


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
    for key in ("device", "workload"):
        if key not in data:
            raise HwsimError(f"sweep file: '{key}' is missing (a name, a list of names, or a "
                             "mapping with 'name' and axes)")
    search = data.get("search", "grid")
    if search == "guided":
        raise HwsimError("sweep file: search 'guided' (Optuna) is not yet available; "
                         "allowed now: grid, random")
    if search not in SEARCHES:
        raise HwsimError(f"sweep file: search {search!r} is unknown; allowed: "
                         f"{', '.join(SEARCHES)}")
    samples = data.get("samples")
    seed = data.get("seed", 0)
    for name, v, lo in (("samples", samples, 1), ("seed", seed, 0)):
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lo):
            raise HwsimError(f"sweep file: {name} must be an integer >= {lo}, got {v!r}")
    if search == "random" and samples is None:
        raise HwsimError("sweep file: search 'random' needs 'samples' (an integer >= 1)")
    if search == "grid" and samples is not None:
        raise HwsimError("sweep file: 'samples' applies to search 'random', not 'grid'")
    objectives = _values(data.get("objectives", ["total_cycles", "energy_total_pj"]),
                         "objectives")
    for o in objectives:
        if o not in METRICS:
            raise HwsimError(f"sweep file: objective {o!r} is unknown; allowed: "
                             f"{', '.join(METRICS)}")

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
    sweep = Sweep(tuple(axes), objectives, search, samples, seed, data)
    # every name and value is checked before any work: each value on its own, against the
    # first value of every other axis (a full product can be large)
    first = {name: values[0] for name, values in axes}
    for name, values in axes:
        for v in values:
            make_point({**first, name: v})
    return sweep


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
    return Point(point_key(canonical), task, canonical)


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
