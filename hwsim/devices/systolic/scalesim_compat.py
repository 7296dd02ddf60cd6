"""Running SCALE-Sim v3 (the ``scalesim`` package) on our layer shapes, for tests and benchmarks.

SCALE-Sim is the ground truth for the systolic-array cycle counts. It is an optional peer
(installed with ``[dev]``); everything here imports it lazily and raises
:class:`~hwsim.errors.HwsimError` when it is missing.

Shape mapping (ours -> SCALE-Sim topology):

- GEMM ``M x K`` times ``K x N``: a GEMM topology row ``name, M, N, K,`` (that order, trailing
  comma required), run with ``input_type_gemm=True``. SCALE-Sim then treats it as a conv with
  ``M`` output pixels, window ``K`` and ``N`` filters.
- Conv2d (NCHW, batch ``B``, padding ``p``, output ``Ho x Wo``): a conv topology row
  ``name, (Ho-1)*s + kh, (Wo-1)*s + kw, kh, kw, C, Cout, s,``: the padded input extent the
  outputs actually use. SCALE-Sim has no padding, and it rounds a partial stride step up
  (``ceil((H - kh) / s) + 1`` outputs), so passing ``H + pt + pb`` for ResNet's 7x7/2 stem
  (230) would give 113 x 113 outputs instead of 112 x 112. It has no batch, no dilation and
  one stride for both axes, so
  ``B > 1``, dilation or unequal strides go through the equivalent GEMM instead
  (``M = B*Ho*Wo``, ``K = kh*kw*C``, ``N = Cout``), which gives the same compute cycles.
- In every case the operand matrices are ``M x K`` (ifmap), ``K x N`` (filter), ``M x N``
  (ofmap), and the dataflows place them as documented in :mod:`hwsim.devices.systolic.timing`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hwsim.errors import HwsimError


@dataclass(frozen=True)
class ScaleSimResult:
    """One layer of SCALE-Sim's COMPUTE_REPORT."""

    total_cycles_incl_prefetch: int
    compute_cycles: int
    stall_cycles: int
    overall_util_pct: float
    mapping_eff_pct: float
    compute_util_pct: float


def _raw_result(layer: object) -> ScaleSimResult:
    """A layer's report figures from SCALE-Sim's memory system (utilisations left at 0)."""
    mem = layer.memory_system  # type: ignore[attr-defined]
    if_start = mem.get_ifmap_dram_details()[0]
    fi_start = mem.get_filter_dram_details()[0]
    of_stop = mem.get_ofmap_dram_details()[1]
    return ScaleSimResult(int(of_stop - min(if_start, fi_start)),
                          int(mem.get_total_compute_cycles()), int(mem.get_stall_cycles()),
                          0.0, 0.0, 0.0)


def available() -> bool:
    try:
        import scalesim.scale_sim  # noqa: F401
    except Exception:
        return False
    return True


def config_text(rows: int, cols: int, dataflow: str, sram_kb: tuple[int, int, int] = (64, 64, 64),
                bandwidth_words: int = 10, user_bandwidth: bool = False) -> str:
    """A SCALE-Sim config file for our array (same layout as the repository's scale.cfg)."""
    ifm, fil, ofm = sram_kb
    return f"""[general]
run_name = hwsim_ref

[architecture_presets]
ArrayHeight:    {rows}
ArrayWidth:     {cols}
IfmapSramSzkB:   {ifm}
FilterSramSzkB:  {fil}
OfmapSramSzkB:   {ofm}
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : {bandwidth_words}
Dataflow : {dataflow}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: {bandwidth_words if user_bandwidth else 100}
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: {bandwidth_words if user_bandwidth else 100}
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40

[run_presets]
InterfaceBandwidth: {"USER" if user_bandwidth else "CALC"}
UseRamulatorTrace: False
"""


def gemm_row(name: str, m: int, k: int, n: int) -> str:
    return f"{name}, {m}, {n}, {k},\n"


def conv_row(name: str, h_padded: int, w_padded: int, kh: int, kw: int, c: int, cout: int,
             stride: int) -> str:
    return f"{name}, {h_padded}, {w_padded}, {kh}, {kw}, {c}, {cout}, {stride},\n"


def run(rows_csv: list[str], *, rows: int, cols: int, dataflow: str, gemm: bool = True,
        sram_kb: tuple[int, int, int] = (64, 64, 64), bandwidth_words: int = 10,
        user_bandwidth: bool = False) -> list[ScaleSimResult]:
    """Run SCALE-Sim on topology rows (from :func:`gemm_row` / :func:`conv_row`).

    Runs in a temporary folder with ``save_disk_space=True`` (no per-cycle trace files) and
    its console output swallowed.
    """
    try:
        from scalesim.scale_sim import scalesim
    except Exception as exc:  # numpy >= 2.4 breaks 3.0.0 at run time, not at import
        raise HwsimError(f"SCALE-Sim is not installed ({exc}); pip install 'hwsim[dev]'") from exc
    with tempfile.TemporaryDirectory(prefix="hwsim-scalesim-") as tmp:
        d = Path(tmp)
        cfg = d / "hwsim.cfg"
        cfg.write_text(config_text(rows, cols, dataflow, sram_kb, bandwidth_words,
                                   user_bandwidth))
        topo = d / "topo.csv"
        header = ("Layer, M, N, K,\n" if gemm else
                  "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, "
                  "Channels, Num Filter, Strides,\n")
        topo.write_text(header + "".join(rows_csv))
        layout = d / "layout.csv"
        layout.write_text("Layer name,\n")
        out = d / "out"
        out.mkdir()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(save_disk_space=True, verbose=False, config=str(cfg),
                           topology=str(topo), layout=str(layout), input_type_gemm=gemm)
            try:
                sim.run_scale(top_path=str(out))
            except ZeroDivisionError:
                # 3.0.0's report divides by "Total Cycles", which is 0 for a one-cycle layer
                # (it counts the index of the last cycle); read what it simulated instead
                return [_raw_result(layer) for layer in sim.runner.single_layer_sim_object_list]
        report = next(out.glob("*/COMPUTE_REPORT.csv"))
        results = []
        with report.open() as fh:
            reader = csv.reader(fh)
            next(reader)
            for rec in reader:
                vals = [v.strip() for v in rec if v.strip()]
                if not vals:
                    continue
                results.append(ScaleSimResult(int(float(vals[1])), int(float(vals[2])),
                                              int(float(vals[3])), float(vals[4]),
                                              float(vals[5]), float(vals[6])))
        return results
