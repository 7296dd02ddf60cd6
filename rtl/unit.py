"""Build a registered RTL unit by name: :func:`build_unit`.

Importing this module imports every generator (:mod:`rtl.units`), which registers them in
:data:`GENERATORS`; :class:`RtlUnit`, the registry and its decorator live in
:mod:`rtl.registry`, which the generators import, so that nothing imports in a circle.
"""

from __future__ import annotations

from typing import Any

import rtl.units  # noqa: F401  (registers the generators)
from hwsim.errors import HwsimError
from rtl.registry import GENERATORS, Reference, RtlUnit, register

__all__ = ["GENERATORS", "Reference", "RtlUnit", "build_unit", "register"]


def build_unit(name: str, **params: Any) -> RtlUnit:
    """Build a registered unit; unknown names raise the project's error listing the choices."""
    if name not in GENERATORS:
        raise HwsimError(f"unknown RTL unit {name!r}; known: {', '.join(sorted(GENERATORS))}")
    return GENERATORS[name](**params)
