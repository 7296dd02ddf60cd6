"""Per-operation energy and unit area for the device models, from two sources side by side.

:class:`LearnedCostProvider` asks the trained cost model (synthesised RTL, switching-activity
energy proxy calibrated at 45 nm). :class:`AnalyticalCostProvider` uses Horowitz's published
45 nm energy table (``costmodel/data/horowitz_45nm.yaml``) and textbook array-multiplier /
ripple-adder transistor counts; for a format the table lacks it scales the nearest entry
(multiplier energy with significand bits squared, adder energy with operand bits), which is a
derived estimate, not a published figure. Ops are ``mul``, ``add`` and ``mac`` (multiply plus
an fp32 accumulate for float formats, a 32-bit accumulate for integers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Protocol, runtime_checkable

from costmodel.space import DesignPoint
from hwsim.errors import HwsimError

OPS = ("mul", "add", "mac")
# static mirror full adder; AND2 for a partial product (Weste & Harris, CMOS VLSI Design)
FULL_ADDER_TRANSISTORS = 28
AND2_TRANSISTORS = 6


@runtime_checkable
class CostProvider(Protocol):
    """What the device models ask: energy of one operation and area of the unit doing it."""

    name: str

    def energy_pj(self, op: str, fmt: str) -> float: ...

    def area_transistors(self, op: str, fmt: str) -> float: ...


def _check_op(op: str) -> None:
    if op not in OPS:
        raise HwsimError(f"unknown op {op!r}; known: {', '.join(OPS)}")


def _fields(fmt: str) -> tuple[bool, int, int]:
    """(is_int, total bits, significand bits incl. the hidden one)."""
    from hwsim.numerics import get_format

    f = get_format(fmt)
    if f.kind == "int":
        return True, f.total_bits, f.total_bits
    return False, f.total_bits, f.man_bits + 1


def design_for(op: str, fmt: str) -> DesignPoint:
    """The RTL unit that performs ``op`` in ``fmt``."""
    _check_op(op)
    is_int, bits, _ = _fields(fmt)
    if is_int:
        if op == "add":
            raise HwsimError("no integer adder unit in the RTL library; use op 'mac'")
        return DesignPoint("int-mul" if op == "mul" else "int-mac", fmt,
                           acc="" if op == "mul" else "32")
    if op == "mac":
        return DesignPoint("mac", fmt, acc="fp32", mul="exact")
    return DesignPoint("minifloat-mul" if op == "mul" else "minifloat-add", fmt)


@dataclass(frozen=True)
class LearnedCostProvider:
    """Backed by a trained :class:`costmodel.models.CostModel` (default: the shipped one)."""

    model: Any = field(default=None, repr=False)
    name: str = "learned"

    def _model(self) -> Any:
        if self.model is not None:
            return self.model
        from costmodel.store import load_model, shipped_model_path

        return _cached_model(str(shipped_model_path()), load_model)

    def _predict(self, op: str, fmt: str, target: str) -> float:
        preds, _ = self._model().predict(design_for(op, fmt), targets=(target,))
        return preds[0].value

    def energy_pj(self, op: str, fmt: str) -> float:
        return self._predict(op, fmt, "energy")

    def area_transistors(self, op: str, fmt: str) -> float:
        return self._predict(op, fmt, "area")


_MODELS: dict[str, Any] = {}


def _cached_model(path: str, loader: Any) -> Any:
    if path not in _MODELS:
        _MODELS[path] = loader(path)
    return _MODELS[path]


@cache
def horowitz_table() -> dict[str, float]:
    """Horowitz's 45 nm energies, op name -> pJ (e.g. ``fp16_mul``)."""
    import yaml

    d = yaml.safe_load(resources.files("costmodel.data").joinpath("horowitz_45nm.yaml")
                       .read_text())
    try:
        return {k: float(v["value"]) for k, v in d["ops"].items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise HwsimError(f"horowitz_45nm.yaml is malformed: {exc}") from exc


@dataclass(frozen=True)
class AnalyticalCostProvider:
    """Published 45 nm energy table plus textbook transistor counts (see module docstring)."""

    name: str = "analytical-45nm"

    def energy_pj(self, op: str, fmt: str) -> float:
        _check_op(op)
        t = horowitz_table()
        is_int, bits, sig = _fields(fmt)
        if op == "mac":
            acc = "int32_add" if is_int else "fp32_add"
            return self.energy_pj("mul", fmt) + t[acc]
        key = f"{'int' if is_int else 'fp'}{bits}_{op}"
        if key in t:
            return t[key]
        if op == "mul":
            # energy of an array multiplier grows with its partial products: sig^2
            ref_sig, ref = (8, t["int8_mul"]) if is_int else (11, t["fp16_mul"])
            return ref * (sig / ref_sig) ** 2
        ref_bits, ref = (8, t["int8_add"]) if is_int else (16, t["fp16_add"])
        return ref * bits / ref_bits

    def area_transistors(self, op: str, fmt: str) -> float:
        _check_op(op)
        is_int, bits, sig = _fields(fmt)
        mul = sig * sig * AND2_TRANSISTORS + sig * (sig - 1) * FULL_ADDER_TRANSISTORS
        if op == "mul":
            return float(mul)
        if op == "add":  # alignment and normalisation not counted: a lower bound for floats
            return float((sig + 3) * FULL_ADDER_TRANSISTORS)
        acc_bits = 32 if is_int else 24 + 3
        return float(mul + acc_bits * FULL_ADDER_TRANSISTORS)


PROVIDERS = {"learned": LearnedCostProvider, "analytical": AnalyticalCostProvider}


def get_provider(name: str, **kwargs: Any) -> CostProvider:
    if name not in PROVIDERS:
        raise HwsimError(f"unknown cost provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name](**kwargs)
