"""Number formats as the workload IR sees them: a name, validated, and its storage size.

The IR never interprets values, it only needs to know that a format name is one the suite
speaks and how many bits one element occupies in memory (block formats include their shared
scale, amortised over the block). Both questions go to :mod:`hwsim.numerics`.

A :class:`Precision` is a named assignment of formats to the roles an operand can play
(quantised weights, activations, KV cache, accumulator, parameters kept at high precision),
so one graph can be re-run as fp16, fp8, W4A8, W1.58A8, MXFP4 and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from hwsim.errors import HwsimError
from hwsim.numerics import bits_per_element, is_block, resolve

#: Format of integer index tensors (token ids): 32-bit, as ONNX/PyTorch runtimes use for
#: embedding lookups in practice (int64 in the frameworks' APIs is narrowed by kernels).
INDEX_FORMAT = "int32"


@lru_cache(maxsize=256)
def format_bits(name: str) -> float:
    """Bits per element of an element or block format; raises HwsimError for unknown names."""
    if not isinstance(name, str) or not name.strip():
        raise HwsimError(f"a number format must be a non-empty name, got {name!r}")
    return float(bits_per_element(name))


def check_format(name: object, where: str) -> str:
    """Validate ``name`` as a format, with ``where`` (op and field) prefixed to the error;
    return its canonical name (one spelling per format, see :func:`hwsim.numerics.resolve`)."""
    if not isinstance(name, str):
        raise HwsimError(f"{where}: expected a number format name (str), got {name!r}")
    try:
        return resolve(name).name
    except HwsimError as exc:
        raise HwsimError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Precision:
    """Formats per operand role. ``None`` for ``out``/``kv`` means "same as ``act``".

    - ``weight``: parameters of linear layers and convolutions (what W4/W1.58 quantise).
    - ``act``: activations read by compute ops (what A8 quantises).
    - ``acc``: the accumulator of MAC-based ops and the compute format of non-linear ops.
    - ``out``: activations written by MAC-based ops (after requantisation).
    - ``kv``: the attention KV cache.
    - ``hp``: parameters usually kept at high precision even in quantised models: embedding
      tables, the LM head, norm scales, biases (BitNet b1.58 and most W4 schemes do this).
    """

    name: str
    weight: str
    act: str
    acc: str
    out: str | None = None
    kv: str | None = None
    hp: str = "fp16"

    def __post_init__(self) -> None:
        for field in ("weight", "act", "acc", "out", "kv", "hp"):
            value = getattr(self, field)
            if value is not None:
                object.__setattr__(self, field, check_format(value, f"precision {field}"))
        if is_block(self.acc):  # element formats only: a block format cannot accumulate
            raise HwsimError(f"precision acc: the accumulator must be an element format, "
                             f"not the block format {self.acc!r}")

    @property
    def out_fmt(self) -> str:
        return self.out or self.act

    @property
    def kv_fmt(self) -> str:
        return self.kv or self.act


# Presets. Accumulators: fp32 for float MACs (what tensor cores use for fp16/bf16/fp8 inputs),
# int32 for integer MACs. Ternary BitNet weights: stored as int2 (2 bits per weight, the
# packing used by bitnet.cpp's I2_S kernels); log2(3) = 1.58 bits is the information content,
# reachable only with denser packings (e.g. 5 trits per byte = 1.6 bits), so int2 is the
# conservative storage figure. BitNet b1.58 quantises activations to 8 bits per token
# (absmax), hence act int8 (Ma et al. 2024, "The Era of 1-bit LLMs", arXiv:2402.17764).
PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("fp32", "fp32", "fp32", "fp32", hp="fp32"),
        Precision("fp16", "fp16", "fp16", "fp32"),
        Precision("bf16", "bf16", "bf16", "fp32", hp="bf16"),
        Precision("fp8", "fp8_e4m3fn", "fp8_e4m3fn", "fp32", out="fp8_e4m3fn", kv="fp8_e4m3fn",
                  hp="bf16"),
        Precision("int8", "int8", "int8", "int32"),
        Precision("w8a8", "int8", "int8", "int32"),
        Precision("w4a16", "int4", "fp16", "fp32"),
        Precision("w4a8", "int4", "int8", "int32"),
        Precision("w1.58a8", "int2", "int8", "int32"),
        Precision("mxfp8", "mxfp8_e4m3", "mxfp8_e4m3", "fp32", hp="bf16"),
        Precision("mxfp6", "mxfp6_e2m3", "mxfp6_e2m3", "fp32", hp="bf16"),
        Precision("mxfp4", "mxfp4", "mxfp4", "fp32", hp="bf16"),
        Precision("nvfp4", "nvfp4", "nvfp4", "fp32", hp="bf16"),
    )
}


def get_precision(name: str | Precision) -> Precision:
    """A preset by name (case-insensitive); a :class:`Precision` passes through."""
    if isinstance(name, Precision):
        return name
    key = str(name).strip().lower()
    if key in PRECISIONS:
        return PRECISIONS[key]
    raise HwsimError(
        f"unknown precision {name!r}; known: {', '.join(PRECISIONS)} "
        "(or build a workloads.Precision with any format names)"
    )
