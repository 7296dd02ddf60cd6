"""``hwsim scalesim`` against SCALE-Sim 3.0.0 on the same .cfg and topology files, same run.

``python -m benchmarks.bench_scalesim`` from the repository root. For each workload at
growing sizes it writes one topology CSV and runs both tools on it with SCALE-Sim's shipped
``configs/scale.cfg`` (32x32 WS, 64 KiB SRAMs; ``tests/data/scalesim/scale.cfg``) in CALC
mode and in USER mode (10 words/cycle, banks at 10), checks that the three reports are byte
for byte the same, and prints each tool's time (CPU seconds of this process, and wall), the
ratio, and how each time grows with the size (the exponent ``log(t2/t1) / log(w2/w1)`` over
the work ``w``, MACs).

Workloads: ResNet-18's stem and one 3x3 conv per stage (SCALE-Sim's conv topology, padded
inputs) at input resolution 16, 32, 64 (each step 4x the MACs), and square GEMMs
(``n x n x n``, n = 64, 128, 256: 8x each step). ``--gpt2`` adds GPT-2 small's four GEMMs
(qkv, proj, fc1, fc2 at hidden 768) at 4, 8, 16 tokens: SCALE-Sim needs minutes each.
SCALE-Sim is skipped at a size whose time, extrapolated from the previous size, would pass
``--scalesim-budget`` seconds (hwsim still runs); ``--sizes N`` keeps the first N sizes.

``--whole`` instead runs SCALE-Sim's own whole topologies with its own configs, unchanged:
``topologies/conv_nets/Resnet18.csv`` on ``configs/scale.cfg`` (32x32 WS, CALC) and
``topologies/GEMM_mnk/gpt2.csv`` on ``configs/google.cfg`` (256x256 OS, USER mode, banks),
both copied under ``tests/data/scalesim/``. SCALE-Sim needs tens of minutes to hours on
these (no budget applies). ``--topology FILE --config CFG`` does the same for any pair.

    python -m benchmarks.bench_scalesim [--gpt2] [--sizes 3] [--scalesim-budget 600]
        [--workloads resnet18,gemm] [--modes CALC,USER] [--json results.json]
    python -m benchmarks.bench_scalesim --whole [--json results.json]
    python -m benchmarks.bench_scalesim --topology T.csv --config C.cfg [-i gemm|conv]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parents[1] / "tests" / "data" / "scalesim"
REPORTS = ("COMPUTE", "BANDWIDTH", "DETAILED_ACCESS")
CONV_HEAD = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
             "Num Filter, Strides,\n")


def resnet18(res: int) -> tuple[str, int]:
    """The stem (7x7/2, 3 -> 64) and one 3x3 conv of each stage at input ``res`` (topology
    text, MACs); a stage's map is at least 1x1."""
    rows = [("conv1", res + 6, 7, 3, 64, 2)]
    rows += [(f"stage{i}", max(1, res // (4 << (i - 1))) + 2, 3, 64 << (i - 1), 64 << (i - 1), 1)
             for i in range(1, 5)]
    text, macs = CONV_HEAD, 0
    for name, h, k, c, n, s in rows:
        out = -(-(h - k) // s) + 1
        macs += out * out * k * k * c * n
        text += f"{name}, {h}, {h}, {k}, {k}, {c}, {n}, {s},\n"
    return text, macs


def gemm_text(layers: list[tuple[str, int, int, int]]) -> tuple[str, int]:
    """A GEMM topology of ``(name, M, K, N)`` rows (SCALE-Sim's column order is M, N, K)."""
    text = "Layer, M, N, K,\n" + "".join(f"{n}, {m}, {nn}, {k},\n" for n, m, k, nn in layers)
    return text, sum(m * k * nn for _, m, k, nn in layers)


def gpt2(tokens: int) -> tuple[str, int]:
    d = 768
    return gemm_text([("qkv", tokens, d, 3 * d), ("proj", tokens, d, d),
                      ("fc1", tokens, d, 4 * d), ("fc2", tokens, 4 * d, d)])


WORKLOADS = {
    "resnet18": (False, [16, 32, 64], resnet18),
    "gemm": (True, [64, 128, 256], lambda n: gemm_text([("g", n, n, n)])),
    "gpt2": (True, [4, 8, 16], gpt2),
}


def _user_cfg(path: Path) -> None:
    text = (DATA / "scale.cfg").read_text()
    text = text.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER")
    path.write_text(text.replace("run_name = scale_example_run_32x32_ws",
                                 "run_name = scale_example_run_32x32_ws_user"))


def _timed(fn) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c0, time.perf_counter() - w0


def _run_hwsim(cfg: Path, topo: Path, gemm: bool, out: Path) -> None:
    from hwsim.cli import main

    argv = ["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm" if gemm else "conv",
            "-p", str(out), "--force"]
    with contextlib.redirect_stdout(io.StringIO()):
        if main(argv) != 0:
            raise SystemExit(f"hwsim scalesim failed on {topo}")


def _run_scalesim(cfg: Path, topo: Path, gemm: bool, out: Path) -> None:
    from scalesim.scale_sim import scalesim

    layout = out.parent / "layout.csv"
    layout.write_text("Layer name,\n")
    with contextlib.redirect_stdout(io.StringIO()):
        sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                       topology=str(topo), layout=str(layout), input_type_gemm=gemm)
        sim.run_scale(top_path=str(out))


def _reports(out: Path) -> list[str]:
    return [next(out.glob(f"*/{r}_REPORT.csv")).read_text() for r in REPORTS]


WHOLE = (("Resnet18.csv", "scale.cfg", False), ("gpt2.csv", "google.cfg", True))


def _is_gemm(topo: Path) -> bool:
    """SCALE-Sim's conv topologies start with ``Layer name, IFMAP Height``; GEMM ones with
    ``Layer, M, N, K``."""
    return "ifmap" not in topo.read_text().splitlines()[0].lower()


def run_whole(pairs: list[tuple[Path, Path, bool]], tmp: Path) -> list[dict]:
    """Both tools on each (topology, config) file pair as shipped: times, ratio, identity."""
    rows = []
    print(f"{'topology':<16} {'config':<11} {'hwsim cpu':>9} {'SCALE-Sim cpu':>13} "
          f"{'ratio':>7}  {'wall h/S (s)':>16}  reports", flush=True)
    for topo, cfg, gemm in pairs:
        ours, ref = tmp / f"h_{topo.stem}", tmp / f"s_{topo.stem}"
        row: dict = {"topology": topo.name, "config": cfg.name, "gemm": gemm}
        row["hwsim_cpu_s"], row["hwsim_wall_s"] = _timed(
            lambda: _run_hwsim(cfg, topo, gemm, ours))  # noqa: B023
        row["scalesim_cpu_s"], row["scalesim_wall_s"] = _timed(
            lambda: _run_scalesim(cfg, topo, gemm, ref))  # noqa: B023
        row["ratio"] = row["scalesim_cpu_s"] / row["hwsim_cpu_s"]
        row["identical"] = _reports(ours) == _reports(ref)
        rows.append(row)
        print(f"{topo.name:<16} {cfg.name:<11} {row['hwsim_cpu_s']:9.2f} "
              f"{row['scalesim_cpu_s']:13.2f} {row['ratio']:6.1f}x  "
              f"{row['hwsim_wall_s']:.1f}/{row['scalesim_wall_s']:.1f}  "
              f"{'identical' if row['identical'] else 'DIFFER'}", flush=True)
    return rows


def _exponent(a: dict, b: dict, key: str) -> str:
    if key not in a or key not in b or min(a[key], b[key]) <= 0:
        return "   -"
    return f"{math.log(b[key] / a[key]) / math.log(b['macs'] / a['macs']):4.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpt2", action="store_true", help="add GPT-2's GEMMs (slow in SCALE-Sim)")
    ap.add_argument("--sizes", type=int, default=3, help="run the first N sizes of each")
    ap.add_argument("--workloads", default="resnet18,gemm",
                    help=f"comma-separated, of {', '.join(WORKLOADS)}")
    ap.add_argument("--modes", default="CALC,USER", help="comma-separated, of CALC, USER")
    ap.add_argument("--scalesim-budget", type=float, default=600.0,
                    help="skip SCALE-Sim where its extrapolated time passes this (s)")
    ap.add_argument("--json", default=None, help="also write the results here")
    ap.add_argument("--whole", action="store_true",
                    help="SCALE-Sim's whole Resnet18.csv and gpt2.csv on its shipped configs")
    ap.add_argument("--topology", type=Path, default=None, help="one whole topology file")
    ap.add_argument("--config", type=Path, default=DATA / "scale.cfg",
                    help="the .cfg for --topology (default SCALE-Sim's scale.cfg)")
    ap.add_argument("-i", dest="input_type", choices=("gemm", "conv"), default=None,
                    help="--topology's input type (default: from its header)")
    args = ap.parse_args()
    try:
        import scalesim.scale_sim  # noqa: F401
    except Exception as exc:
        raise SystemExit(f"SCALE-Sim is not installed ({exc}); pip install 'hwsim[dev]'") from None
    if args.whole or args.topology:
        pairs = [(DATA / t, DATA / c, g) for t, c, g in WHOLE] if args.whole else [
            (args.topology, args.config,
             args.input_type == "gemm" if args.input_type else _is_gemm(args.topology))]
        with tempfile.TemporaryDirectory(prefix="bench-scalesim-") as tmp:
            _run_hwsim(DATA / "calc_os.cfg", DATA / "gemm.csv", True, Path(tmp) / "warm-up")
            rows = run_whole(pairs, Path(tmp))
        if args.json:
            from hwsim.io import atomic_write_json

            atomic_write_json(args.json, {"runs": rows})
        return 1 if any(not r["identical"] for r in rows) else 0
    names = [n for n in WORKLOADS if n in args.workloads.split(",") or (n == "gpt2" and args.gpt2)]
    modes = args.modes.split(",")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-scalesim-") as tmp:
        d = Path(tmp)
        cfgs = {"CALC": DATA / "scale.cfg", "USER": d / "user.cfg"}
        _user_cfg(cfgs["USER"])
        cfgs = {mode: cfg for mode, cfg in cfgs.items() if mode in modes}
        _run_hwsim(DATA / "calc_os.cfg", DATA / "gemm.csv", True, d / "warm-up")  # imports
        print(f"{'workload':<10} {'size':>5} {'mode':<4} {'MACs':>13}  {'hwsim cpu':>9} "
              f"{'SCALE-Sim cpu':>13} {'ratio':>7}  {'wall h/S (s)':>14}  reports")
        for name in names:
            gemm, sizes, make = WORKLOADS[name]
            for mode, cfg in cfgs.items():
                prev: dict | None = None
                for size in sizes[:args.sizes]:
                    text, macs = make(size)
                    topo = d / f"{name}_{size}.csv"
                    topo.write_text(text)
                    row: dict = {"workload": name, "size": size, "mode": mode, "macs": macs}
                    ours = d / f"h_{name}_{size}_{mode}"
                    row["hwsim_cpu_s"], row["hwsim_wall_s"] = _timed(
                        lambda: _run_hwsim(cfg, topo, gemm, ours))  # noqa: B023
                    guess = (prev["scalesim_cpu_s"] * macs / prev["macs"]
                             if prev and "scalesim_cpu_s" in prev else 0.0)
                    if prev is not None and "scalesim_cpu_s" not in prev:
                        guess = math.inf
                    if guess <= args.scalesim_budget:
                        ref = d / f"s_{name}_{size}_{mode}"
                        row["scalesim_cpu_s"], row["scalesim_wall_s"] = _timed(
                            lambda: _run_scalesim(cfg, topo, gemm, ref))  # noqa: B023
                        row["ratio"] = row["scalesim_cpu_s"] / row["hwsim_cpu_s"]
                        row["identical"] = _reports(ours) == _reports(ref)
                    rows.append(row)
                    ss = (f"{row['scalesim_cpu_s']:13.2f} {row['ratio']:6.1f}x"
                          if "ratio" in row else f"{'skipped':>13} {'-':>7}")
                    wall = (f"{row['hwsim_wall_s']:.1f}/{row['scalesim_wall_s']:.1f}"
                            if "ratio" in row else f"{row['hwsim_wall_s']:.1f}/-")
                    same = {True: "identical", False: "DIFFER"}.get(row.get("identical"), "-")
                    print(f"{name:<10} {size:>5} {mode:<4} {macs:>13,}  "
                          f"{row['hwsim_cpu_s']:9.2f} {ss}  {wall:>14}  {same}", flush=True)
                    prev = row
        print("\ntime growth with MACs (exponent between consecutive sizes; 1 = linear):")
        for name in names:
            for mode in cfgs:
                sel = [r for r in rows if r["workload"] == name and r["mode"] == mode]
                pairs = list(zip(sel[:-1], sel[1:], strict=True))
                hw = ", ".join(_exponent(a, b, "hwsim_cpu_s") for a, b in pairs)
                ss = ", ".join(_exponent(a, b, "scalesim_cpu_s") for a, b in pairs)
                print(f"  {name:<10} {mode:<4} hwsim [{hw}]  SCALE-Sim [{ss}]")
    if any(r.get("identical") is False for r in rows):
        print("some reports differ from SCALE-Sim's")
    if args.json:
        from hwsim.io import atomic_write_json

        atomic_write_json(args.json, {"runs": rows})
    return 1 if any(r.get("identical") is False for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
