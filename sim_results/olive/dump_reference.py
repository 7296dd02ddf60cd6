"""Run the OliVe authors' quantiser on CPU and store its outputs for hwsim's golden-model test.

Needs torch and a checkout of github.com/clevercool/ANT-Quantization (``--repo``: a work tree,
or a bare git dir, read with ``git show``). The authors' ``Quantizer`` (olive_quantization/
antquant/quant_modules.py) is imported unchanged; the one CUDA call, ``quant_cuda.quant`` (the
nearest-grid-value kernel in quant/quant_kernel.cu), is replaced by a CPU loop with the
kernel's scan: over the grid in order, keep the last value at the smallest distance.

    python sim_results/olive/dump_reference.py --repo /path/to/ANT-Quantization \
        --out tests/data/olive/reference.npz
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

SOURCE = "olive_quantization/antquant/quant_modules.py"


def _quant_cuda() -> types.ModuleType:
    def quant(x: torch.Tensor, grid: torch.Tensor):
        xs, g = x.float(), grid.float()
        best = torch.full_like(xs, 102400.0)
        z = torch.zeros_like(xs)
        for v in g:  # quant_kernel.cu: `if (sub_v <= sub_min)`, grid in order
            d = (xs - v).abs()
            take = d <= best
            best = torch.where(take, d, best)
            z = torch.where(take, v.expand_as(z), z)
        return z.to(x.dtype), torch.zeros_like(x)

    mod = types.ModuleType("quant_cuda")
    mod.quant = quant
    return mod


def load_quantizer(repo: Path):
    if (repo / SOURCE).exists():
        text = (repo / SOURCE).read_text()
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], text=True,
                                capture_output=True).stdout.strip()
    else:
        text = subprocess.run(["git", "--git-dir", str(repo), "show", f"HEAD:{SOURCE}"],
                              text=True, capture_output=True, check=True).stdout
        commit = subprocess.run(["git", "--git-dir", str(repo), "rev-parse", "HEAD"], text=True,
                                capture_output=True, check=True).stdout.strip()
    tmp = Path(tempfile.mkdtemp())
    (tmp / "quant_modules.py").write_text(text)
    sys.modules["quant_cuda"] = _quant_cuda()
    sys.path.insert(0, str(tmp))
    return importlib.import_module("quant_modules").Quantizer, commit


def run_reference(quantizer_cls, bits: int, x: np.ndarray, alpha: float) -> np.ndarray:
    args = types.SimpleNamespace(w_up=150, a_up=150, w_low=75, a_low=75, percent=100,
                                 search=False, no_outlier=False)
    q = quantizer_cls(mode="int", bit=bits, is_signed=True, is_enable=True, is_input=True,
                      args=args)
    q.outliers.data = q.outlier_value()
    q.quant_grid.data = q.int_value()
    q.alpha.data = torch.tensor(alpha, dtype=torch.float32)
    return q._forward(torch.from_numpy(x)).numpy()


def inputs(seed: int = 0) -> np.ndarray:
    """Heavy-tailed values (Student-t, 2 dof), 4096 of them, float32."""
    rng = np.random.default_rng(seed)
    return rng.standard_t(2, size=4096).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    cls, commit = load_quantizer(a.repo)
    x = inputs()
    out = {"x": x, "commit": np.array(commit)}
    for bits in (4, 8):
        # alpha: the clipping value mapped onto the int grid's largest value (28 or 31.75);
        # also every grid midpoint and grid point, so the tie rule is exercised
        for alpha in (1.0, 2.5, 6.0):
            out[f"olive{bits}_alpha{alpha}"] = run_reference(cls, bits, x, alpha)
        q = cls(mode="int", bit=bits, is_signed=True, is_enable=True, is_input=True,
                args=types.SimpleNamespace(w_up=150, a_up=150, w_low=75, a_low=75, percent=100,
                                           search=False, no_outlier=False))
        grid = torch.cat([q.int_value(), q.outlier_value()]).sort().values.numpy()
        ties = np.concatenate([grid, (grid[1:] + grid[:-1]) / 2]).astype(np.float32)
        ties = np.concatenate([ties, np.zeros(len(ties) % 2, np.float32)])
        rng = np.random.default_rng(bits)
        ties = rng.permutation(ties)
        out[f"olive{bits}_grid"] = grid
        out[f"olive{bits}_ties_x"] = ties
        # alpha = the int grid's maximum: scale 1, the input is in grid units
        out[f"olive{bits}_ties"] = run_reference(cls, bits, ties, float(q.int_value().max()))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **out)
    print(f"wrote {a.out} (authors' commit {commit})")


if __name__ == "__main__":
    main()
