"""Golden models of every number format the suite simulates, builds in RTL and costs.

Pure numpy, vectorised, no Python loops over elements; imports nothing else of the project
but :mod:`hwsim.errors`, so ``rtl`` can use it as its reference model without SimPy.
"""

from hwsim.errors import HwsimError
from hwsim.numerics.arith import ACCUMULATORS, accumulate, add, dot, fma, mul
from hwsim.numerics.blocks import (
    BLOCK_FORMATS,
    BlockFormat,
    BlockQuantized,
    get_block_format,
    quantize_blocks,
)
from hwsim.numerics.formats import (
    NAMED_FORMATS,
    FloatFormat,
    Format,
    IntFormat,
    get_float_format,
    get_format,
)
from hwsim.numerics.lmul import lmul, lmul_bits, lmul_dot, lmul_format, lmul_offset_exponent
from hwsim.numerics.lut import (
    LUT_ACT_FORMATS,
    lut_lookup,
    lut_mpgemm,
    lut_table,
    lut_weight_values,
)
from hwsim.numerics.names import AnyFormat, bits_per_element, is_block, resolve
from hwsim.numerics.olive import (
    OLIVE_FORMATS,
    OliveFormat,
    get_olive_format,
    olive_decode,
    olive_encode,
    olive_quantize,
)
from hwsim.numerics.quantize import ROUNDINGS, decode, encode, quantize
from hwsim.numerics.stats import (
    max_relative_error,
    mean_relative_error,
    relative_errors,
    sqnr_db,
    ulp_error,
)

__all__ = [
    "ACCUMULATORS",
    "BLOCK_FORMATS",
    "NAMED_FORMATS",
    "OLIVE_FORMATS",
    "ROUNDINGS",
    "AnyFormat",
    "BlockFormat",
    "BlockQuantized",
    "FloatFormat",
    "Format",
    "HwsimError",
    "IntFormat",
    "LUT_ACT_FORMATS",
    "OliveFormat",
    "accumulate",
    "add",
    "bits_per_element",
    "decode",
    "dot",
    "encode",
    "fma",
    "get_block_format",
    "get_float_format",
    "get_format",
    "get_olive_format",
    "is_block",
    "lmul",
    "lmul_bits",
    "lmul_dot",
    "lmul_format",
    "lmul_offset_exponent",
    "lut_lookup",
    "lut_mpgemm",
    "lut_table",
    "lut_weight_values",
    "max_relative_error",
    "mean_relative_error",
    "mul",
    "olive_decode",
    "olive_encode",
    "olive_quantize",
    "quantize",
    "quantize_blocks",
    "relative_errors",
    "resolve",
    "sqnr_db",
    "ulp_error",
]
