"""Reproduce the OliVe study: quantisation error of olive4/olive8 beside int and MX/BFP blocks,
and the olive-decode unit's area beside the integer MAC a PE holds (Yosys).

    python sim_results/olive/run.py [--seed S] [--build DIR]

Writes errors.csv, decoder.csv, results.json and olive_sqnr.png here. The setting is in
hwsim/studies/olive.py; findings in README.md.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from hwsim.io import save_figure, write_tables
from hwsim.studies import olive

HERE = Path(__file__).resolve().parent
ARRAY_EDGE = (16, 32, 128)  # N x N arrays: decoders at the edge, N pair decoders per array



def decoder_rows(build: Path) -> list[dict]:
    from rtl.synth import synthesize
    from rtl.unit import build_unit

    def synth(name, **kw):
        return synthesize(build_unit(name, **kw), families=("ice40",), build_dir=build)

    rows = []
    for bits, acc in ((4, 16), (8, 32)):
        dec = synth("olive-decode", format=f"olive{bits}")
        mac = synth("int-mac", format=f"int{bits}", acc=acc)
        row = {"format": f"olive{bits}", "decoder_transistors": dec.transistors,
               "decoder_ice40_luts": dec.fpga["ice40"].luts,
               "decoder_logic_depth": dec.logic_depth,
               "pe_mac": f"int{bits} x int{bits} -> int{acc}",
               "mac_transistors": mac.transistors, "mac_ice40_luts": mac.fpga["ice40"].luts,
               # one pair decoder per PE: it decodes the PE's two operands' pair partners too
               "per_pe_overhead_pct": 100.0 * dec.transistors / mac.transistors}
        for n in ARRAY_EDGE:  # N pair decoders feed 2N operand streams of an N x N array
            row[f"edge_{n}x{n}_overhead_pct"] = 100.0 * dec.transistors / (n * mac.transistors)
        rows.append(row)
    return rows


def plot(rows: list[olive.Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tensors = list(dict.fromkeys(r.tensor for r in rows))
    fmts = list(dict.fromkeys(r.fmt for r in rows))
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / len(tensors)
    for i, t in enumerate(tensors):
        vals = [next(r.sqnr_db for r in rows if r.tensor == t and r.fmt == f) for f in fmts]
        ax.bar([j + i * width for j in range(len(fmts))], vals, width, label=t)
    ax.set_xticks([j + width * (len(tensors) - 1) / 2 for j in range(len(fmts))], fmts,
                  rotation=30, ha="right")
    ax.set_ylabel("SQNR (dB)")
    ax.set_title("OliVe pairs vs int and block formats (synthetic LLM-like tensors)")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--build", type=Path, default=Path("build") / "olive",
                    help="Yosys cache folder")
    args = ap.parse_args(argv)
    rows = olive.run(args.seed)
    err = [asdict(r) for r in rows]
    dec = decoder_rows(args.build)
    text = write_tables(args.out, {"errors": err, "decoder": dec})
    plot(rows, args.out / "olive_sqnr.png")
    print(text)


if __name__ == "__main__":
    main()
