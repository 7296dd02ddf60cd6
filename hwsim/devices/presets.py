"""Presets read from a sourced table: one group per preset, one entry per spec field.

A kind whose presets live in ``hwsim/data/<kind>_presets.yaml`` (every figure with its source,
see :mod:`hwsim.sourced`) declares them once::

    PRESETS = TablePresets("data/gpu_presets.yaml", GpuSpec)

and hands ``PRESETS.presets`` to its :class:`~hwsim.devices.base.DeviceKind`. A preset's
entries must be exactly the spec's fields but ``name`` and the ``options`` (fields that are
run choices with defaults, e.g. a schedule, not hardware figures).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hwsim.errors import HwsimError
from hwsim.sourced import load_table


@dataclass(frozen=True)
class TablePresets:
    table: str  # path inside the hwsim package, e.g. "data/gpu_presets.yaml"
    spec_type: type
    options: tuple[str, ...] = ()  # fields the table leaves at their defaults

    def _fields(self) -> set[str]:
        known = {f.name for f in dataclasses.fields(self.spec_type)}
        if not set(self.options) <= known:
            raise AssertionError(f"internal error: {sorted(set(self.options) - known)} are "
                                 f"not fields of {self.spec_type.__name__}")
        return known - {"name", *self.options}

    def names(self) -> list[str]:
        return load_table("hwsim", self.table).children()

    def spec(self, name: str) -> Any:
        """The spec of preset ``name`` (its table entries as fields)."""
        t = load_table("hwsim", self.table)
        fields = self._fields()
        values = {k: e.value for k, e in t.group(name).items()}
        missing, extra = fields - set(values), set(values) - fields
        if missing or extra:
            raise HwsimError(f"{t.where}: preset {name!r}: missing {sorted(missing)}, unknown "
                             f"{sorted(extra)}; the entries are {self.spec_type.__name__}'s "
                             "table fields")
        return self.spec_type(name=name, **values)

    def presets(self) -> dict[str, Callable[[], Any]]:
        """Preset name -> a function building its spec (what a DeviceKind lists)."""
        return {name: (lambda n=name: self.spec(n)) for name in self.names()}


__all__ = ["TablePresets"]
