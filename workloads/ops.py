"""The operator IR: one frozen dataclass per operator kind, costs derived as properties.

Every op carries the shapes it needs and an :class:`OpFormats`: the number format of its
main input (``x``), of its second operand (``w``: weights, KV cache, a parameter table or a
second activation, per the op's ``w_kind``), of its output (``y``) and of its accumulator /
internal arithmetic (``acc``). Costs follow from those alone:

- ``macs``: multiply-accumulates of the MAC-based ops (matmul, conv2d, attention and their
  gradients); 0 for the rest.
- ``flops``: 2 per MAC plus the arithmetic of non-MAC ops, at the per-element rates in
  ``_FLOPS_PER_ELEM`` (approximate, exp/sqrt/div counted as one op each).
- ``tensors``: each operand read or written once (compulsory traffic: no tiling, no cache
  reuse; those belong to the device models), with its element count and format, from which
  ``bytes_read``/``bytes_written`` follow at ``format_bits(fmt) / 8`` bytes per element.
- ``params``: trainable parameters (BatchNorm running statistics are buffers, not parameters,
  as in PyTorch's ``parameters()``).

Shapes are NCHW for images and (batch..., rows, cols) for matrices. Dimension checks happen
in ``__post_init__`` and raise :class:`HwsimError` naming the op, the field and what is allowed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import ClassVar, Literal

from hwsim.errors import HwsimError
from workloads.formats import INDEX_FORMAT, Precision, check_format, format_bits, get_precision

WKind = Literal["weight", "act", "kv", "hp"]
W_KINDS: tuple[str, ...] = ("weight", "act", "kv", "hp")


@dataclass(frozen=True)
class OpFormats:
    """Formats of an op's operands; ``w`` is None for ops without a second operand."""

    x: str
    y: str
    acc: str
    w: str | None = None

    def checked(self, where: str) -> OpFormats:
        """Validate every name (``where`` names the op) and return the normalised copy."""
        return OpFormats(
            x=check_format(self.x, f"{where}: field 'fmt.x'"),
            y=check_format(self.y, f"{where}: field 'fmt.y'"),
            acc=check_format(self.acc, f"{where}: field 'fmt.acc'"),
            w=None if self.w is None else check_format(self.w, f"{where}: field 'fmt.w'"),
        )


@dataclass(frozen=True)
class TensorUse:
    """One operand read or written by an op: ``numel`` elements in format ``fmt``."""

    role: str
    numel: int
    fmt: str
    write: bool = False

    @property
    def bytes(self) -> float:
        return self.numel * format_bits(self.fmt) / 8


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


# Approximate arithmetic per output element of non-MAC ops. Softmax: max, subtract, exp, sum,
# divide. LayerNorm: mean, subtract, square, sum, normalise, scale, shift. RMSNorm drops the
# mean and shift. Inference BatchNorm folds into one multiply-add. GELU/SiLU/sigmoid/tanh
# count a handful of ops for their transcendental (tanh-approximated GELU). ``recurrence`` is
# a gated linear recurrence h_t = f_t * h_{t-1} + i_t over the token axis (shape[-2]), one
# multiply and one add per element (the MLGRU token mixer of the MatMul-free LM); device models
# price it element-wise, its serial dependence along the tokens is not modelled.
_FLOPS_PER_ELEM: dict[str, int] = {
    "softmax": 5, "layernorm": 7, "rmsnorm": 4, "batchnorm": 2,
    "add": 1, "sub": 1, "mul": 1, "div": 1, "max": 1, "min": 1, "neg": 1, "abs": 1,
    "relu": 1, "relu6": 2, "leaky_relu": 2, "clip": 2, "scale": 1, "sqrt": 1, "exp": 1,
    "pow": 1, "gelu": 8, "silu": 4, "sigmoid": 4, "tanh": 4, "hardswish": 4, "swiglu": 5,
    "rope": 3, "quantize": 3, "cross_entropy": 6, "copy": 0, "concat": 0, "opaque": 1,
    "recurrence": 2,
}
ELEMENTWISE_KINDS: tuple[str, ...] = tuple(
    k for k in _FLOPS_PER_ELEM if k not in ("softmax", "layernorm", "rmsnorm", "batchnorm")
)
NORM_KINDS: tuple[str, ...] = ("layernorm", "rmsnorm", "batchnorm")
POOL_KINDS: tuple[str, ...] = ("max", "avg")
VIEW_KINDS: tuple[str, ...] = (
    "reshape", "transpose", "flatten", "squeeze", "unsqueeze", "identity", "dropout",
)
OPTIMIZERS: dict[str, tuple[int, int]] = {
    # optimizer -> (state tensors per parameter, flops per parameter per step)
    "sgd": (0, 2),
    "momentum": (1, 4),
    "adam": (2, 12),
}


#: Largest dimension, count or padding an op accepts (2**40, about 1.1e12): far beyond any
#: real layer, small enough that sizes stay exact in float64 arithmetic downstream.
MAX_DIM = 2**40


def _where(op_type: str, name: str) -> str:
    return f"op {name!r} ({op_type})"


@dataclass(frozen=True, kw_only=True)
class Op:
    """Base of every operator. Subclasses set ``OP_TYPE`` and the cost properties."""

    name: str
    fmt: OpFormats | None = None

    OP_TYPE: ClassVar[str] = "op"
    MAC_BASED: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise HwsimError(f"{self.OP_TYPE} op: field 'name' must be a non-empty string")
        self._validate()
        fmt = self.fmt if self.fmt is not None else self._formats_for(get_precision("fp16"))
        if not isinstance(fmt, OpFormats):
            raise HwsimError(f"{self.where}: field 'fmt' must be an OpFormats")
        fmt = fmt.checked(self.where)
        if (fmt.w is None) != (self.w_kind is None):
            want = "a format" if self.w_kind else "null (this op has no second operand)"
            raise HwsimError(f"{self.where}: field 'fmt.w' must be {want}")
        object.__setattr__(self, "fmt", fmt)

    # --- validation helpers ------------------------------------------------------------
    @property
    def where(self) -> str:
        return _where(self.OP_TYPE, self.name)

    def _validate(self) -> None:
        """Check fields; subclasses extend."""

    def _pos(self, fname: str, value: object, *, zero_ok: bool = False) -> None:
        lo = 0 if zero_ok else 1
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= MAX_DIM:
            what = "a non-negative" if zero_ok else "a positive"
            raise HwsimError(f"{self.where}: field {fname!r} must be {what} integer, got "
                             f"{value!r}; allowed: {lo}..2**40")

    def _shape(self, fname: str, value: object, ndim: int | None = None) -> tuple[int, ...]:
        if not isinstance(value, tuple) or (ndim is not None and len(value) != ndim):
            n = f"{ndim} " if ndim is not None else ""
            raise HwsimError(
                f"{self.where}: field {fname!r} must be a list of {n}positive integers, "
                f"got {value!r}"
            )
        for d in value:
            if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= MAX_DIM:
                raise HwsimError(
                    f"{self.where}: field {fname!r} has dimension {d!r}; dimensions must be "
                    "positive integers up to 2**40"
                )
        return value

    def _choice(self, fname: str, value: object, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            raise HwsimError(
                f"{self.where}: field {fname!r} is {value!r}; allowed: {', '.join(allowed)}"
            )

    # --- formats -------------------------------------------------------------------------
    @property
    def w_kind(self) -> str | None:
        """What the second operand is (decides which precision role formats it)."""
        return None

    def _formats_for(self, p: Precision) -> OpFormats:
        w = None
        if self.w_kind is not None:
            w = {"weight": p.weight, "act": p.act, "kv": p.kv_fmt, "hp": p.hp}[self.w_kind]
        if self.MAC_BASED:
            return OpFormats(x=p.act, y=p.out_fmt, acc=p.acc, w=w)
        # Non-MAC ops do their arithmetic in fp32 unless the whole precision is float and
        # wider (an integer accumulator says nothing about how a softmax is computed).
        acc = p.acc if p.acc.startswith(("fp", "bf")) else "fp32"
        return OpFormats(x=p.act, y=p.act, acc=acc, w=w)

    def with_precision(self, precision: str | Precision) -> Op:
        return replace(self, fmt=self._formats_for(get_precision(precision)))

    # --- costs ---------------------------------------------------------------------------
    @property
    def macs(self) -> int:
        return 0

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def params(self) -> int:
        return 0

    @property
    def x_numel(self) -> int:
        """Elements of the main input (what a gradient w.r.t. the input has)."""
        raise NotImplementedError

    @property
    def y_numel(self) -> int:
        raise NotImplementedError

    @property
    def w_numel(self) -> int:
        """Elements of the second operand as read once (0 when there is none)."""
        return 0

    def tensors(self) -> tuple[TensorUse, ...]:
        assert self.fmt is not None
        uses = [TensorUse("x", self.x_numel, self.fmt.x)]
        if self.fmt.w is not None and self.w_numel:
            uses.append(TensorUse("w", self.w_numel, self.fmt.w))
        uses.extend(self._extra_reads())
        uses.append(TensorUse("y", self.y_numel, self.fmt.y, write=True))
        return tuple(uses)

    def _extra_reads(self) -> tuple[TensorUse, ...]:
        return ()

    @property
    def bytes_read(self) -> float:
        return sum(t.bytes for t in self.tensors() if not t.write)

    @property
    def bytes_written(self) -> float:
        return sum(t.bytes for t in self.tensors() if t.write)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and 1 not in (da, db):
            return None
        out.append(max(da, db))
    return tuple(reversed(out))


@dataclass(frozen=True, kw_only=True)
class MatMul(Op):
    """``y[..., M, N] = a[..., M, K] @ b[..., K, N]`` (+ bias[N]), batch dims broadcast.

    ``b_kind`` says what ``b`` is: ``weight`` (a quantisable parameter), ``hp`` (a parameter
    kept at high precision, e.g. an LM head) or ``act`` (an activation: attention scores,
    an imported MatMul of two activations). ``shares_weights_with`` names an earlier op whose
    parameter this one reuses (tied embeddings), so it is not counted twice.
    """

    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]
    b_kind: WKind = "weight"
    bias: bool = False
    shares_weights_with: str | None = None

    OP_TYPE: ClassVar[str] = "matmul"
    MAC_BASED: ClassVar[bool] = True

    def _validate(self) -> None:
        self._shape("a_shape", self.a_shape)
        self._shape("b_shape", self.b_shape)
        if len(self.a_shape) < 2 or len(self.b_shape) < 2:
            raise HwsimError(f"{self.where}: a_shape and b_shape need at least 2 dimensions")
        if self.a_shape[-1] != self.b_shape[-2]:
            raise HwsimError(
                f"{self.where}: inner dimensions differ: a_shape {list(self.a_shape)} has "
                f"K={self.a_shape[-1]} but b_shape {list(self.b_shape)} has K={self.b_shape[-2]}"
                "; expected a[..., M, K] @ b[..., K, N]"
            )
        if _broadcast(self.a_shape[:-2], self.b_shape[:-2]) is None:
            raise HwsimError(
                f"{self.where}: batch dimensions {list(self.a_shape[:-2])} and "
                f"{list(self.b_shape[:-2])} do not broadcast"
            )
        self._choice("b_kind", self.b_kind, W_KINDS)
        if self.bias and self.b_kind == "act":
            raise HwsimError(f"{self.where}: field 'bias' needs a parameter b (b_kind != 'act')")

    @classmethod
    def linear(cls, name: str, tokens: tuple[int, ...], in_features: int, out_features: int,
               **kw) -> MatMul:
        """A dense layer applied to activations of shape ``(*tokens, in_features)``."""
        return cls(name=name, a_shape=(*tokens, in_features),
                   b_shape=(in_features, out_features), **kw)

    @property
    def w_kind(self) -> str:
        return self.b_kind

    @property
    def is_param(self) -> bool:
        return self.b_kind in ("weight", "hp")

    @property
    def batch(self) -> tuple[int, ...]:
        out = _broadcast(self.a_shape[:-2], self.b_shape[:-2])
        assert out is not None
        return out

    @property
    def m(self) -> int:
        return self.a_shape[-2]

    @property
    def k(self) -> int:
        return self.a_shape[-1]

    @property
    def n(self) -> int:
        return self.b_shape[-1]

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (*self.batch, self.m, self.n)

    @property
    def macs(self) -> int:
        return numel(self.batch) * self.m * self.n * self.k

    @property
    def flops(self) -> int:
        return 2 * self.macs + (numel(self.out_shape) if self.bias else 0)

    @property
    def params(self) -> int:
        if not self.is_param or self.shares_weights_with:
            return 0
        return numel(self.b_shape) + (self.n if self.bias else 0)

    @property
    def x_numel(self) -> int:
        return numel(self.a_shape)

    @property
    def w_numel(self) -> int:
        return numel(self.b_shape)

    @property
    def y_numel(self) -> int:
        return numel(self.out_shape)

    def _extra_reads(self) -> tuple[TensorUse, ...]:
        # Biases live in the accumulator format: int32 for integer MACs, fp32 otherwise.
        assert self.fmt is not None
        return (TensorUse("bias", self.n, self.fmt.acc),) if self.bias else ()


def _pair(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    return value


@dataclass(frozen=True, kw_only=True)
class Conv2d(Op):
    """2-D convolution over an NCHW input; ``groups == channels`` is depthwise.

    ``padding`` is (top, left, bottom, right) as in ONNX ``pads``; an int or a pair
    (vertical, horizontal) is accepted and expanded.
    """

    x_shape: tuple[int, int, int, int]
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = False

    OP_TYPE: ClassVar[str] = "conv2d"
    MAC_BASED: ClassVar[bool] = True

    def _validate(self) -> None:
        for f in ("kernel", "stride", "dilation"):
            object.__setattr__(self, f, _pair(getattr(self, f)))
        pad = _pair(self.padding)
        if isinstance(pad, tuple) and len(pad) == 2:
            pad = (pad[0], pad[1], pad[0], pad[1])
        object.__setattr__(self, "padding", pad)
        self._shape("x_shape", self.x_shape, 4)
        self._pos("out_channels", self.out_channels)
        self._shape("kernel", self.kernel, 2)
        self._shape("stride", self.stride, 2)
        self._shape("dilation", self.dilation, 2)
        if not isinstance(pad, tuple) or len(pad) != 4 or any(
            isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= MAX_DIM for p in pad
        ):
            raise HwsimError(
                f"{self.where}: field 'padding' must be 4 non-negative integers up to 2**40 "
                f"(top, left, bottom, right), got {self.padding!r}"
            )
        self._pos("groups", self.groups)
        c = self.x_shape[1]
        if c % self.groups or self.out_channels % self.groups:
            raise HwsimError(
                f"{self.where}: groups={self.groups} must divide input channels {c} and "
                f"out_channels {self.out_channels}"
            )
        ho, wo = self._out_hw()
        if ho < 1 or wo < 1:
            raise HwsimError(
                f"{self.where}: the kernel {list(self.kernel)} (dilation "
                f"{list(self.dilation)}) does not fit the padded input "
                f"{list(self.x_shape[2:])}; output would be {ho}x{wo}"
            )

    def _out_hw(self) -> tuple[int, int]:
        _, _, h, w = self.x_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        top, left, bottom, right = self.padding
        ho = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
        wo = (w + left + right - dw * (kw - 1) - 1) // sw + 1
        return ho, wo

    @property
    def w_kind(self) -> str:
        return "weight"

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        return (self.x_shape[0], self.out_channels, *self._out_hw())

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.x_shape[1] // self.groups, *self.kernel)

    @property
    def is_depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.x_shape[1]

    @property
    def macs(self) -> int:
        return numel(self.out_shape) * numel(self.weight_shape[1:])

    @property
    def flops(self) -> int:
        return 2 * self.macs + (numel(self.out_shape) if self.bias else 0)

    @property
    def params(self) -> int:
        return numel(self.weight_shape) + (self.out_channels if self.bias else 0)

    @property
    def x_numel(self) -> int:
        return numel(self.x_shape)

    @property
    def w_numel(self) -> int:
        return numel(self.weight_shape)

    @property
    def y_numel(self) -> int:
        return numel(self.out_shape)

    def _extra_reads(self) -> tuple[TensorUse, ...]:
        assert self.fmt is not None
        return (TensorUse("bias", self.out_channels, self.fmt.acc),) if self.bias else ()


@dataclass(frozen=True, kw_only=True)
class Attention(Op):
    """Scaled dot-product attention core (the projections are separate matmuls).

    Queries ``(batch, heads, q_len, head_dim)`` attend to ``kv_len`` keys/values held by
    ``kv_heads`` heads (``kv_heads < heads``: GQA, ``kv_heads == 1``: MQA). With ``causal``
    the queries are the last ``q_len`` of ``kv_len`` positions and only unmasked
    query-key pairs are counted, so a decode step (``q_len == 1``) costs ``kv_len`` pairs per
    head. Reads Q (``x``), K and V (``w``, the KV cache), writes the context (``y``).
    """

    batch: int
    heads: int
    kv_heads: int
    q_len: int
    kv_len: int
    head_dim: int
    causal: bool = False

    OP_TYPE: ClassVar[str] = "attention"
    MAC_BASED: ClassVar[bool] = True

    def _validate(self) -> None:
        for f in ("batch", "heads", "kv_heads", "q_len", "kv_len", "head_dim"):
            self._pos(f, getattr(self, f))
        if self.heads % self.kv_heads:
            raise HwsimError(
                f"{self.where}: kv_heads={self.kv_heads} must divide heads={self.heads}"
            )
        if self.causal and self.kv_len < self.q_len:
            raise HwsimError(
                f"{self.where}: causal attention needs kv_len >= q_len, got kv_len="
                f"{self.kv_len} < q_len={self.q_len}"
            )

    @property
    def w_kind(self) -> str:
        return "kv"

    @property
    def pairs(self) -> int:
        """Unmasked (query, key) pairs per head."""
        if not self.causal:
            return self.q_len * self.kv_len
        past = self.kv_len - self.q_len
        return self.q_len * past + self.q_len * (self.q_len + 1) // 2

    @property
    def macs(self) -> int:
        # Q.K^T and P.V, each head_dim MACs per pair
        return 2 * self.batch * self.heads * self.pairs * self.head_dim

    @property
    def score_flops(self) -> int:
        """Non-MAC FLOPs per score: the 1/sqrt(d) scale and the softmax."""
        return _FLOPS_PER_ELEM["softmax"] + 1

    @property
    def vector_flops(self) -> int:
        """Scale and softmax FLOPs of the unmasked scores (``flops`` minus the MACs')."""
        return self.batch * self.heads * self.pairs * self.score_flops

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.vector_flops

    @property
    def x_numel(self) -> int:
        return self.batch * self.heads * self.q_len * self.head_dim

    @property
    def w_numel(self) -> int:
        return 2 * self.batch * self.kv_heads * self.kv_len * self.head_dim

    @property
    def y_numel(self) -> int:
        return self.x_numel


@dataclass(frozen=True, kw_only=True)
class Softmax(Op):
    """Softmax along ``axis`` of a tensor of ``shape``."""

    shape: tuple[int, ...]
    axis: int = -1

    OP_TYPE: ClassVar[str] = "softmax"

    def _validate(self) -> None:
        self._shape("shape", self.shape)
        if isinstance(self.axis, bool) or not isinstance(self.axis, int) or not (
            -len(self.shape) <= self.axis < len(self.shape)
        ):
            raise HwsimError(
                f"{self.where}: field 'axis' is {self.axis!r}; allowed: an integer in "
                f"[{-len(self.shape)}, {len(self.shape) - 1}]"
            )

    @property
    def flops(self) -> int:
        return numel(self.shape) * _FLOPS_PER_ELEM["softmax"]

    @property
    def x_numel(self) -> int:
        return numel(self.shape)

    @property
    def y_numel(self) -> int:
        return numel(self.shape)


@dataclass(frozen=True, kw_only=True)
class Norm(Op):
    """LayerNorm / RMSNorm over the last dimension, or BatchNorm over NCHW channels.

    Affine parameters (scale, and shift when ``bias``) are the second operand, kept at high
    precision. BatchNorm here is the inference form (running statistics, folded scale/shift).
    """

    kind: Literal["layernorm", "rmsnorm", "batchnorm"]
    shape: tuple[int, ...]
    affine: bool = True
    bias: bool = True

    OP_TYPE: ClassVar[str] = "norm"

    def _validate(self) -> None:
        self._choice("kind", self.kind, NORM_KINDS)
        self._shape("shape", self.shape)
        if self.kind == "batchnorm" and len(self.shape) < 2:
            raise HwsimError(f"{self.where}: batchnorm needs a shape (N, C, ...)")
        if self.kind == "rmsnorm" and self.bias:
            object.__setattr__(self, "bias", False)  # RMSNorm has no shift by definition

    @property
    def features(self) -> int:
        return self.shape[1] if self.kind == "batchnorm" else self.shape[-1]

    @property
    def w_kind(self) -> str | None:
        return "hp" if self.affine else None

    @property
    def flops(self) -> int:
        return numel(self.shape) * _FLOPS_PER_ELEM[self.kind]

    @property
    def params(self) -> int:
        return self.features * (2 if self.bias else 1) if self.affine else 0

    @property
    def x_numel(self) -> int:
        return numel(self.shape)

    @property
    def w_numel(self) -> int:
        return self.params

    @property
    def y_numel(self) -> int:
        return numel(self.shape)


@dataclass(frozen=True, kw_only=True)
class Elementwise(Op):
    """An element-wise op of ``kind`` over ``num_inputs`` activations of ``shape``.

    ``param_shape`` is a parameter operand (a bias, a learned position embedding, a class
    token) read once in the high-precision format and counted as parameters. ``kind ==
    'opaque'`` stands for an operator the importer did not know; ``detail`` keeps its name.
    """

    kind: str
    shape: tuple[int, ...]
    num_inputs: int = 1
    param_shape: tuple[int, ...] | None = None
    detail: str = ""

    OP_TYPE: ClassVar[str] = "elementwise"

    def _validate(self) -> None:
        self._choice("kind", self.kind, ELEMENTWISE_KINDS)
        self._shape("shape", self.shape)
        self._pos("num_inputs", self.num_inputs, zero_ok=True)
        if self.param_shape is not None:
            self._shape("param_shape", self.param_shape)
        if self.num_inputs == 0 and self.param_shape is None:
            raise HwsimError(f"{self.where}: needs num_inputs >= 1 or a param_shape")

    @property
    def w_kind(self) -> str | None:
        return "hp" if self.param_shape is not None else None

    @property
    def flops(self) -> int:
        return numel(self.shape) * _FLOPS_PER_ELEM[self.kind]

    @property
    def params(self) -> int:
        return numel(self.param_shape) if self.param_shape is not None else 0

    @property
    def x_numel(self) -> int:
        return numel(self.shape) * self.num_inputs

    @property
    def w_numel(self) -> int:
        return self.params

    @property
    def y_numel(self) -> int:
        return numel(self.shape)


@dataclass(frozen=True, kw_only=True)
class Embedding(Op):
    """Row lookup: ``tokens`` ids (int32) index a ``vocab x dim`` table; only the gathered
    rows are read."""

    tokens: int
    vocab: int
    dim: int
    shares_weights_with: str | None = None

    OP_TYPE: ClassVar[str] = "embedding"

    def _validate(self) -> None:
        for f in ("tokens", "vocab", "dim"):
            self._pos(f, getattr(self, f))

    @property
    def w_kind(self) -> str:
        return "hp"

    @property
    def params(self) -> int:
        return 0 if self.shares_weights_with else self.vocab * self.dim

    @property
    def x_numel(self) -> int:
        return self.tokens

    @property
    def w_numel(self) -> int:
        return self.tokens * self.dim

    @property
    def y_numel(self) -> int:
        return self.tokens * self.dim

    def tensors(self) -> tuple[TensorUse, ...]:
        assert self.fmt is not None and self.fmt.w is not None
        return (
            TensorUse("ids", self.tokens, INDEX_FORMAT),
            TensorUse("w", self.w_numel, self.fmt.w),
            TensorUse("y", self.y_numel, self.fmt.y, write=True),
        )


@dataclass(frozen=True, kw_only=True)
class Pool(Op):
    """Max or average pooling over an NCHW input (``global_pool``: the whole H x W)."""

    kind: Literal["max", "avg"]
    x_shape: tuple[int, int, int, int]
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    global_pool: bool = False

    OP_TYPE: ClassVar[str] = "pool"

    def _validate(self) -> None:
        self._choice("kind", self.kind, POOL_KINDS)
        self._shape("x_shape", self.x_shape, 4)
        if self.global_pool:
            object.__setattr__(self, "kernel", tuple(self.x_shape[2:]))
            object.__setattr__(self, "stride", tuple(self.x_shape[2:]))
            object.__setattr__(self, "padding", (0, 0, 0, 0))
        for f in ("kernel", "stride"):
            object.__setattr__(self, f, _pair(getattr(self, f)))
            self._shape(f, getattr(self, f), 2)
        pad = _pair(self.padding)
        if isinstance(pad, tuple) and len(pad) == 2:
            pad = (pad[0], pad[1], pad[0], pad[1])
        object.__setattr__(self, "padding", pad)
        if not isinstance(pad, tuple) or len(pad) != 4 or any(
            isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= MAX_DIM for p in pad
        ):
            raise HwsimError(
                f"{self.where}: field 'padding' must be 4 non-negative integers up to 2**40, "
                f"got {self.padding!r}"
            )
        if min(self.out_shape[2:]) < 1:
            raise HwsimError(f"{self.where}: the pooling window does not fit the input")

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        n, c, h, w = self.x_shape
        (kh, kw), (sh, sw) = self.kernel, self.stride
        top, left, bottom, right = self.padding
        return (n, c, (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1)

    @property
    def flops(self) -> int:
        return numel(self.out_shape) * numel(self.kernel)

    @property
    def x_numel(self) -> int:
        return numel(self.x_shape)

    @property
    def y_numel(self) -> int:
        return numel(self.out_shape)


@dataclass(frozen=True, kw_only=True)
class View(Op):
    """A layout-only op (reshape, transpose, flatten, ...), treated as free: no arithmetic
    and no memory traffic (a runtime folds it into its neighbours' addressing)."""

    kind: str
    shape: tuple[int, ...]

    OP_TYPE: ClassVar[str] = "view"

    def _validate(self) -> None:
        self._choice("kind", self.kind, VIEW_KINDS)
        self._shape("shape", self.shape)

    @property
    def x_numel(self) -> int:
        return numel(self.shape)

    @property
    def y_numel(self) -> int:
        return numel(self.shape)

    def tensors(self) -> tuple[TensorUse, ...]:
        return ()


@dataclass(frozen=True, kw_only=True)
class Backward(Op):
    """Gradient of ``forward`` with respect to its input (``wrt='input'``) or parameters.

    MAC-based ops: the input gradient multiplies dY by the weights (or second operand) and
    the weight gradient multiplies dY by the saved input, each as many MACs as the forward
    op; attention's input gradient (dQ, dK, dV) costs twice its forward MACs. Other ops cost
    twice their forward flops. Reads dY (``x``) and the saved operand (``w``), writes the
    gradient (``y``).
    """

    forward: Op
    wrt: Literal["input", "weight"] = "input"

    OP_TYPE: ClassVar[str] = "backward"

    def _validate(self) -> None:
        if not isinstance(self.forward, Op) or isinstance(self.forward, Backward | WeightUpdate):
            raise HwsimError(f"{self.where}: field 'forward' must be a forward op")
        self._choice("wrt", self.wrt, ("input", "weight"))
        if self.wrt == "weight" and not self.forward.params:
            raise HwsimError(
                f"{self.where}: wrt='weight' but forward op {self.forward.name!r} has no "
                "parameters"
            )

    @property
    def MAC_BASED(self) -> bool:  # type: ignore[override]
        return self.forward.MAC_BASED

    @property
    def w_kind(self) -> str:
        # input grad reads the weights (at training precision, as 'act'); weight grad reads
        # the saved input activations
        return "act"

    @property
    def macs(self) -> int:
        if isinstance(self.forward, Attention):
            return 2 * self.forward.macs if self.wrt == "input" else 0
        return self.forward.macs

    @property
    def flops(self) -> int:
        if self.forward.MAC_BASED:
            return 2 * self.macs
        if self.wrt == "weight":
            return 2 * self.forward.y_numel  # d(scale), d(shift): a multiply-add each
        return 2 * self.forward.flops

    @property
    def x_numel(self) -> int:
        return self.forward.y_numel

    @property
    def w_numel(self) -> int:
        if self.wrt == "weight" or not self.forward.MAC_BASED:
            return self.forward.x_numel
        return self.forward.w_numel

    @property
    def y_numel(self) -> int:
        if self.wrt == "weight":
            return self.forward.params
        if isinstance(self.forward, Attention):
            return self.forward.x_numel + self.forward.w_numel  # dQ, dK, dV
        return self.forward.x_numel


@dataclass(frozen=True, kw_only=True)
class WeightUpdate(Op):
    """Optimizer step for the ``numel`` parameters of op ``target``: reads the gradient
    (``x``), reads and writes the parameters and optimizer state (``w``, ``y``)."""

    target: str
    numel: int
    optimizer: Literal["sgd", "momentum", "adam"] = "sgd"

    OP_TYPE: ClassVar[str] = "weight_update"

    def _validate(self) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise HwsimError(f"{self.where}: field 'target' must name an op")
        self._pos("numel", self.numel)
        self._choice("optimizer", self.optimizer, tuple(OPTIMIZERS))

    @property
    def w_kind(self) -> str:
        return "act"

    @property
    def state_tensors(self) -> int:
        return OPTIMIZERS[self.optimizer][0]

    @property
    def flops(self) -> int:
        return self.numel * OPTIMIZERS[self.optimizer][1]

    @property
    def x_numel(self) -> int:
        return self.numel

    @property
    def w_numel(self) -> int:
        return self.numel * (1 + self.state_tensors)

    @property
    def y_numel(self) -> int:
        return self.numel * (1 + self.state_tensors)


OP_TYPES: dict[str, type[Op]] = {
    cls.OP_TYPE: cls
    for cls in (MatMul, Conv2d, Attention, Softmax, Norm, Elementwise, Embedding, Pool, View,
                Backward, WeightUpdate)
}
#: Accepted on load as another spelling of an op type.
OP_ALIASES: dict[str, str] = {"gemm": "matmul", "conv": "conv2d"}


def op_fields(cls: type[Op]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


__all__ = [
    "Attention", "Backward", "Conv2d", "ELEMENTWISE_KINDS", "Elementwise", "Embedding",
    "MatMul", "Norm", "OP_TYPES", "Op", "OpFormats", "Pool", "Softmax", "TensorUse", "View",
    "WeightUpdate", "numel",
]
