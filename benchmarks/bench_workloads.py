"""Timings of the workload layer: ``python -m benchmarks.bench_workloads`` from the repository
root (the ONNX ResNet builder is a test fixture, ``tests/workloads/onnx_models.py``).

1. Build the LLaMA-2-7B decode graph (all 32 layers) and summarise it (totals, per-type
   totals, JSON summary), best of several runs.
2. Import ResNet-50 from ONNX (built in code with onnx.helper, saved to a temp file),
   compared with what ONNX itself spends loading the file and inferring shapes.
3. With torch installed: import the same ResNet-50 ONNX's built-in twin, ResNet-18, via
   torch.export and torch.fx (a hand-written module; nothing downloaded).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    from workloads import build_workload

    def llama_decode() -> None:
        g = build_workload("llama2-7b", phase="decode", kv_len=4096, batch=1)
        g.summary()

    def llama_prefill() -> None:
        build_workload("llama2-7b", phase="prefill", seq=2048).summary()

    t_dec = best_of(llama_decode)
    t_pre = best_of(llama_prefill)
    print(f"llama2-7b decode build+summary : {t_dec * 1e3:8.1f} ms  (451 ops)")
    print(f"llama2-7b prefill build+summary: {t_pre * 1e3:8.1f} ms")

    import onnx
    from onnx import shape_inference

    from tests.workloads.onnx_models import resnet_onnx
    from workloads.importers.onnx import import_onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet50.onnx"
        onnx.save(resnet_onnx(50), path)
        size_mb = path.stat().st_size / 1e6
        t_onnx = best_of(lambda: shape_inference.infer_shapes(onnx.load(str(path))), 3)
        t_imp = best_of(lambda: import_onnx(path), 3)
    print(f"resnet50 ONNX ({size_mb:.0f} MB) import : {t_imp * 1e3:8.1f} ms")
    print(f"  of which onnx.load + infer_shapes: {t_onnx * 1e3:8.1f} ms "
          f"(import / onnx baseline = {t_imp / t_onnx:.2f}x)")

    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch not installed: skipping the torch import timings")
        return
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(
        "_r18", Path(__file__).resolve().parents[1] / "tests/workloads/test_torch_import.py")
    if spec is None or spec.loader is None:
        return
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_r18"] = mod
    spec.loader.exec_module(mod)
    from workloads.importers.torch import import_torch

    model, x = mod.ResNet18().eval(), (torch.zeros(1, 3, 224, 224),)
    for route in ("fx", "export"):
        t = best_of(lambda r=route: import_torch(model, x, route=r), 3)
        print(f"resnet18 torch.{route:6s} import   : {t * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
