"""One cost seam: what the device models ask about energy, area and FPGA resources.

A question is an :class:`Op` (a frozen query: kind, operand format, accumulator format, memory
level, named unit); a :class:`CostProvider` answers ``energy(op)`` and ``area(op)`` with a
:class:`Price` that says where the number came from, and ``fpga_resources(op)`` with the
LUT/DSP/FF use of a synthesised processing element.

:class:`AnalyticalCostProvider` prices from Horowitz's published 45 nm table
(``costmodel/data/tech/horowitz_45nm.yaml``) and textbook transistor counts. Where the table
has no entry for a format, accumulator or level, a named rule of that table derives the price
(:data:`RULES`: e.g. a multiplier's energy scales with significand bits squared, so bf16 is
not priced as fp16), and the price lists the rules it used. :class:`LearnedCostProvider` asks
the trained cost model for the units it was trained on and hands every other kind to the
analytical provider, saying so in the price and in :meth:`~LearnedCostProvider.describe`.
FPGA resources of a PE come from the measured Yosys table ``hwsim/data/fpga_pe_yosys.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from costmodel.space import DesignPoint
from hwsim import numerics
from hwsim.errors import HwsimError
from hwsim.numerics.blocks import BlockFormat
from hwsim.sourced import Table, load_table

#: the vocabulary: kind -> which Op fields it takes (fmt: operand; acc: accumulator)
KINDS: dict[str, tuple[str, ...]] = {
    "mul": ("fmt",),               # one multiply
    "add": ("fmt",),               # one add
    "mac": ("fmt", "acc"),         # multiply in fmt, accumulate in acc
    "mma": ("fmt", "acc"),         # a tensor-core MMA, per MAC
    "lut_lookup": ("fmt", "acc"),  # LUT tensor core: read one table entry (fmt), add in acc
    "lut_precompute": ("fmt",),    # LUT tensor core: build one table entry in fmt
    "simd_fma": ("fmt",),          # one lane of a SIMD fused multiply-add (MCU FPU)
    "access": ("level",),          # one byte read from a memory level
    "fpga_pe": ("unit",),          # a synthesised processing element (fpga_resources only)
}
LEVELS = ("rf", "sram", "l2", "dram", "hbm")
TECH_TABLE = ("costmodel", "data/tech/horowitz_45nm.yaml")
PE_TABLE = ("hwsim", "data/fpga_pe_yosys.yaml")
#: memory level -> the table's 64-bit access entry (rf and hbm: see _level)
_LEVEL_ENTRY = {"sram": "memory.sram_8kb", "l2": "memory.sram_1mb", "dram": "memory.dram"}
#: register-file capacity assumed by rule rf_sqrt_capacity (bytes)
RF_BYTES = 1024
SRAM_ANCHOR_BYTES = 8 * 1024


def _resolve(name: str) -> Any:
    """A format name to its identity (element or block format)."""
    return numerics.resolve(name)


def _is_block(f: Any) -> bool:
    return isinstance(f, BlockFormat)


@dataclass(frozen=True)
class Op:
    """One thing to price. Formats are stored by their identity's name, so spellings that
    name the same format make equal (and equally hashed) queries. ``mac``/``mma``/
    ``lut_lookup`` default the accumulator to int32 for integer operands, fp32 otherwise."""

    kind: str
    fmt: str | None = None
    acc: str | None = None
    level: str | None = None
    unit: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise HwsimError(f"unknown cost kind {self.kind!r}; known: {', '.join(KINDS)}")
        takes = KINDS[self.kind]
        for name in ("fmt", "acc", "level", "unit"):
            given = getattr(self, name) is not None
            if given and name not in takes:
                raise HwsimError(f"cost kind {self.kind!r} takes {', '.join(takes)}, not {name}")
        if "fmt" in takes:
            if self.fmt is None:
                raise HwsimError(f"cost kind {self.kind!r} needs an operand format (fmt=...)")
            object.__setattr__(self, "fmt", _resolve(self.fmt).name)
        if "acc" in takes:
            acc = self.acc if self.acc is not None else (
                "int32" if _element(self.fmt).kind == "int" else "fp32")
            f = _resolve(acc)
            if _is_block(f):
                raise HwsimError(f"accumulator format {acc!r} is a block format; an "
                                 "accumulator is an element format (e.g. fp32, int32)")
            object.__setattr__(self, "acc", f.name)
        if self.kind == "access" and self.level not in LEVELS:
            raise HwsimError(f"unknown memory level {self.level!r}; known: {', '.join(LEVELS)}")
        if self.kind == "fpga_pe" and not self.unit:
            raise HwsimError("cost kind 'fpga_pe' needs a unit (a PE table key)")

    def __str__(self) -> str:
        parts = [self.kind, self.fmt or self.level or self.unit or ""]
        if self.acc is not None:
            parts.append(f"acc={self.acc}")
        return " ".join(p for p in parts if p)


def _element(fmt: str) -> Any:
    f = _resolve(fmt)
    return f.element if _is_block(f) else f


@dataclass(frozen=True)
class Price:
    """A priced query: value in ``unit``, where it came from, and the rules that derived it
    (empty: straight from published entries, or the sum of published entries)."""

    value: float
    unit: str
    source: str
    derived: tuple[str, ...] = ()

    @property
    def is_derived(self) -> bool:
        return bool(self.derived)

    def note(self, q: Op) -> str | None:
        """A line for a result's notes when this price of ``q`` was derived, else None."""
        if not self.derived:
            return None
        return f"{q}: {self.value:.4g} {self.unit}, derived ({', '.join(self.derived)})"


@dataclass(frozen=True)
class FpgaResources:
    """What one processing element uses on an FPGA (Yosys, measured)."""

    luts: int
    dsps: int
    ffs: int
    logic_depth_gates: int


@runtime_checkable
class CostProvider(Protocol):
    """What the device models ask (see the module docstring)."""

    name: str

    def energy(self, q: Op) -> Price: ...

    def energy_pj(self, q: Op) -> float: ...

    def area(self, q: Op) -> Price: ...

    def fpga_resources(self, q: Op, family: str = "xilinx") -> FpgaResources: ...

    def describe(self) -> str: ...


def _sum(*parts: Price, source: str | None = None) -> Price:
    derived = tuple(dict.fromkeys(r for p in parts for r in p.derived))
    return Price(sum(p.value for p in parts), parts[0].unit,
                 source or " + ".join(p.source for p in parts), derived)


def _with_rule(p: Price, rule: str) -> Price:
    return Price(p.value, p.unit, p.source, tuple(dict.fromkeys((*p.derived, rule))))


def _sig(f: Any) -> int:
    """Significand bits incl. the hidden one (an integer's: all its bits)."""
    return f.total_bits if f.kind == "int" else f.man_bits + 1


def _tech() -> Table:
    return load_table(*TECH_TABLE)


def sram_read_pj_per_byte(capacity_bytes: float, tech: Table | None = None) -> Price:
    """Rule rf_sqrt_capacity: an SRAM's read energy per byte scaled from the 8 kB entry
    with the square root of its capacity."""
    anchor = (tech if tech is not None else _tech()).entry("memory.sram_8kb")
    scale = math.sqrt(capacity_bytes / SRAM_ANCHOR_BYTES)
    return Price(float(anchor.value) / 8 * scale, "pJ/byte",
                 f"{anchor.source}, scaled by rule rf_sqrt_capacity", ("rf_sqrt_capacity",))


def fpga_pe_resources(unit: str, family: str = "xilinx") -> FpgaResources:
    """Measured Yosys use of a PE table unit (``mac_int8``, ...), LUTs counting carry cells."""
    t = load_table(*PE_TABLE)
    if unit not in t.children():
        raise HwsimError(f"no synthesis data for PE {unit!r} in {t.where}; known: "
                         f"{', '.join(t.children())}")
    if family not in t.children(unit):
        fams = [c for c in t.children(unit) if f"{unit}.{c}" not in t.entries]  # the groups
        raise HwsimError(f"no {family!r} synthesis of PE {unit!r}; known: {', '.join(fams)}")
    x = {k: int(e.value) for k, e in t.group(f"{unit}.{family}").items()}
    return FpgaResources(x["luts"] + x["carry"], x["dsp"], x["ff"],
                         int(t.value(f"{unit}.logic_depth_gates")))


@dataclass(frozen=True)
class AnalyticalCostProvider:
    """Published 45 nm energy table plus textbook transistor counts (see module docstring)."""

    name: str = "analytical-45nm"
    #: the technology table (default: the shipped Horowitz 45 nm one)
    tech: Table | None = field(default=None, repr=False, compare=False)

    def _t(self) -> Table:
        return self.tech if self.tech is not None else _tech()

    def describe(self) -> str:
        return (f"{self.name}: energies from {TECH_TABLE[0]}/{TECH_TABLE[1]} (Horowitz, ISSCC "
                "2014, 45 nm), entries the table lacks derived by its named rules; area from "
                "textbook transistor counts; FPGA PEs from the measured Yosys table")

    # ---- energy -------------------------------------------------------------------------
    def energy(self, q: Op) -> Price:
        if q.kind == "fpga_pe":
            raise HwsimError(f"{self.name} prices an FPGA PE's resources (fpga_resources), "
                             "not its energy")
        if q.kind == "access":
            return self._level(q.level)
        f = _resolve(q.fmt)
        block = _is_block(f)
        price = getattr(self, f"_{q.kind}")(f.element if block else f, q)
        return _with_rule(price, "block_as_element") if block else price

    def energy_pj(self, q: Op) -> float:
        return self.energy(q).value

    def _op(self, f: Any, op: str) -> Price:
        """Energy of one multiply or add in element format ``f``: its table entry, or the
        named scaling rule from the nearest entry of its kind (int or float)."""
        t = self._t()
        is_int = f.kind == "int"
        key = f"ops.int{f.total_bits}_{op}" if is_int else f"ops.{f.name}_{op}"
        if key in t.entries:
            e = t.entry(key)
            return Price(float(e.value), e.unit, e.source)
        if op == "mul":
            ref_key, ref_n, n, rule = (("ops.int8_mul", 8, f.total_bits, "mul_sig2") if is_int
                                       else ("ops.fp16_mul", 11, _sig(f), "mul_sig2"))
            scale = (n / ref_n) ** 2
        elif is_int:
            ref_key, ref_n, n, rule = "ops.int8_add", 8, f.total_bits, "add_bits"
            scale = n / ref_n
        else:
            ref_key, ref_n, n, rule = "ops.fp16_add", 11, _sig(f), "add_sig"
            scale = n / ref_n
        ref = t.entry(ref_key)
        return Price(float(ref.value) * scale, ref.unit,
                     f"{ref.source}, scaled {n}/{ref_n} by rule {rule}", (rule,))

    def _mul(self, f: Any, q: Op) -> Price:
        return self._op(f, "mul")

    def _add(self, f: Any, q: Op) -> Price:
        return self._op(f, "add")

    def _mac(self, f: Any, q: Op) -> Price:
        return _sum(self._op(f, "mul"), self._op(_resolve(q.acc), "add"))

    def _mma(self, f: Any, q: Op) -> Price:
        return _with_rule(self._mac(f, q), "mma_as_mac")

    def _simd_fma(self, f: Any, q: Op) -> Price:
        return _with_rule(_sum(self._op(f, "mul"), self._op(f, "add")), "simd_fma_as_mac")

    def _entry_bytes(self, f: Any) -> float:
        return f.total_bits / 8

    def _lut_lookup(self, f: Any, q: Op) -> Price:
        rf = self._level("rf")
        read = Price(rf.value * self._entry_bytes(f), "pJ", rf.source, rf.derived)
        return _with_rule(_sum(read, self._op(_resolve(q.acc), "add")), "lut_lookup")

    def _lut_precompute(self, f: Any, q: Op) -> Price:
        rf = self._level("rf")
        write = Price(rf.value * self._entry_bytes(f), "pJ", rf.source, rf.derived)
        return _with_rule(_sum(self._op(f, "add"), write), "lut_precompute")

    def _level(self, level: str | None) -> Price:
        """pJ per byte read from a memory level (the table's 64-bit access / 8)."""
        t = self._t()
        if level in _LEVEL_ENTRY:
            e = t.entry(_LEVEL_ENTRY[level])
            return Price(float(e.value) / 8, "pJ/byte", e.source)
        if level == "hbm":  # the table's HBM2 figure is per bit
            e = t.entry("memory.hbm2")
            return Price(float(e.value) * 8, "pJ/byte", e.source)
        return sram_read_pj_per_byte(RF_BYTES, t)

    # ---- area ---------------------------------------------------------------------------
    def area(self, q: Op) -> Price:
        """Transistors of the unit doing ``q`` (array multiplier, ripple adders)."""
        if q.kind not in ("mul", "add", "mac", "mma"):
            raise HwsimError(f"{self.name} prices the area of mul, add, mac and mma units, "
                             f"not {q.kind!r}")
        t = self._t()
        fa, and2 = int(t.value("area.full_adder")), int(t.value("area.and2"))
        src = f"{t.entry('area.full_adder').source}; {t.entry('area.and2').source}"
        sig = _sig(_element(q.fmt))
        mul = sig * sig * and2 + sig * (sig - 1) * fa
        if q.kind == "mul":
            return Price(float(mul), "transistors", src)
        if q.kind == "add":  # alignment and normalisation not counted: a lower bound for floats
            return Price(float((sig + 3) * fa), "transistors", src)
        acc = _resolve(q.acc)
        acc_bits = acc.total_bits if acc.kind == "int" else _sig(acc) + 3
        rules = ("mma_as_mac",) if q.kind == "mma" else ()
        return Price(float(mul + acc_bits * fa), "transistors", src, rules)

    # ---- FPGA ---------------------------------------------------------------------------
    def fpga_resources(self, q: Op, family: str = "xilinx") -> FpgaResources:
        if q.kind != "fpga_pe":
            raise HwsimError(f"FPGA resources are priced for kind 'fpga_pe', not {q.kind!r}")
        return fpga_pe_resources(q.unit, family)


#: kinds the learned model was trained on (RTL units in costmodel.space)
LEARNED_KINDS = ("mul", "add", "mac")


def design_for(q: Op) -> DesignPoint | None:
    """The RTL unit the learned model knows for ``q``, or None."""
    if q.kind not in LEARNED_KINDS or _is_block(_resolve(q.fmt)):
        return None
    is_int = _resolve(q.fmt).kind == "int"
    if q.kind == "mul":
        return DesignPoint("int-mul" if is_int else "minifloat-mul", q.fmt)
    if q.kind == "add":
        return None if is_int else DesignPoint("minifloat-add", q.fmt)
    if is_int:
        acc = _resolve(q.acc)
        return DesignPoint("int-mac", q.fmt, acc=str(acc.total_bits)) if acc.kind == "int" \
            else None
    return DesignPoint("mac", q.fmt, acc=q.acc, mul="exact") if q.acc in ("fp32", "fp16",
                                                                          "bf16") else None


@dataclass(frozen=True)
class LearnedCostProvider:
    """Backed by a trained :class:`costmodel.models.CostModel` (default: the shipped one);
    what it was not trained on goes to :class:`AnalyticalCostProvider` (see describe())."""

    model: Any = field(default=None, repr=False)
    name: str = "learned"

    def describe(self) -> str:
        other = [k for k in KINDS if k not in LEARNED_KINDS and k != "fpga_pe"]
        return (f"{self.name}: the trained cost model (Yosys-synthesised RTL, switching-activity "
                f"energy calibrated at 45 nm) for {', '.join(LEARNED_KINDS)} on element formats "
                f"(an integer add and block formats excepted); {', '.join(other)}, the rest "
                "and FPGA PEs are delegated to the analytical 45 nm provider")

    def _model(self) -> Any:
        if self.model is not None:
            return self.model
        from costmodel.store import load_model, shipped_model_path

        return _cached_model(str(shipped_model_path()), load_model)

    def _predict(self, q: Op, target: str, unit: str) -> Price | None:
        point = design_for(q)
        if point is None:
            return None
        preds, _ = self._model().predict(point, targets=(target,))
        return Price(preds[0].value, unit, f"learned cost model: {point.key}")

    def energy(self, q: Op) -> Price:
        return self._predict(q, "energy", "pJ") or _with_rule(
            AnalyticalCostProvider().energy(q), "delegated_to_analytical")

    def energy_pj(self, q: Op) -> float:
        return self.energy(q).value

    def area(self, q: Op) -> Price:
        return self._predict(q, "area", "transistors") or _with_rule(
            AnalyticalCostProvider().area(q), "delegated_to_analytical")

    def fpga_resources(self, q: Op, family: str = "xilinx") -> FpgaResources:
        return AnalyticalCostProvider().fpga_resources(q, family)


_MODELS: dict[str, Any] = {}


def _cached_model(path: str, loader: Any) -> Any:
    if path not in _MODELS:
        _MODELS[path] = loader(path)
    return _MODELS[path]


def rules() -> dict[str, str]:
    """Every derivation rule a price can list: the technology table's, plus delegation."""
    return {**_tech().rules, "delegated_to_analytical":
            "the learned model has no unit for this query; the analytical provider priced it"}


PROVIDERS = {"learned": LearnedCostProvider, "analytical": AnalyticalCostProvider}


def get_provider(name: str, **kwargs: Any) -> CostProvider:
    if name not in PROVIDERS:
        raise HwsimError(f"unknown cost provider {name!r}; known: {', '.join(PROVIDERS)}")
    return PROVIDERS[name](**kwargs)
