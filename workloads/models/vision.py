"""Vision and tiny-ML graphs written from their reference definitions.

Conventions follow each model's reference implementation, because the published parameter
and MAC counts come from there:

- ResNet-18/50, MobileNetV2, ViT-B/16: torchvision's definitions (ResNet v1.5 with the
  stride on the 3x3 convolution, convolutions without bias followed by BatchNorm, biased
  classifier). Sources: He et al. 2016 (arXiv:1512.03385); Sandler et al. 2018
  (arXiv:1801.04381); Dosovitskiy et al. 2021 (arXiv:2010.11929); torchvision.models docs.
- ResNet-8 and DS-CNN: the MLPerf Tiny v0.5 reference Keras models (Banbury et al. 2021,
  arXiv:2106.07597; github.com/mlcommons/tiny, benchmark/training/{image_classification,
  keyword_spotting}/keras_model.py): biased convolutions, Keras 'same' padding (asymmetric
  for stride 2), a softmax output.

BatchNorm appears in its inference form; its scale and shift count as parameters, its
running statistics do not (as in PyTorch's ``parameters()`` and Keras' trainable count).
"""

from __future__ import annotations

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.graph import Graph
from workloads.ops import (
    Attention,
    Conv2d,
    Elementwise,
    MatMul,
    Norm,
    Op,
    Pool,
    Softmax,
    View,
)


class _Net:
    """Appends ops while tracking the activation shape of the main path."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape
        self.ops: list[Op] = []

    def conv(self, name: str, cout: int, k: int | tuple[int, int], s: int = 1, *,
             pad: str | int = "torch", groups: int = 1, bias: bool = False,
             x: tuple[int, ...] | None = None) -> tuple[int, ...]:
        """``pad='torch'``: symmetric (k-1)//2; ``'same'``: Keras/TF same (extra row and
        column at the bottom/right when the total is odd)."""
        src = x if x is not None else self.shape
        kh, kw = (k, k) if isinstance(k, int) else k
        if pad == "torch":
            padding: tuple[int, ...] = ((kh - 1) // 2, (kw - 1) // 2)
        elif pad == "same":
            ph, pw = _tf_same(src[2], kh, s), _tf_same(src[3], kw, s)
            padding = (ph[0], pw[0], ph[1], pw[1])
        else:
            padding = (int(pad), int(pad))
        op = Conv2d(name=name, x_shape=src, out_channels=cout, kernel=(kh, kw), stride=s,
                    padding=padding, groups=groups, bias=bias)
        self.ops.append(op)
        if x is None:
            self.shape = op.out_shape
        return op.out_shape

    def bn(self, name: str, shape: tuple[int, ...] | None = None) -> None:
        self.ops.append(Norm(name=name, kind="batchnorm", shape=shape or self.shape))

    def act(self, name: str, kind: str) -> None:
        self.ops.append(Elementwise(name=name, kind=kind, shape=self.shape))

    def add(self, name: str) -> None:
        self.ops.append(Elementwise(name=name, kind="add", shape=self.shape, num_inputs=2))

    def pool(self, name: str, kind: str, k: int = 1, s: int = 1, p: int = 0, *,
             global_pool: bool = False) -> None:
        op = Pool(name=name, kind=kind, x_shape=self.shape, kernel=k, stride=s, padding=p,
                  global_pool=global_pool)
        self.ops.append(op)
        self.shape = op.out_shape

    def flatten(self, name: str) -> None:
        self.shape = (self.shape[0], _prod(self.shape[1:]))
        self.ops.append(View(name=name, kind="flatten", shape=self.shape))

    def linear(self, name: str, out_features: int, bias: bool = True) -> None:
        *lead, fin = self.shape
        op = MatMul.linear(name, tuple(lead), fin, out_features, bias=bias)
        self.ops.append(op)
        self.shape = op.out_shape


def _prod(xs: tuple[int, ...]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def _tf_same(size: int, k: int, s: int) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def _finish(name: str, net: _Net, precision: str | Precision | None, batch: int,
            source: str, **attrs: object) -> Graph:
    info = {"model": name, "phase": "inference", "batch": batch, **attrs, "source": source}
    return Graph(name, tuple(net.ops), tuple(info.items())).with_precision(
        get_precision(precision or "fp16"))


def _check_batch(batch: int) -> None:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise HwsimError(f"batch must be a positive integer, got {batch!r}")


# --- ResNet-18 / ResNet-50 (torchvision) ------------------------------------------------------
def build_resnet(depth: int, *, batch: int = 1, image: int = 224,
                 precision: str | Precision | None = None) -> Graph:
    _check_batch(batch)
    blocks = {18: (2, 2, 2, 2), 50: (3, 4, 6, 3)}
    if depth not in blocks:
        raise HwsimError(f"ResNet depth {depth} is not built in; allowed: 18, 50")
    bottleneck = depth == 50
    net = _Net((batch, 3, image, image))
    net.conv("conv1", 64, 7, 2, pad=3)
    net.bn("bn1")
    net.act("relu", "relu")
    net.pool("maxpool", "max", 3, 2, 1)
    cin = 64
    for li, (n, planes) in enumerate(zip(blocks[depth], (64, 128, 256, 512), strict=True), 1):
        for bi in range(n):
            pre = f"layer{li}.{bi}"
            stride = 2 if bi == 0 and li > 1 else 1
            x_in = net.shape
            cout = planes * 4 if bottleneck else planes
            if bottleneck:
                net.conv(f"{pre}.conv1", planes, 1)
                net.bn(f"{pre}.bn1")
                net.act(f"{pre}.relu1", "relu")
                net.conv(f"{pre}.conv2", planes, 3, stride)
                net.bn(f"{pre}.bn2")
                net.act(f"{pre}.relu2", "relu")
                net.conv(f"{pre}.conv3", cout, 1)
                net.bn(f"{pre}.bn3")
            else:
                net.conv(f"{pre}.conv1", planes, 3, stride)
                net.bn(f"{pre}.bn1")
                net.act(f"{pre}.relu1", "relu")
                net.conv(f"{pre}.conv2", planes, 3)
                net.bn(f"{pre}.bn2")
            if stride != 1 or cin != cout:
                ds = net.conv(f"{pre}.downsample.0", cout, 1, stride, x=x_in)
                net.bn(f"{pre}.downsample.1", ds)
            net.add(f"{pre}.add")
            net.act(f"{pre}.relu_out", "relu")
            cin = cout
    net.pool("avgpool", "avg", global_pool=True)
    net.flatten("flatten")
    net.linear("fc", 1000)
    src = f"He et al. 2016 (arXiv:1512.03385); torchvision resnet{depth}"
    return _finish(f"resnet{depth}", net, precision, batch, src, image=image)


# --- MobileNetV2 (torchvision, width 1.0) -------------------------------------------------------
# (expansion t, output channels c, repeats n, first stride s): Sandler et al. 2018, Table 2
_MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
         (6, 160, 3, 2), (6, 320, 1, 1))


def build_mobilenetv2(*, batch: int = 1, image: int = 224,
                      precision: str | Precision | None = None) -> Graph:
    _check_batch(batch)
    net = _Net((batch, 3, image, image))
    net.conv("features.0.conv", 32, 3, 2)
    net.bn("features.0.bn")
    net.act("features.0.relu6", "relu6")
    cin, idx = 32, 1
    for t, c, n, s in _MBV2:
        for i in range(n):
            pre = f"features.{idx}"
            stride = s if i == 0 else 1
            hidden = cin * t
            if t != 1:
                net.conv(f"{pre}.expand", hidden, 1)
                net.bn(f"{pre}.expand_bn")
                net.act(f"{pre}.expand_relu6", "relu6")
            net.conv(f"{pre}.dw", hidden, 3, stride, groups=hidden)
            net.bn(f"{pre}.dw_bn")
            net.act(f"{pre}.dw_relu6", "relu6")
            net.conv(f"{pre}.project", c, 1)
            net.bn(f"{pre}.project_bn")
            if stride == 1 and cin == c:
                net.add(f"{pre}.add")
            cin, idx = c, idx + 1
    net.conv(f"features.{idx}.conv", 1280, 1)
    net.bn(f"features.{idx}.bn")
    net.act(f"features.{idx}.relu6", "relu6")
    net.pool("avgpool", "avg", global_pool=True)
    net.flatten("flatten")
    net.linear("classifier", 1000)
    src = "Sandler et al. 2018 (arXiv:1801.04381); torchvision mobilenet_v2"
    return _finish("mobilenetv2", net, precision, batch, src, image=image)


# --- ViT-B/16 (torchvision vit_b_16) -----------------------------------------------------------
def build_vit_b16(*, batch: int = 1, image: int = 224,
                  precision: str | Precision | None = None) -> Graph:
    _check_batch(batch)
    patch, dim, layers, heads, mlp = 16, 768, 12, 12, 3072  # Dosovitskiy et al., Table 1
    if image % patch:
        raise HwsimError(f"image size must be a multiple of {patch}, got {image}")
    net = _Net((batch, 3, image, image))
    net.conv("conv_proj", dim, patch, patch, pad=0, bias=True)
    tokens = (image // patch) ** 2 + 1
    seq = (batch, tokens, dim)
    ops = net.ops
    ops.append(View(name="patchify", kind="transpose", shape=(batch, tokens - 1, dim)))
    ops.append(Elementwise(name="class_token", kind="concat", shape=seq, num_inputs=1,
                           param_shape=(1, 1, dim)))
    ops.append(Elementwise(name="pos_embedding", kind="add", shape=seq,
                           param_shape=(1, tokens, dim)))
    tok = (batch, tokens)
    for i in range(layers):
        pre = f"encoder.layers.{i}"
        ops += [
            Norm(name=f"{pre}.ln_1", kind="layernorm", shape=seq),
            MatMul.linear(f"{pre}.attn.in_proj", tok, dim, 3 * dim, bias=True),
            Attention(name=f"{pre}.attn.sdpa", batch=batch, heads=heads, kv_heads=heads,
                      q_len=tokens, kv_len=tokens, head_dim=dim // heads),
            MatMul.linear(f"{pre}.attn.out_proj", tok, dim, dim, bias=True),
            Elementwise(name=f"{pre}.attn_residual", kind="add", shape=seq, num_inputs=2),
            Norm(name=f"{pre}.ln_2", kind="layernorm", shape=seq),
            MatMul.linear(f"{pre}.mlp.0", tok, dim, mlp, bias=True),
            Elementwise(name=f"{pre}.mlp.gelu", kind="gelu", shape=(*tok, mlp)),
            MatMul.linear(f"{pre}.mlp.3", tok, mlp, dim, bias=True),
            Elementwise(name=f"{pre}.mlp_residual", kind="add", shape=seq, num_inputs=2),
        ]
    ops.append(Norm(name="encoder.ln", kind="layernorm", shape=seq))
    ops.append(View(name="class_token_out", kind="squeeze", shape=(batch, dim)))
    ops.append(MatMul.linear("heads.head", (batch,), dim, 1000, bias=True))
    src = "Dosovitskiy et al. 2021 (arXiv:2010.11929), Table 1; torchvision vit_b_16"
    return _finish("vit-b16", net, precision, batch, src, image=image)


# --- MLPerf Tiny: ResNet-8 (image classification) and DS-CNN (keyword spotting) ---------------
def build_resnet8(*, batch: int = 1, precision: str | Precision | None = None) -> Graph:
    _check_batch(batch)
    net = _Net((batch, 3, 32, 32))  # CIFAR-10
    net.conv("conv1", 16, 3, pad="same", bias=True)
    net.bn("bn1")
    net.act("relu1", "relu")
    for stack, (filters, stride) in enumerate(((16, 1), (32, 2), (64, 2)), 1):
        pre = f"stack{stack}"
        x_in = net.shape
        net.conv(f"{pre}.conv1", filters, 3, stride, pad="same", bias=True)
        net.bn(f"{pre}.bn1")
        net.act(f"{pre}.relu1", "relu")
        net.conv(f"{pre}.conv2", filters, 3, pad="same", bias=True)
        net.bn(f"{pre}.bn2")
        if stride != 1:
            net.conv(f"{pre}.shortcut", filters, 1, stride, pad="same", bias=True, x=x_in)
        net.add(f"{pre}.add")
        net.act(f"{pre}.relu2", "relu")
    net.pool("avgpool", "avg", global_pool=True)
    net.flatten("flatten")
    net.linear("dense", 10)
    net.ops.append(Softmax(name="softmax", shape=net.shape))
    src = "MLPerf Tiny v0.5 image classification reference (Banbury et al. 2021, " \
          "arXiv:2106.07597)"
    return _finish("resnet8", net, precision, batch, src)


def build_ds_cnn(*, batch: int = 1, precision: str | Precision | None = None) -> Graph:
    _check_batch(batch)
    filters = 64
    net = _Net((batch, 1, 49, 10))  # 49 frames x 10 MFCC features
    net.conv("conv1", filters, (10, 4), 2, pad="same", bias=True)
    net.bn("bn1")
    net.act("relu1", "relu")
    for i in range(1, 5):
        pre = f"ds{i}"
        net.conv(f"{pre}.depthwise", filters, 3, pad="same", groups=filters, bias=True)
        net.bn(f"{pre}.bn_dw")
        net.act(f"{pre}.relu_dw", "relu")
        net.conv(f"{pre}.pointwise", filters, 1, pad="same", bias=True)
        net.bn(f"{pre}.bn_pw")
        net.act(f"{pre}.relu_pw", "relu")
    net.pool("avgpool", "avg", global_pool=True)
    net.flatten("flatten")
    net.linear("dense", 12)  # 10 keywords + silence + unknown
    net.ops.append(Softmax(name="softmax", shape=net.shape))
    src = "MLPerf Tiny v0.5 keyword spotting reference (Banbury et al. 2021, " \
          "arXiv:2106.07597; Zhang et al. 2017 Hello Edge, arXiv:1711.07128)"
    return _finish("ds-cnn", net, precision, batch, src)
