"""HAWQ-V3 dyadic requantisation on the int8 ResNets: accuracy of b/2^c, cost on a systolic array.

Three tables (regenerate: ``python sim_results/hawq_dyadic/run.py``):

- ``accuracy``: how often the integer-only dyadic result (``hwsim.numerics.dyadic``, HAWQ's
  b/2^c rule at b = 32/16/12/8 bits) differs from requantising with the real scale, on int32
  accumulators of ResNet-like magnitude with per-channel scales (synthetic, seeded).
- ``units``: the ``dyadic-requant`` unit's Yosys area and the cost model's energy proxy (the
  rows ``hwsim cost dataset`` wrote to costmodel/data/designs.csv) beside the int8 MAC rows,
  and Horowitz's 45 nm energies of the operations each requantiser needs.
- ``resnet``: ResNet-18/50 int8 on the 32x32 systolic array (hwsim.devices, WS, CALC): one
  requantisation per output element of every GEMM, on one requantiser per array column;
  cycles and energy of the dyadic and the float-scale requantiser beside the run's.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hwsim.io import write_tables
from hwsim.numerics.dyadic import dyadic_scale, requantize, requantize_real

HERE = Path(__file__).resolve().parent
B_BITS = (32, 16, 12, 8)


def accuracy_rows(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    n_ch, per = 512, 2000
    # per-channel scales S_w * S_a / S_out of an int8 conv: log-uniform over 1e-4 .. 1e-2
    scale = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), n_ch))
    # accumulators: outputs spread over the int8 range (a few clamp), as a calibrated layer's
    acc = np.round(rng.standard_normal((n_ch, per)) * 50 / scale[:, None]).astype(np.int64)
    real = requantize_real(acc, scale[:, None])
    rows = []
    for bb in B_BITS:
        b, c = dyadic_scale(scale, bb)
        got = requantize(acc, b[:, None], c[:, None])
        d = got - real
        rel = np.abs(np.ldexp(b.astype(np.float64), -c) / scale - 1)
        rows.append({"b_bits": bb, "max_scale_rel_error": float(rel.max()),
                     "outputs": int(d.size), "differ_frac": float(np.mean(d != 0)),
                     "max_abs_diff": int(np.abs(d).max())})
    return rows


def unit_rows() -> tuple[list[dict], dict[str, float]]:
    import pandas as pd

    from costmodel.data import shipped_path
    from hwsim.sourced import load_table

    df = pd.read_csv(shipped_path("designs.csv"))
    keep = (df.unit == "dyadic-requant") | ((df.unit == "int-mac") & (df.format == "int8")
                                            & (df.pipeline == 0))
    cols = ["unit", "format", "acc", "pipeline", "module", "transistors", "area_transistors",
            "logic_depth", "energy_pj"]
    rows = df.loc[keep, cols].sort_values(["unit", "acc", "format", "pipeline"])
    ops = load_table("costmodel", "data/tech/horowitz_45nm.yaml")
    pj = {k: float(ops.value(f"ops.{k}")) for k in ("int32_mul", "int32_add", "fp32_mul")}
    return rows.to_dict("records"), pj


def resnet_rows(pj: dict[str, float]) -> list[dict]:
    from costmodel.provider import get_provider
    from hwsim.devices import run as run_on
    from hwsim.devices.systolic import SystolicSpec
    from workloads import build_workload

    spec = SystolicSpec(dataflow="ws")
    # dyadic: a 32-bit integer multiply and the rounding add (the shift is wiring plus a
    # barrel shifter, not in the table); float scale: int32 -> fp32, an fp32 multiply and
    # fp32 -> int8 with rounding: only the multiply has a table entry (a lower bound)
    dyadic_pj = pj["int32_mul"] + pj["int32_add"]
    float_pj = pj["fp32_mul"]
    rows = []
    for name in ("resnet18", "resnet50"):
        graph = build_workload(name, precision="int8")
        res = run_on(spec, graph, costs=get_provider("analytical"))
        outputs = 0
        for op in res.ops:
            if op.detail.startswith("GEMM "):
                m, _, n = (int(v) for v in op.detail.split()[1].split("x"))
                outputs += m * n
        total = res.energy_total_pj
        rows.append({
            "workload": name, "macs": res.macs, "total_cycles": res.total_cycles,
            "gemm_outputs": outputs,
            "requant_cycles_one_per_column": -(-outputs // spec.cols),
            "requant_cycle_share": -(-outputs // spec.cols) / res.total_cycles,
            "run_energy_uj": total / 1e6,
            "dyadic_requant_uj": outputs * dyadic_pj / 1e6,
            "float_requant_uj_lower_bound": outputs * float_pj / 1e6,
            "dyadic_share_of_run": outputs * dyadic_pj / total,
            "float_over_dyadic": float_pj / dyadic_pj,
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    units, pj = unit_rows()
    text = write_tables(args.out, {"accuracy": accuracy_rows(args.seed), "units": units,
                                   "resnet": resnet_rows(pj)})
    print(text)


if __name__ == "__main__":
    main()
