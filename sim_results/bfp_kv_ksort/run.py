"""Reproduce the BFP KV cache + K-sort study: attention error with and without K-sort at BFP12/
BFP16 and block sizes 32/64/128, and the KV-cache bytes of a LLaMA-2-7B decode step.

    python sim_results/bfp_kv_ksort/run.py [--seed S]

Writes errors.csv, kv_bytes.csv, results.json and ksort_errors.png here. The setting is in
hwsim/studies/bfp_kv_ksort.py; findings in README.md.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from hwsim.io import save_figure, write_tables
from hwsim.studies import bfp_kv_ksort as study

HERE = Path(__file__).resolve().parent



def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for ax, matched in zip(axes, (True, False), strict=True):
        for fmt, style in (("bfp12", "-"), ("bfp16", "--")):
            for sort, marker in ((False, "o"), (True, "s")):
                pts = [r for r in rows if r["matched_q"] == matched and r["k_format"] == fmt
                       and r["ksort"] == sort]
                ax.plot([r["block"] for r in pts], [r["output_rel_error"] for r in pts],
                        style, marker=marker, label=f"{fmt} {'K-sort' if sort else 'plain'}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("block size")
        ax.set_ylabel("attention output rel. error")
        ax.set_title("W_q outliers match W_k" if matched else "W_q without outlier channels")
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    rows = [{"matched_q": m, **asdict(r)}
            for m in (True, False)
            for r in study.run(study.llama_like_heads(matched_q=m, seed=args.seed))]
    kv = [asdict(r) for r in study.kv_bytes()]
    base = kv[0]["kv_cache_bytes"]
    for r in kv:
        r["footprint_saving_x"] = base / r["kv_cache_bytes"]
    text = write_tables(args.out, {"errors": rows, "kv_bytes": kv})
    plot(rows, args.out / "ksort_errors.png")
    print(text)


if __name__ == "__main__":
    main()
