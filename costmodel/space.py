"""The design space the dataset sweeps: one frozen :class:`DesignPoint` per RTL configuration.

A point names a registered generator (:func:`rtl.unit.build_unit`) and its parameters. Its
``key`` (a hash of the canonical parameters: the format by its identity, so ``e3m4`` and
``fp8_e3m4`` are one design) names the design's cache file, so a resumed sweep finds what an
earlier run finished. :func:`design_space` lists the sweep cheapest first (Yosys time
grows roughly with the square of the operand width), so an interrupted sweep still covers
every unit family.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from hwsim.errors import HwsimError
from hwsim.numerics import BlockFormat, resolve

#: unit families, i.e. the RTL generators the cost model knows
FAMILIES = ("minifloat-mul", "minifloat-add", "mac", "lmul", "block-dot", "convert",
            "int-mul", "int-mac", "olive-decode", "ternary-acc", "dyadic-requant",
            "lut-precompute", "lut-mpgemm", "mixpe", "dequant-mac")

# Element formats of the float sweeps. Named formats from the format grammar plus IEEE-like
# e{X}m{Y} shapes in between, so that held-out formats have neighbours on both sides.
FLOAT_FORMATS = (
    "fp4_e2m1fn", "fp6_e3m2fn", "fp6_e2m3fn", "fp8_e4m3fn", "fp8_e4m3", "fp8_e5m2",
    "fp8_e4m3fnuz", "fp8_e5m2fnuz", "fp8_e3m4",
    "e2m1", "e3m1", "e2m2", "e3m3", "e4m2", "e5m1", "e2m4", "e4m4", "e5m3", "e3m5", "e6m2",
    "e4m5", "e5m4", "e6m3", "e5m5", "e4m6", "e6m4", "e5m6", "e8m3", "e8m5",
    "fp16", "bf16",
)
# MAC synthesis costs ~4x a multiplier's: sweep it on formats up to 10 bits
MAC_FORMATS = tuple(f for f in FLOAT_FORMATS if f not in ("fp16", "bf16", "e5m6", "e8m5"))
INT_FORMATS = ("int2", "int3", "int4", "int5", "int6", "int7", "int8", "int10", "int12",
               "int16")
BLOCK_FORMATS = ("mxfp4", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp8_e4m3", "mxfp8_e5m2", "mxint8",
                 "nvfp4", "bfp_b8_m3", "bfp_b8_m5", "bfp_b8_m7")
OLIVE_FORMATS = ("olive4", "olive8")  # olive-decode: OliVe outlier-victim pair decoders
# dyadic-requant (HAWQ-V3): output format -> accumulator widths (b as wide as acc; Yosys
# runs past its 10-minute limit from 16 x 16 bits on, so the sweep stays below HAWQ's 32 x 32)
DYADIC_REQUANT = {"int8": (10, 12), "uint8": (12,)}
# ternary-acc: activation format -> accumulator widths (the default act + 16, and 32)
TERNARY_ACC = {"int4": (20, 32), "int8": (24, 32)}
# --- mixpe / dequant-mac (MixPE, sim_results/mixpe): the fields mean: format = activation
# format (int8/fp16), mul = weight format (int4/int2), block = group size, direction = where
# the MixPE dequantiser sits (pe/shared); acc = accumulator bits (32; fp16: the fp32 register)
MIXPE_POINTS = tuple((w, g, d) for w in ("int4", "int2") for g in (32, 128)
                     for d in ("pe", "shared"))
DEQUANT_MAC_WEIGHTS = ("int4", "int2")
# fp16 activations: the same grid (a PE with its own dequantiser, 41-bit fixed-point group
# sums, an fp32 rounding and adder, takes Yosys ~10 minutes; the shared-dequantiser PE ~2)
MIXPE_FP16_POINTS = MIXPE_POINTS
# --- end mixpe
# a 32-element block dot takes ~8 minutes of Yosys time: the sweep stays at small blocks
BLOCK_SIZES = (2, 4)
# LUT tensor core units (rtl/units/lut_*.py): a modest grid, small tiles (the paper's 2x64x4
# tile takes Yosys minutes in int8 and ~45 min in fp16: sim_results/lut_tensor_core has it)
LUT_KS = (2, 3, 4)
LUT_WEIGHT_BITS = (1, 2, 4)
LUT_TILES = ((1, 2), (2, 2))  # (M, N)
# fp16: the minifloat adders take Yosys minutes each (the K=2 table: ~2 min on a loaded
# machine), so fewer points: tables of K 2-3, tiles (K, weight bits) at the 1x2 tile
LUT_FP16_KS = (2, 3)
LUT_FP16_POINTS = ((2, 1), (4, 2))
LUT_UNITS = ("lut-precompute", "lut-mpgemm")


@dataclass(frozen=True)
class DesignPoint:
    """One RTL configuration; empty/zero fields are parameters the unit does not take."""

    unit: str
    format: str  # noqa: A003  (the generators' own parameter name)
    pipeline: int = 0
    saturate: bool = False
    acc: str = ""  # mac: fp32/fp16/bf16; int-mac: accumulator width as a string
    mul: str = ""  # mac: exact/lmul
    block: int = 0  # block-dot elements per block
    direction: str = ""  # convert: to/from
    # LUT units only (0 elsewhere; not in other units' keys): group size, tile, weight bits
    k: int = 0
    m: int = 0
    n: int = 0
    weight_bits: int = 0

    def __post_init__(self) -> None:
        if self.unit not in FAMILIES:
            raise HwsimError(f"unknown unit {self.unit!r}; known: {', '.join(FAMILIES)}")
        # the generators' defaults, made explicit so that features and keys agree
        defaults = {"mac": {"acc": "fp32", "mul": "exact"}, "convert": {"direction": "to"}}
        for name, value in defaults.get(self.unit, {}).items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        if self.unit == "block-dot" and not self.block:
            object.__setattr__(self, "block", 4)
        if self.unit in LUT_UNITS:  # rtl.units.lut_*'s defaults
            mp = self.unit == "lut-mpgemm"
            lut = {"k": 4 if mp else 3, "m": 1 if mp else 0, "n": 2 if mp else 0,
                   "weight_bits": 2 if mp else 0,
                   "acc": ("fp16" if self.format == "fp16" else "int32") if mp else ""}
            for name, value in lut.items():
                if not getattr(self, name):
                    object.__setattr__(self, name, value)

    @property
    def family(self) -> str:
        return self.unit

    def params(self) -> dict[str, Any]:
        """Keyword arguments of :func:`rtl.unit.build_unit` for this point."""
        p: dict[str, Any] = {"format": self.format, "pipeline": self.pipeline}
        if self.unit in ("minifloat-mul", "minifloat-add", "lmul", "mac", "convert"):
            p["saturate"] = self.saturate
        if self.unit == "mac":
            p["acc"] = self.acc or "fp32"
            p["mul"] = self.mul or "exact"
        if self.unit in ("int-mac", "ternary-acc") and self.acc:
            p["acc"] = int(self.acc)
        if self.unit == "dyadic-requant" and self.acc:
            p["acc"] = int(self.acc)
        if self.unit in ("mixpe", "dequant-mac"):  # --- mixpe (see MIXPE_POINTS)
            p.update(weight_bits=int(self.mul.removeprefix("int") or 4), acc=int(self.acc or 32))
            if self.unit == "mixpe":
                p.update(group=self.block or 128, dequant=self.direction or "pe")
        if self.unit == "block-dot":
            p["block"] = self.block
        if self.unit == "convert":
            p["direction"] = self.direction or "to"
        if self.unit in LUT_UNITS:
            p["k"] = self.k
        if self.unit == "lut-mpgemm":
            p.update(m=self.m, n=self.n, weight_bits=self.weight_bits, acc=self.acc)
        return p

    @property
    def key(self) -> str:
        """Stable hash of the unit and its canonical parameters (the cache file name): an
        alias of a format (``e3m4``) hashes as its canonical name (``fp8_e3m4``)."""
        params = {**self.params(), "format": canonical_format(self.format)}
        blob = json.dumps({"unit": self.unit, **params}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def base(self) -> tuple[Any, ...]:
        """The base design (unit, canonical format, accumulator, block; a LUT unit's K, M, N
        and weight bits too) that every pipeline, saturate, multiplier and direction variant
        shares: the ``design`` validation group."""
        core = (self.unit, canonical_format(self.format), self.acc, self.block)
        if self.unit in LUT_UNITS:
            return (*core, self.k, self.m, self.n, self.weight_bits)
        return core

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DesignPoint:
        # coerce: rows of a DataFrame carry NumPy scalars, which the key's JSON rejects
        cast = {"pipeline": int, "block": int, "saturate": _as_bool, "k": _as_int, "m": _as_int,
                "n": _as_int, "weight_bits": _as_int}
        return cls(**{k: cast.get(k, str)(v) for k, v in d.items()
                      if k in cls.__dataclass_fields__})


def mixpe_points() -> list[DesignPoint]:
    """MixPE PEs (activation format, weights, group, dequantiser place) and their
    per-element-dequantise MACs, int8 points first (the order of the original grid)."""
    pts = [DesignPoint("mixpe", act, mul=w, block=g, direction=d, acc="32")
           for act, grid in (("int8", MIXPE_POINTS), ("fp16", MIXPE_FP16_POINTS))
           for w, g, d in grid]
    return pts + [DesignPoint("dequant-mac", act, mul=w, acc="32")
                  for act in ("int8", "fp16") for w in DEQUANT_MAC_WEIGHTS]


def canonical_format(name: str) -> str:
    """The canonical name of a format (``hwsim.numerics.resolve``: one name per value set)."""
    return resolve(name).name


def format_identity(name: str) -> tuple[Any, ...]:
    """What a format is, independent of any name: its kind and its defining fields (for a
    block format, its element's and scale's too). Two spellings of one format agree."""
    def fields(f: Any) -> tuple[Any, ...]:
        out: list[Any] = [type(f).__name__]
        for fl in dataclasses.fields(f):
            if fl.name == "name":
                continue
            v = getattr(f, fl.name)
            out.append((fl.name, fields(v) if dataclasses.is_dataclass(v) else v))
        return tuple(out)

    return fields(resolve(name))


def _as_bool(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _as_int(v: Any) -> int:
    """An integer field; empty or NaN (a table collected before the field existed) is 0."""
    if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
        return 0
    return int(float(v))


def _width(fmt: str) -> int:
    f = resolve(fmt)
    return (f.element if isinstance(f, BlockFormat) else f).total_bits


def _cost_rank(p: DesignPoint) -> float:
    """Rough relative Yosys time, used only to order the sweep cheapest first."""
    w = _width(p.format)
    base = {"minifloat-mul": 1.0, "minifloat-add": 1.2, "lmul": 0.6, "convert": 0.8,
            "int-mul": 0.8, "int-mac": 1.0, "mac": 4.0, "block-dot": 3.0,
            "olive-decode": 0.3, "dyadic-requant": 2.0, "ternary-acc": 0.4,
            "mixpe": 2.5, "dequant-mac": 1.5,
            "lut-precompute": 0.2, "lut-mpgemm": 0.3}[p.unit]
    if p.unit == "mac":
        base *= {"fp32": 1.5, "fp16": 1.0, "bf16": 0.9}[p.acc or "fp32"]
    size = max(p.block, 1) if p.unit != "mixpe" else 1
    if p.unit in LUT_UNITS:  # adders of the table; a tile: a lookup and accumulator per cell
        size = (1 << p.k) if p.unit == "lut-precompute" else max(p.m * p.n, 1) * (1 << p.k)
    return base * size * (4 + w) ** 2 * (1 + 0.05 * p.pipeline)


def design_space() -> list[DesignPoint]:
    """Every point of the sweep, in the order the sweep runs them (see below)."""
    pts: list[DesignPoint] = []
    for f in FLOAT_FORMATS:
        for unit, depths in (("minifloat-mul", 4), ("minifloat-add", 4), ("lmul", 3)):
            for pipe in range(depths):
                for sat in (False, True):
                    pts.append(DesignPoint(unit, f, pipe, sat))
        for pipe in range(3):
            for sat in (False, True):
                pts.append(DesignPoint("convert", f, pipe, sat, direction="to"))
            pts.append(DesignPoint("convert", f, pipe, direction="from"))
    for f in MAC_FORMATS:
        for acc in ("fp32", "fp16", "bf16"):
            for mul in ("exact", "lmul"):
                pts.append(DesignPoint("mac", f, 0, acc=acc, mul=mul))
        pts.append(DesignPoint("mac", f, 1, acc="fp32", mul="exact"))
        pts.append(DesignPoint("mac", f, 0, True, acc="fp32", mul="exact"))
    for f in INT_FORMATS:
        n = int(f[3:])
        for pipe in range(3):
            pts.append(DesignPoint("int-mul", f, pipe))
        for pipe in range(3):
            for acc in sorted({max(2 * n + 8, 16), 2 * n + 16, 32} - {0}):
                if 2 * n <= acc <= 64:
                    pts.append(DesignPoint("int-mac", f, pipe, acc=str(acc)))
    for f in BLOCK_FORMATS:
        for n in BLOCK_SIZES:
            pts.append(DesignPoint("block-dot", f, 0, block=n))
        pts.append(DesignPoint("block-dot", f, 1, block=2))
    for f in OLIVE_FORMATS:
        for pipe in range(2):
            pts.append(DesignPoint("olive-decode", f, pipe))
    for f, accs in TERNARY_ACC.items():
        for acc in accs:
            for pipe in range(2):
                pts.append(DesignPoint("ternary-acc", f, pipe, acc=str(acc)))
    for f, accs in DYADIC_REQUANT.items():
        for acc in accs:
            for pipe in range(2 if (f, acc) == ("int8", 12) else 1):
                pts.append(DesignPoint("dyadic-requant", f, pipe, acc=str(acc)))
    pts += mixpe_points()
    pts += lut_points()
    # dict.fromkeys: drop duplicates, keep order
    pts = list(dict.fromkeys(pts))
    # each family gets an equal share of the sweep's time: order by the estimated time spent
    # on the family so far, so an interrupted sweep covers every family, cheap designs first
    spent: dict[str, float] = {}
    ranked: list[tuple[float, int, DesignPoint]] = []
    for i, p in enumerate(sorted(pts, key=_cost_rank)):
        spent[p.unit] = spent.get(p.unit, 0.0) + _cost_rank(p)
        ranked.append((spent[p.unit], i, p))
    return [p for _, _, p in sorted(ranked, key=lambda t: t[:2])]


def lut_points() -> list[DesignPoint]:
    """The LUT units' grid: tables (int8: K 2..4, fp16: K 2..3; 0-1 pipeline stages); int8
    tiles at every K, weight width and small tile (a pipelined variant of the 1x2 tile at
    W2); fp16 tiles at a few (K, weight bits) of the 1x2 tile (its adders cost Yosys more)."""
    pts = [DesignPoint("lut-precompute", f, pipe, k=k)
           for f, ks in (("int8", LUT_KS), ("fp16", LUT_FP16_KS)) for k in ks
           for pipe in range(2)]
    for k in LUT_KS:
        for bits in LUT_WEIGHT_BITS:
            for m, n in LUT_TILES:
                pts.append(DesignPoint("lut-mpgemm", "int8", k=k, m=m, n=n, weight_bits=bits))
        pts.append(DesignPoint("lut-mpgemm", "int8", 1, k=k, m=1, n=2, weight_bits=2))
    for k, bits in LUT_FP16_POINTS:
        pts.append(DesignPoint("lut-mpgemm", "fp16", k=k, m=1, n=2, weight_bits=bits))
    return pts
