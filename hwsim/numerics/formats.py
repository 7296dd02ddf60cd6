"""Element number formats: frozen descriptions parsed from a naming grammar.

Grammar (case-insensitive):

- ``fp32``, ``fp16``, ``bf16`` (aliases ``float32``, ``float16``, ``bfloat16``)
- ``fp{bits}_e{E}m{M}{flags}`` with ``bits == 1 + E + M`` and flags

  - ``""``   IEEE-like: bias ``2**(E-1)-1``, all-ones exponent holds Inf (mantissa 0) and NaN
  - ``fn``   finite (OCP): no Inf. At 8 bits and wider the all-ones code ``S.1..1.1..1`` is NaN
             (OCP FP8 E4M3); narrower ``fn`` formats (OCP MX FP6/FP4) have no NaN at all and
             saturate on overflow.
  - ``fnuz`` finite, unsigned zero: bias ``2**(E-1)``, the code ``1000..0`` (negative zero) is
             the only NaN, no Inf.

- ``e{X}m{Y}``: generic IEEE-like minifloat, X in 1..8, Y in 0..23 (bias ``2**(X-1)-1``,
  subnormals, Inf and NaN as in IEEE 754; with Y = 0 there is no NaN code).
- ``e8m0`` (alias ``fp8_e8m0fnu``): the unsigned power-of-two scale of OCP MX: bias 127,
  no zero, no Inf, no subnormals, ``0xFF`` is NaN.
- ``int{2..32}``, ``uint{1..32}``: two's-complement and unsigned integers.
- ml_dtypes spellings are accepted too: ``float8_e4m3fn`` -> ``fp8_e4m3fn``.

Every spelling of one value set gives one identity with one canonical ``name``: a format in
:data:`NAMED_FORMATS` keeps that name (``e3m4``, ``fp8_e3m4`` and ``float8_e3m4`` are all
``fp8_e3m4``; ``e5m10`` is ``fp16``), any other IEEE-like format is ``e{X}m{Y}`` (``fp5_e2m2``
is ``e2m2``), a finite one ``fp{bits}_e{E}m{M}fn|fnuz``. So formats compare and hash equal
exactly when they are the same format, whatever the spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Literal

from hwsim.errors import HwsimError

NanEncoding = Literal["ieee", "all_ones", "neg_zero", "none"]


@dataclass(frozen=True)
class FloatFormat:
    """A sign/exponent/mantissa format. Everything except the fields is derived."""

    name: str
    exp_bits: int
    man_bits: int
    bias: int
    has_inf: bool
    nan: NanEncoding
    signed: bool = True
    subnormals: bool = True
    # Ties go away from zero for the E8M0 scale (what ml_dtypes does); to even otherwise.
    ties_away: bool = False

    kind = "float"

    def __post_init__(self) -> None:
        if not 1 <= self.exp_bits <= 11:
            raise HwsimError(f"{self.name}: exponent bits must be in 1..11, got {self.exp_bits}")
        if not 0 <= self.man_bits <= 52:
            raise HwsimError(f"{self.name}: mantissa bits must be in 0..52, got {self.man_bits}")

    # --- layout -------------------------------------------------------------------------
    @property
    def total_bits(self) -> int:
        return int(self.signed) + self.exp_bits + self.man_bits

    @property
    def exp_max_code(self) -> int:
        return (1 << self.exp_bits) - 1

    @property
    def man_mask(self) -> int:
        return (1 << self.man_bits) - 1

    @property
    def sign_bit(self) -> int:
        return 1 << (self.exp_bits + self.man_bits) if self.signed else 0

    # --- range --------------------------------------------------------------------------
    @property
    def emin(self) -> int:
        """Unbiased exponent of the smallest normal number."""
        return (1 if self.subnormals else 0) - self.bias

    @property
    def max_finite_code(self) -> int:
        """Magnitude code (no sign) of the largest finite value."""
        all_ones = (1 << (self.exp_bits + self.man_bits)) - 1
        if self.nan == "ieee" or self.has_inf:
            return ((self.exp_max_code - 1) << self.man_bits) | self.man_mask
        if self.nan == "all_ones":
            return all_ones - 1
        return all_ones  # neg_zero and none: every positive code is finite

    @property
    def emax(self) -> int:
        """Unbiased exponent of the largest finite number."""
        return (self.max_finite_code >> self.man_bits) - self.bias

    @property
    def max_normal(self) -> float:
        """The largest finite value (subnormal in formats with a 1-bit exponent)."""
        man = self.max_finite_code & self.man_mask
        if (self.max_finite_code >> self.man_bits) == 0:  # e1mY: every finite value is subnormal
            return float(man * 2.0 ** (self.emin - self.man_bits))
        return float((1 + man / (1 << self.man_bits)) * 2.0**self.emax)

    @property
    def min_normal(self) -> float:
        return 2.0**self.emin

    @property
    def min_subnormal(self) -> float:
        return 2.0 ** (self.emin - self.man_bits) if self.subnormals else self.min_normal

    @property
    def has_nan(self) -> bool:
        return self.nan != "none"

    @property
    def has_neg_zero(self) -> bool:
        return self.signed and self.nan != "neg_zero"

    @property
    def has_zero(self) -> bool:
        return self.subnormals

    @property
    def inf_code(self) -> int | None:
        return (self.exp_max_code << self.man_bits) if self.has_inf else None

    @property
    def nan_code(self) -> int | None:
        """The positive canonical NaN code (what quantize/encode produce for NaN)."""
        if self.nan == "ieee":
            return (self.exp_max_code << self.man_bits) | (1 << (self.man_bits - 1))
        if self.nan == "all_ones":
            return (1 << (self.exp_bits + self.man_bits)) - 1
        if self.nan == "neg_zero":
            return 1 << (self.exp_bits + self.man_bits)
        return None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class IntFormat:
    """A two's-complement (signed) or unsigned integer format."""

    name: str
    bits: int
    signed: bool

    kind = "int"

    @property
    def total_bits(self) -> int:
        return self.bits

    @property
    def min_value(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def max_value(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def max_normal(self) -> float:
        return float(self.max_value)

    def __str__(self) -> str:
        return self.name


Format = FloatFormat | IntFormat


def _ieee(name: str, e: int, m: int) -> FloatFormat:
    return FloatFormat(name, e, m, (1 << (e - 1)) - 1, has_inf=True, nan="ieee" if m else "none")


def _fn(name: str, e: int, m: int) -> FloatFormat:
    nan: NanEncoding = "all_ones" if 1 + e + m >= 8 else "none"
    return FloatFormat(name, e, m, (1 << (e - 1)) - 1, has_inf=False, nan=nan)


def _fnuz(name: str, e: int, m: int) -> FloatFormat:
    return FloatFormat(name, e, m, 1 << (e - 1), has_inf=False, nan="neg_zero")


E8M0 = FloatFormat(
    "e8m0", 8, 0, 127, has_inf=False, nan="all_ones", signed=False, subnormals=False,
    ties_away=True,
)

_FIXED: dict[str, FloatFormat] = {
    "fp32": _ieee("fp32", 8, 23),
    "fp16": _ieee("fp16", 5, 10),
    "bf16": _ieee("bf16", 8, 7),
    "e8m0": E8M0,
}
_ALIASES = {
    "float32": "fp32",
    "float16": "fp16",
    "bfloat16": "bf16",
    "half": "fp16",
    "fp8_e8m0fnu": "e8m0",
    "float8_e8m0fnu": "e8m0",
}

#: The named formats (beyond the grammar) that tests and docs enumerate.
NAMED_FORMATS = (
    "fp32", "fp16", "bf16", "fp8_e4m3fn", "fp8_e4m3", "fp8_e5m2", "fp8_e4m3fnuz",
    "fp8_e5m2fnuz", "fp8_e3m4", "fp6_e3m2fn", "fp6_e2m3fn", "fp4_e2m1fn", "e8m0",
)

ELEMENT_GRAMMAR = (
    "fp32, fp16, bf16, fp{bits}_e{E}m{M}[fn|fnuz] (e.g. fp8_e4m3fn, fp8_e5m2, fp6_e3m2fn, "
    "fp4_e2m1fn), e{X}m{Y} with X in 1..8 and Y in 0..23, e8m0, int2..int32, uint1..uint32"
)

_RE_FP = re.compile(r"fp(\d+)_e(\d+)m(\d+)(fn|fnuz)?")
_RE_GENERIC = re.compile(r"e(\d+)m(\d+)")
_RE_INT = re.compile(r"(u?)int(\d+)")


#: Name prefixes of the block formats (:mod:`hwsim.numerics.blocks`); the element grammar
#: has none of them.
BLOCK_PREFIXES = ("mx", "nvfp", "bfp")


class FormatNameError(HwsimError):
    """A name outside the grammar; ``why`` says which rule it broke."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


def _bad(name: str, why: str) -> FormatNameError:
    msg = f"unknown number format {name!r} ({why}); allowed: {ELEMENT_GRAMMAR}"
    return FormatNameError(msg, why)


@cache
def _named_by_value() -> dict[Format, Format]:
    """The named formats keyed by their value set (the format with its name blanked)."""
    return {replace(f, name=""): replace(f, name=n)
            for n, f in zip(NAMED_FORMATS, map(_parse_spelling, NAMED_FORMATS), strict=True)}


@cache
def _parse(key: str, original: str) -> Format:
    """The format ``key`` spells, under its canonical name (see the module docstring)."""
    f = _parse_spelling(key, original)
    return _named_by_value().get(replace(f, name=""), f)


def _parse_spelling(key: str, original: str | None = None) -> Format:
    original = key if original is None else original
    key = _ALIASES.get(key, key)
    if key.startswith("float") and key[5:6].isdigit():  # ml_dtypes spelling
        key = "fp" + key[5:]
    if key in _FIXED:
        return _FIXED[key]
    if m := _RE_FP.fullmatch(key):
        bits, e, man, flags = int(m[1]), int(m[2]), int(m[3]), m[4] or ""
        if bits != 1 + e + man:
            raise _bad(original, f"{bits} bits != 1 sign + {e} exponent + {man} mantissa")
        if not (1 <= e <= 8 and 0 <= man <= 23):
            raise _bad(original, "exponent bits must be 1..8 and mantissa bits 0..23")
        if flags and man == 0 and e < 2:
            raise _bad(original, "a finite format needs at least 2 exponent bits or a mantissa")
        if not flags and f"e{e}m{man}" not in _FIXED:  # IEEE-like: the shorter spelling
            key = f"e{e}m{man}"
        build = {"": _ieee, "fn": _fn, "fnuz": _fnuz}[flags]
        return build(key, e, man)
    if m := _RE_GENERIC.fullmatch(key):
        e, man = int(m[1]), int(m[2])
        if not (1 <= e <= 8 and 0 <= man <= 23):
            raise _bad(original, f"e{e}m{man}: X must be in 1..8 and Y in 0..23")
        return _ieee(key, e, man)
    if m := _RE_INT.fullmatch(key):
        unsigned, bits = m[1] == "u", int(m[2])
        lo = 1 if unsigned else 2
        if not lo <= bits <= 32:
            raise _bad(original, f"integer width must be {lo}..32")
        return IntFormat(key, bits, signed=not unsigned)
    raise _bad(original, "does not match the format grammar")


def get_format(fmt: str | Format) -> Format:
    """Parse a format name (or pass a format through) and return its frozen description.

    >>> get_format("fp8_e4m3fn").max_normal
    448.0
    """
    if isinstance(fmt, FloatFormat | IntFormat):
        return fmt
    if not isinstance(fmt, str):
        raise HwsimError(f"a number format must be a name (str), got {type(fmt).__name__}")
    key = fmt.strip().lower()
    if key.startswith(BLOCK_PREFIXES):
        raise HwsimError(
            f"{fmt!r} is a block format: use quantize_blocks()/get_block_format(); "
            f"element formats allowed here: {ELEMENT_GRAMMAR}"
        )
    return _parse(key, fmt)


def get_float_format(fmt: str | Format, *, what: str = "this operation") -> FloatFormat:
    """Like :func:`get_format` but insist on a floating-point format."""
    f = get_format(fmt)
    if not isinstance(f, FloatFormat):
        raise HwsimError(f"{what} needs a floating-point format, got integer format {f.name!r}")
    return f
