"""The device seam: what a device kind supplies, and the one registry of kinds.

A device kind is a subpackage of :mod:`hwsim.devices` that exposes ``KIND``, a
:class:`DeviceKind`: a frozen spec type (every field a hardware parameter with its unit in
its name), named presets, and ``run(spec, workload, *, costs, trace) -> RunResult``. The
kind's ``run`` usually hands its per-op model to the shared driver
(:func:`hwsim.engine.driver.run_ops`), which owns lowering, the op loop, the shape cache,
energy and aggregation.

Specs are built three ways, all through :func:`build_spec`: a preset name, keyword overrides,
or a YAML/JSON file (``{device: <kind or preset>, <field>: <value>, ...}``) whose fields are
checked against the spec's annotations (an unknown field or a wrong type names the field
and what is allowed) before the spec's own ``__post_init__`` checks the values.

Adding a device: one subpackage exposing ``KIND`` and one line in :data:`BUILTIN_KINDS`
(or :func:`register` at run time, as the tests do with a roofline device).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hwsim.engine.result import RunResult
from hwsim.errors import HwsimError
from hwsim.io import read_mapping

#: built-in kinds: name -> module exposing ``KIND`` (imported on first use, so listing the
#: kinds does not import every device model)
BUILTIN_KINDS: dict[str, str] = {
    "systolic": "hwsim.devices.systolic",
    "gpu": "hwsim.devices.gpu",
    "lut": "hwsim.devices.lut",
    "pulp": "hwsim.devices.pulp",
    "cortexm": "hwsim.devices.cortexm",
}


#: a ``--device`` value with one of these endings is a device file, anything else a name
DEVICE_FILE_SUFFIXES = (".yaml", ".yml", ".json")


class RunFn(Protocol):
    def __call__(self, spec: Any, workload: Any, *, costs: Any = None,
                 trace: bool = False) -> RunResult: ...


@dataclass(frozen=True)
class DeviceKind:
    """One kind of hardware: its spec type, its presets and how a workload runs on it.

    ``presets`` maps a preset name to a function returning that preset's spec; it is a
    function of nothing so that presets built from data files (FPGA boards) are listed
    without building them. ``default_preset`` is what the kind's bare name means.
    """

    name: str
    summary: str
    spec_type: type
    run: RunFn
    presets: Callable[[], Mapping[str, Callable[[], Any]]]
    default_preset: str

    def preset_names(self) -> list[str]:
        return list(self.presets())

    def preset(self, name: str) -> Any:
        table = self.presets()
        if name not in table:
            raise HwsimError(f"unknown {self.name} preset {name!r}; known: "
                             f"{', '.join(table)}")
        return table[name]()


_EXTRA: dict[str, DeviceKind] = {}


def register(kind: DeviceKind) -> None:
    """Add a kind at run time (a plug-in, or a toy device in a test)."""
    if not isinstance(kind, DeviceKind):
        raise HwsimError(f"register() takes a DeviceKind, got {type(kind).__name__}")
    if kind.name in BUILTIN_KINDS:
        raise HwsimError(f"device kind {kind.name!r} is built in and cannot be replaced")
    _EXTRA[kind.name] = kind


def unregister(name: str) -> None:
    _EXTRA.pop(name, None)


def kinds() -> dict[str, DeviceKind]:
    """Every kind by name, built-in first."""
    out = {name: importlib.import_module(mod).KIND for name, mod in BUILTIN_KINDS.items()}
    out.update(_EXTRA)
    return out


def get_kind(name: str) -> DeviceKind:
    table = kinds()
    if name not in table:
        raise HwsimError(f"unknown device kind {name!r}; known: {', '.join(table)}")
    return table[name]


def kind_of(spec: Any) -> DeviceKind:
    """The kind whose spec type ``spec`` is."""
    for k in kinds().values():
        if type(spec) is k.spec_type:
            return k
    raise HwsimError(f"{type(spec).__name__} is not the spec of any registered device kind")


def all_presets() -> dict[str, DeviceKind]:
    """Preset name -> its kind, over every kind (preset names are unique across kinds)."""
    out: dict[str, DeviceKind] = {}
    for k in kinds().values():
        for p in k.preset_names():
            if p in out:
                raise HwsimError(f"preset {p!r} is defined by both {out[p].name!r} and "
                                 f"{k.name!r}")
            out[p] = k
    return out


# --- building specs ---------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_type_name(args[0])}"
        return f"a list of {len(args)} ({', '.join(_type_name(a) for a in args)})"
    if tp is type(None):
        return "null"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """``value`` as type ``tp`` (the annotations a spec may use), or an error naming both."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, where)
            except HwsimError:
                continue
    elif origin is tuple:
        args = typing.get_args(tp)
        if isinstance(value, list | tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_coerce(v, args[0], where) for v in value)
            if len(value) == len(args):
                return tuple(_coerce(v, a, where) for v, a in zip(value, args, strict=True))
    elif tp is type(None):
        if value is None:
            return None
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value):
                return float(value) if isinstance(value, int) else value
            raise HwsimError(f"{where} must be a finite number, got {value!r}")
    elif tp is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise HwsimError(f"{where} must be {_type_name(tp)}, got {value!r}")


def build_spec(kind: DeviceKind, base: Any = None, overrides: Mapping[str, Any] | None = None,
               *, where: str = "") -> Any:
    """``base`` (default: the kind's default preset) with ``overrides`` applied, each field
    checked against the spec's annotation. ``None`` values mean "keep the base's"."""
    spec = kind.preset(kind.default_preset) if base is None else base
    over = {k: v for k, v in (overrides or {}).items() if v is not None}
    if not over:
        return spec
    hints = typing.get_type_hints(kind.spec_type)
    names = [f.name for f in dataclasses.fields(kind.spec_type) if f.init]
    fixed: dict[str, Any] = {}
    for key, value in over.items():
        label = f"{where}{kind.name} field {key!r}"
        if key not in names:
            raise HwsimError(f"{label} is unknown; allowed: {', '.join(names)}")
        fixed[key] = _coerce(value, hints[key], label)
    return dataclasses.replace(spec, **fixed)


def get_device(name: str | Path, **overrides: Any) -> Any:
    """A spec from a kind name, a preset name or a YAML/JSON file, with fields overridden.

    ``get_device("systolic", rows=16)``, ``get_device("fpga:zcu104:lmul-lut")``,
    ``get_device("my_array.yaml")``.
    """
    text = str(name).strip()
    if text.lower().endswith(DEVICE_FILE_SUFFIXES):
        data = read_mapping(Path(text), what="device file")
        base_name = data.pop("device", None)
        if not isinstance(base_name, str) or not base_name:
            raise HwsimError(f"device file {text}: needs a 'device' entry naming a kind or a "
                             f"preset (one of: {', '.join(known_names())})")
        if base_name.lower().endswith(DEVICE_FILE_SUFFIXES):
            raise HwsimError(f"device file {text}: 'device' must name a kind or a preset, "
                             "not another file")
        spec = get_device(base_name)
        spec = build_spec(kind_of(spec), spec, data, where=f"device file {text}: ")
        return build_spec(kind_of(spec), spec, overrides)
    key = text.lower()
    table = kinds()
    if key in table:
        kind = table[key]
        return build_spec(kind, None, overrides)
    presets = all_presets()
    if key in presets:
        kind = presets[key]
        return build_spec(kind, kind.preset(key), overrides)
    raise HwsimError(f"unknown device {text!r}; known kinds and presets: "
                     f"{', '.join(known_names())} (or a device YAML/JSON file)")


def known_names() -> list[str]:
    return [*kinds(), *(p for p in all_presets() if p not in kinds())]


def run(spec: Any, workload: Any, *, costs: Any = None, trace: bool = False) -> RunResult:
    """Run ``workload`` (a :class:`workloads.Graph` or a sequence of ops) on ``spec``."""
    return kind_of(spec).run(spec, workload, costs=costs, trace=trace)


def spec_fields(spec: Any) -> dict[str, Any]:
    """A spec's fields as plain data (for ``--json`` and device files)."""
    return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.init}


__all__ = ["BUILTIN_KINDS", "DeviceKind", "RunFn", "all_presets", "build_spec",
           "get_device", "get_kind", "kind_of", "kinds",
           "known_names", "register", "run", "spec_fields", "unregister"]
