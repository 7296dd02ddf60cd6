"""Golden models of every number format the suite simulates, builds in RTL and costs."""

from hwsim.errors import HwsimError
from hwsim.numerics.formats import (
    NAMED_FORMATS,
    FloatFormat,
    Format,
    IntFormat,
    get_float_format,
    get_format,
)
from hwsim.numerics.quantize import ROUNDINGS, decode, encode, quantize

__all__ = [
    "NAMED_FORMATS",
    "ROUNDINGS",
    "FloatFormat",
    "Format",
    "HwsimError",
    "IntFormat",
    "decode",
    "encode",
    "get_float_format",
    "get_format",
    "quantize",
]
