"""What an importer says about the operators it could not map (shared by both importers)."""

from __future__ import annotations

import warnings
from collections import Counter

from hwsim.errors import HwsimError


def counted(kinds: Counter[str]) -> str:
    """``"Cos (1x), Sin (2x)"``: each kind with its count, sorted by name."""
    return ", ".join(f"{k} ({v}x)" for k, v in sorted(kinds.items()))


def unsupported_note(what: str, kinds: Counter[str]) -> str:
    """The graph note (attribute ``notes``) for unmapped operators kept as opaque ops."""
    return (f"unsupported {what} kept as opaque element-wise ops with no MACs and one flop "
            f"per output element (their real cost is missing): {counted(kinds)}")


def check_unsupported(what: str, kinds: Counter[str], supported: tuple[str, ...], keep: bool,
                      flag: str) -> None:
    """One error listing the unmapped operators and the supported ones, or (``keep``) one
    warning; ``flag`` is how the caller spells the option that keeps them."""
    if not kinds:
        return
    if not keep:
        raise HwsimError(f"unsupported {what}: {counted(kinds)}; supported: "
                         f"{', '.join(supported)}. Pass {flag} to keep them as opaque "
                         "element-wise ops (no MACs)")
    warnings.warn(unsupported_note(what, kinds), stacklevel=4)
