"""MobileNetV2 (224x224, int8) on one Cortex-M7: peak SRAM layer by layer vs MCUNetV2's
patch-based first stage; writes results.json, sram_per_layer.csv and sram_per_layer.png here.

    python sim_results/mcu_patch_inference/run.py

About half a minute: each schedule is one run of the cortexm kind; the patch grid sweep
searches the split (least peak SRAM) for every grid.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from hwsim.devices import get_device, run
from hwsim.io import atomic_write_json, atomic_write_text
from workloads import build_workload

HERE = Path(__file__).resolve().parent
KIB = 1024
F746_SRAM = 320 * KIB  # the cortex-m7 preset's SRAM (hwsim/data/cortexm_presets.yaml)
#: the grid sweep reports peaks above the F746's SRAM too: it runs on a roomier copy
ROOMY = {"sram_kb": 4096}
#: MCUNetV2 (Lin et al., NeurIPS 2021, arXiv 2110.15352), Fig. 1: MobileNetV2, int8
PAPER = {"layer_kb": 1372, "patch_kb": 172, "grid": 4, "reduction_range": [4, 8]}


def summary(res) -> dict:
    s = res.sram
    return {"schedule": s["schedule"], "peak_bytes": s["peak_bytes"],
            "peak_kib": s["peak_kib"], "peak_op": s["peak_op"],
            "fits_stm32f746": s["peak_bytes"] <= F746_SRAM,
            "macs": res.macs, "ms": res.seconds * 1e3,
            **{k: s[k] for k in ("patch_split", "patch_grid", "recompute_macs",
                                 "recompute_fraction") if k in s}}


def plot(layer, patch, budget: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [o.name for o in layer.ops if o.unit != "none"]  # ops with work (folded skipped)
    lb = [layer.sram["op_bytes"][n] / KIB for n in names]
    pb = [patch.sram["op_bytes"][n] / KIB for n in names]
    fig, ax = plt.subplots(figsize=(11, 4.2))
    x = range(len(names))
    ax.plot(x, lb, label=f"layer by layer (peak {max(lb):.0f} KiB)", color="tab:red")
    ax.plot(x, pb, label=f"patch-based, {patch.sram['patch_grid']}x{patch.sram['patch_grid']} "
                         f"patches up to {patch.sram['patch_split']} (peak {max(pb):.0f} KiB)",
            color="tab:blue")
    ax.axhline(budget / KIB, color="gray", ls="--", lw=1,
               label=f"STM32F746 SRAM ({budget / KIB:.0f} KiB)")
    for kb, what in ((PAPER["layer_kb"], "MCUNetV2 per-layer"),
                     (PAPER["patch_kb"], "MCUNetV2 per-patch")):
        ax.axhline(kb, color="black", ls=":", lw=0.8)
        ax.text(len(names) - 1, kb, f"{what} {kb} kB", ha="right", va="bottom", fontsize=8)
    order = [o.name for o in layer.ops]
    cut = order.index(patch.sram["patch_split"])
    split = sum(order.index(n) <= cut for n in names)  # ops with work up to the split
    ax.axvline(split - 0.5, color="tab:blue", lw=0.8, alpha=0.5)
    ax.text(split - 0.4, max(lb) * 0.55, "end of the patch stage", color="tab:blue",
            fontsize=8)
    ax.set_xlabel("op of MobileNetV2 (convolutions, adds, pooling, classifier; in run order)")
    ax.set_ylabel("live SRAM (KiB, int8)")
    ax.set_title("MobileNetV2 224x224 int8 on a Cortex-M7: SRAM per layer")
    ax.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.93))
    ax.set_xlim(0, len(names) - 1)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    tmp = path.with_suffix(".tmp.png")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    g = build_workload("mobilenetv2", phase="inference", precision="int8")
    layer = run(get_device("cortex-m7"), g)
    patch = run(get_device("cortex-m7", schedule="patch"), g)
    fixed = run(get_device("cortex-m7", schedule="patch", patch_split="features.4.project_bn"), g)
    plain = [run(get_device("cortex-m7", in_place=False, schedule=s, **ROOMY), g) for s in
             ("layer", "patch")]
    grids = [summary(run(get_device("cortex-m7", schedule="patch", patch_grid=n, **ROOMY), g))
             for n in (2, 3, 4, 5, 6, 7, 8)]
    out = {"paper": PAPER, "layer": summary(layer), "patch": summary(patch),
           "patch_at_mcunetv2_split": summary(fixed),
           "reduction": layer.sram["peak_bytes"] / patch.sram["peak_bytes"],
           "latency_cost": patch.seconds / layer.seconds - 1,
           "no_in_place_kernels": [summary(r) for r in plain],
           "no_in_place_reduction": plain[0].sram["peak_bytes"] / plain[1].sram["peak_bytes"],
           "grid_sweep": grids}
    atomic_write_json(args.out / "results.json", out)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["op", "layer_bytes", "patch_bytes"])
    for o in layer.ops:
        w.writerow([o.name, layer.sram["op_bytes"][o.name], patch.sram["op_bytes"][o.name]])
    atomic_write_text(args.out / "sram_per_layer.csv", buf.getvalue())
    plot(layer, patch, layer.sram["sram_bytes"], args.out / "sram_per_layer.png")
    for k in ("layer", "patch"):
        s = out[k]
        print(f"  {k:<6} peak {s['peak_kib']:8.1f} KiB at {s['peak_op']:<24} "
              f"{s['macs'] / 1e6:7.1f} MMACs {s['ms']:8.1f} ms")
    print(f"  reduction {out['reduction']:.2f}x, latency +{out['latency_cost']:.1%}; "
          f"wrote {args.out}")


if __name__ == "__main__":
    main()
