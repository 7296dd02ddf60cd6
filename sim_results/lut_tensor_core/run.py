"""End-to-end LUT tensor cores vs MAC tensor cores: BitNet b1.58 3B and LLaMA-2-7B (W2, W4)
prefill and decode on h100 / h100-lut and a100 / a100-lut (and the standalone lut-array);
writes e2e.csv, e2e.json, e2e.md and e2e.png here.

    python sim_results/lut_tensor_core/run.py [--seq 1024] [--kv-len 1024] [--batch 1]

About half a minute. The LUT parts read the synthesised LUT/MAC units of
``hwsim/data/lut_unit_yosys.yaml`` (made by ``synth_units.py`` beside this script).
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

from hwsim.api import simulate
from hwsim.devices import get_device
from hwsim.devices.lut.units import lut_vs_mac, planes
from hwsim.errors import HwsimError
from hwsim.io import atomic_write_json, atomic_write_text, make_dirs, save_figure
from workloads import Precision, build_workload, format_bits, get_precision

HERE = Path(__file__).resolve().parent

#: (label, workload, precision): BitNet's own W1.58A8; LLaMA-2-7B with W2 and W4 weights and
#: int8 or fp16 activations (the LUT tables are built in the activation format)
CASES = (
    ("BitNet b1.58 3B W1.58A8", "bitnet-b1.58-3b", "w1.58a8"),
    ("LLaMA-2-7B W2A8", "llama2-7b", Precision("w2a8", "int2", "int8", "int32")),
    ("LLaMA-2-7B W4A8", "llama2-7b", "w4a8"),
    ("LLaMA-2-7B W2A16", "llama2-7b", Precision("w2a16", "int2", "fp16", "fp32")),
    ("LLaMA-2-7B W4A16", "llama2-7b", "w4a16"),
)
PAIRS = (("h100", "h100-lut"), ("a100", "a100-lut"))


def rows(seq: int, kv_len: int, batch: int) -> tuple[list[dict], list[str]]:
    """Result rows, and the cases skipped because the unit table lacks their rows."""
    out: list[dict] = []
    skipped: list[str] = []
    for label, name, prec in CASES:
        try:
            p = get_precision(prec)
            lut_vs_mac(planes(format_bits(p.weight)), p.act)
        except HwsimError as exc:
            skipped.append(f"{label}: {exc}")
            print(f"  skipped {label}: {exc}")
            continue
        for phase, size in (("prefill", {"seq": seq}), ("decode", {"kv_len": kv_len})):
            g = build_workload(name, phase=phase, batch=batch, precision=prec, **size)
            lut_macs = sum(op.macs for op in g.ops if op.MAC_BASED and op.fmt.w
                           and getattr(op, "w_kind", None) == "weight"
                           and format_bits(op.fmt.w) <= 4)
            base = {}
            for mac_dev, lut_dev in PAIRS:
                for dev in (mac_dev, lut_dev):
                    r = simulate(dev, g)
                    row = {"case": label, "phase": phase, "device": dev,
                           "ms": r.seconds * 1e3, "energy_mj": r.energy_total_pj / 1e9,
                           "lut_mj": r.energy_pj.get("lut", 0.0) / 1e9,
                           "mac_mj": r.energy_pj.get("mac", 0.0) / 1e9,
                           "hbm_mj": r.energy_pj.get("hbm", 0.0) / 1e9,
                           "macs": r.macs, "lut_gemm_macs_share": lut_macs / r.macs}
                    if dev == mac_dev:
                        base = row
                    else:
                        row["speedup"] = base["ms"] / row["ms"]
                        row["energy_ratio"] = base["energy_mj"] / row["energy_mj"]
                    out.append(row)
                    print(f"  {label:<24} {phase:<7} {dev:<9} {row['ms']:9.3f} ms "
                          f"{row['energy_mj']:9.3f} mJ"
                          + (f"  x{row['speedup']:.2f}" if "speedup" in row else ""))
            r = simulate("lut-array", g)
            out.append({"case": label, "phase": phase, "device": "lut-array",
                        "ms": r.seconds * 1e3, "energy_mj": r.energy_total_pj / 1e9,
                        "lut_mj": r.energy_pj.get("lut", 0.0) / 1e9,
                        "mac_mj": r.energy_pj.get("mac", 0.0) / 1e9,
                        "hbm_mj": r.energy_pj.get("dram", 0.0) / 1e9, "macs": r.macs,
                        "lut_gemm_macs_share": lut_macs / r.macs})
    return out, skipped


#: shares of the MAC tensor-core area given to LUT cores, for the sensitivity rows
SHARES = (0.25, 0.5, 0.75, 0.9)


def share_sensitivity(seq: int, batch: int) -> list[dict]:
    """BitNet prefill on a100-lut and h100-lut as the LUT cores' area share varies."""
    g = build_workload("bitnet-b1.58-3b", phase="prefill", seq=seq, batch=batch)
    out = []
    for mac_dev, lut_dev in PAIRS:
        base = simulate(mac_dev, g).seconds
        for share in SHARES:
            t = simulate(lut_dev, g, lut_area_share=share).seconds
            out.append({"device": lut_dev, "lut_area_share": share, "speedup": base / t})
            print(f"  BitNet prefill {lut_dev} share {share:.2f}: x{base / t:.2f}")
    return out


def unit_ratios() -> list[dict]:
    """LUT-vs-MAC density and energy per product the LUT parts use, per precision."""
    out = []
    for bits, act in ((1, "int8"), (2, "int8"), (4, "int8"), (1, "fp16"), (2, "fp16"),
                      (4, "fp16")):
        try:
            c = lut_vs_mac(bits, act)
        except HwsimError:
            continue
        out.append({"weights": f"W{bits}", "act": act, "planes": planes(bits),
                    "density_lut_over_mac": c.density,
                    "energy_lut_over_mac": c.energy,
                    "lut_row": f"{c.lut.m}x{c.lut.n}x{c.lut.k} W{c.lut.weight_bits}",
                    "mac_row": f"W{c.mac.weight_bits} {c.mac.m}x{c.mac.n}x{c.mac.k}"})
    return out


def markdown(data: list[dict], ratios: list[dict], share: float, skipped: list[str],
             sens: list[dict]) -> str:
    lines = [f"LUT parts: LUT tensor cores on {share:.0%} of the MAC tensor cores' area.", "",
             *(f"Skipped (no synthesised rows yet): {s}" for s in skipped), "",
             "| case | phase | device | latency ms | energy mJ | of which LUT mJ | "
             "speedup vs MAC part | energy ratio |", "|---|---|---|---|---|---|---|---|"]
    for r in data:
        sp = f"{r['speedup']:.2f}x" if "speedup" in r else ""
        er = f"{r['energy_ratio']:.2f}x" if "energy_ratio" in r else ""
        lines.append(f"| {r['case']} | {r['phase']} | {r['device']} | {r['ms']:.3f} | "
                     f"{r['energy_mj']:.3f} | {r['lut_mj']:.4f} | {sp} | {er} |")
    lines += ["", "| weights | activations | bit-planes | LUT/MAC products per area | "
              "LUT/MAC energy per product | LUT row | MAC row |", "|---|---|---|---|---|---|---|"]
    for r in ratios:
        e = f"{r['energy_lut_over_mac']:.3f}" if r["energy_lut_over_mac"] else "n/a"
        lines.append(f"| {r['weights']} | {r['act']} | {r['planes']} | "
                     f"{r['density_lut_over_mac']:.2f} | {e} | {r['lut_row']} | "
                     f"{r['mac_row']} |")
    lines += ["", "BitNet b1.58 3B prefill speedup over the MAC part as the LUT cores' share of "
              "the tensor-core area varies:", "", "| device | " + " | ".join(
                  f"share {s:g}" for s in SHARES) + " |", "|---|" + "---|" * len(SHARES)]
    for dev in dict.fromkeys(r["device"] for r in sens):
        lines.append(f"| {dev} | " + " | ".join(f"{r['speedup']:.2f}x" for r in sens
                                                 if r["device"] == dev) + " |")
    return "\n".join(lines) + "\n"


def plot(data: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    cases = list(dict.fromkeys(r["case"] for r in data))
    short = {c: c.replace("BitNet b1.58 3B", "BitNet").replace("LLaMA-2-7B", "LLaMA2")
             for c in cases}
    labels = [f"{short[c]}\n{ph}" for c in cases for ph in ("prefill", "decode")]
    for ax, key, title in ((axes[0], "speedup", "latency: MAC part / LUT part"),
                           (axes[1], "energy_ratio", "energy: MAC part / LUT part")):
        for i, dev in enumerate(lut for _, lut in PAIRS):
            vals = [next(r[key] for r in data if r["case"] == c and r["phase"] == ph
                         and r["device"] == dev) for c in cases for ph in ("prefill", "decode")]
            ax.bar([j + 0.38 * i for j in range(len(vals))], vals, width=0.38, label=dev)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks([j + 0.19 for j in range(len(labels))], labels, fontsize=7, rotation=35,
                      ha="right")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    return save_figure(fig, path)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seq", type=int, default=1024, help="prefill tokens")
    ap.add_argument("--kv-len", type=int, default=1024, help="decode context")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    make_dirs(args.out)
    data, skipped = rows(args.seq, args.kv_len, args.batch)
    ratios = unit_ratios()
    sens = share_sensitivity(args.seq, args.batch)
    share = get_device("h100-lut").lut_area_share
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=sorted({k for r in data for k in r}))
    w.writeheader()
    w.writerows(data)
    atomic_write_text(args.out / "e2e.csv", buf.getvalue())
    atomic_write_json(args.out / "e2e.json", {"seq": args.seq, "kv_len": args.kv_len,
                                              "batch": args.batch, "lut_area_share": share,
                                              "rows": data, "unit_ratios": ratios,
                                              "skipped": skipped, "share_sensitivity": sens})
    atomic_write_text(args.out / "e2e.md", markdown(data, ratios, share, skipped, sens))
    plot(data, args.out / "e2e.png")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
