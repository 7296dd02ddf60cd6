"""PyTorch import by both routes (torch.export and torch.fx) against the built-in ResNet-18.

ResNet-18 is written here by hand in torchvision's layout (no pretrained weights, nothing
downloaded; torchvision from PyPI does not match the pinned torch build).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (optional extra: pip install -e '.[torch]')"
)
from torch import nn  # noqa: E402

from hwsim.errors import HwsimError  # noqa: E402
from workloads import build_workload  # noqa: E402
from workloads.importers.torch import import_torch  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, cin: int, c: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.downsample = None
        if stride != 1 or cin != c:
            self.downsample = nn.Sequential(nn.Conv2d(cin, c, 1, stride, bias=False),
                                            nn.BatchNorm2d(c))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], 64
        for i, c in enumerate((64, 128, 256, 512)):
            stages.append(nn.Sequential(BasicBlock(cin, c, 1 if i == 0 else 2),
                                        BasicBlock(c, c, 1)))
            cin = c
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.fixture(scope="module")
def resnet18():
    torch.manual_seed(0)
    return ResNet18().eval(), (torch.zeros(1, 3, 224, 224),)


@pytest.mark.parametrize("route", ["export", "fx"])
def test_resnet18_import_equals_builtin(resnet18, route: str) -> None:
    model, inputs = resnet18
    g = import_torch(model, inputs, route=route)
    ref = build_workload("resnet18")
    assert g.params == ref.params == sum(p.numel() for p in model.parameters())
    assert g.macs == ref.macs
    assert g.flops == ref.flops
    assert g.totals.bytes_total == ref.totals.bytes_total


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(16)
        self.fc = nn.Linear(16, 16)

    def forward(self, x):
        h = torch.nn.functional.gelu(self.fc(self.ln(x)))
        scores = torch.softmax(h @ h.transpose(-1, -2), dim=-1)
        return torch.cos(scores)


@pytest.mark.parametrize("route", ["export", "fx"])
def test_transformer_pieces_and_unsupported(route: str) -> None:
    x = (torch.zeros(2, 8, 16),)
    with pytest.raises(HwsimError, match=r"unsupported PyTorch operations: cos \(1x\); "
                       r"supported: .*scaled_dot_product_attention"):
        import_torch(Tiny(), x, route=route)
    with pytest.warns(UserWarning, match="opaque"):
        g = import_torch(Tiny(), x, route=route, keep_unsupported=True)
    assert "cos (1x)" in g.info["notes"] and "no MACs" in g.info["notes"]
    (kept,) = [op for op in g.ops if op.OP_TYPE == "elementwise" and op.kind == "opaque"]
    assert kept.detail == "cos" and kept.macs == 0
    assert g.params == 16 * 2 + 16 * 16 + 16
    act_mm = [op for op in g.ops if op.OP_TYPE == "matmul" and op.b_kind == "act"]
    assert len(act_mm) == 1 and act_mm[0].macs == 2 * 8 * 8 * 16
