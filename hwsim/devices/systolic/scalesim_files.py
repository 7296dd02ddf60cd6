"""SCALE-Sim 3.0.0's own input files (``.cfg`` and topology CSV) and its three reports.

- :func:`read_config`: a ``.cfg`` read as 3.0.0's ``scale_config.read_conf_file`` reads it
  (``configparser``, keys case-insensitive, the same required keys), but strict: an unknown
  section or key, a missing one, a value that is not a whole number or not one of the allowed
  words raises :class:`~hwsim.errors.HwsimError` naming the file, the line and the key. In
  USER mode the ``[layout]`` ``IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth`` are the
  ifmap and filter read bandwidths (SCALE-Sim's ``single_layer_sim`` passes them to its read
  buffers; ``Bandwidth`` sets the ofmap write lines only), and each must be a multiple of its
  ``...SRAMBankNum`` (3.0.0 asserts it). The bank counts and ports change nothing else
  without a custom layout; address offsets and request-buffer sizes change nothing without
  Ramulator: those are checked and kept, not used. Sparsity, custom layouts and Ramulator
  traces are refused.
- :func:`read_topology`: a conv topology (``Layer name, IFMAP Height, IFMAP Width, Filter
  Height, Filter Width, Channels, Num Filter, Strides,``; the IFMAP size is already padded,
  a layer whose name contains ``DP`` is split into one layer per channel as 3.0.0 does) or a
  GEMM one (``Layer, M, N, K,``), as workload ops.
- :func:`replay_layers`: each layer through SCALE-Sim's memory system, replayed
  (:func:`hwsim.devices.systolic.scalesim_memory.replay`), and :func:`compute_report`,
  :func:`bandwidth_report`, :func:`detail_report`: the rows of COMPUTE_REPORT.csv,
  BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv, with 3.0.0's headers and number
  formatting (:func:`format_report`; cycles print as floats there, counts as integers).
  "Mapping Efficiency %" and "Compute Util %" are SCALE-Sim's per-fold averages (its
  bookkeeping, recomputed fold by fold in its order so the printed floats are the same);
  "Overall Util %" is MACs over array slots during "Total Cycles", which includes the stall
  cycles.
"""

from __future__ import annotations

import configparser
import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from hwsim.devices.systolic import scalesim_memory as sm
from hwsim.devices.systolic.spec import SystolicSpec
from hwsim.devices.systolic.timing import DATAFLOWS, mapping
from hwsim.engine.lowering import Gemm
from hwsim.errors import HwsimError

MAX_INPUT_BYTES = 1 << 22
#: above this many folds a layer's fold averages are computed in closed form (the last digit
#: of SCALE-Sim's float sum may then differ)
MAX_FOLDS_SUMMED = 1 << 20

#: the reports' header lines, as SCALE-Sim 3.0.0 writes them
COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, "
                  "Overall Util %, Mapping Efficiency %, Compute Util %,\n")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
DETAIL_HEADER = "LayerID, " + ", ".join(
    f"{level} {what} {col}" for level in ("SRAM", "DRAM")
    for what, verb in (("IFMAP", "Reads"), ("Filter", "Reads"), ("OFMAP", "Writes"))
    for col in ("Start Cycle", "Stop Cycle", verb)) + ",\n"

_INT, _BOOL, _WORD, _TEXT, _INTS = "int", "bool", "word", "text", "ints"
# section -> key (lower case, as configparser stores it) -> (spelling, kind, required)
_KEYS: dict[str, dict[str, tuple[str, str, bool]]] = {
    "general": {"run_name": ("run_name", _TEXT, True)},
    "architecture_presets": {k.lower(): (k, kind, req) for k, kind, req in [
        ("ArrayHeight", _INT, True), ("ArrayWidth", _INT, True),
        ("IfmapSramSzkB", _INT, True), ("FilterSramSzkB", _INT, True),
        ("OfmapSramSzkB", _INT, True), ("IfmapOffset", _INT, True),
        ("FilterOffset", _INT, True), ("OfmapOffset", _INT, True),
        ("Dataflow", _WORD, True), ("ReadRequestBuffer", _INT, True),
        ("WriteRequestBuffer", _INT, True), ("Bandwidth", _INTS, False),
        ("MemoryBanks", _INT, False)]},
    "layout": {k.lower(): (k, kind, True) for k, kind in [
        ("IfmapCustomLayout", _BOOL), ("IfmapSRAMBankBandwidth", _INT),
        ("IfmapSRAMBankNum", _INT), ("IfmapSRAMBankPort", _INT),
        ("FilterCustomLayout", _BOOL), ("FilterSRAMBankBandwidth", _INT),
        ("FilterSRAMBankNum", _INT), ("FilterSRAMBankPort", _INT)]},
    "sparsity": {k.lower(): (k, kind, req) for k, kind, req in [
        ("SparsitySupport", _TEXT, True), ("SparseRep", _TEXT, False),
        ("OptimizedMapping", _TEXT, False), ("BlockSize", _INT, False),
        ("NonZeroElems", _INT, False), ("RandomNumberGeneratorSeed", _INT, False)]},
    "run_presets": {k.lower(): (k, kind, True) for k, kind in [
        ("InterfaceBandwidth", _WORD), ("UseRamulatorTrace", _TEXT)]},
    "network_presets": {"topologycsvloc": ("TopologyCsvLoc", _TEXT, False),
                        "layoutcsvloc": ("LayoutCsvLoc", _TEXT, False)},
}
_OPTIONAL_SECTIONS = ("network_presets",)
_WORDS = {"dataflow": DATAFLOWS, "interfacebandwidth": ("CALC", "USER")}


@dataclass(frozen=True)
class ScaleSimConfig:
    """What a SCALE-Sim ``.cfg`` holds, by its keys (lower case) and typed values."""

    path: str
    values: dict[str, dict[str, object]] = field(repr=False)

    def get(self, section: str, key: str) -> object:
        return self.values[section].get(key.lower())

    @property
    def run_name(self) -> str:
        return str(self.get("general", "run_name"))

    @property
    def user_bandwidth(self) -> bool:
        return self.get("run_presets", "InterfaceBandwidth") == "USER"

    @property
    def sram_words(self) -> tuple[int, int, int]:
        """SRAM sizes in SCALE-Sim's one-byte words (ifmap, filter, ofmap)."""
        a = self.values["architecture_presets"]
        return tuple(a[f"{x}sramszkb"] * 1024 for x in ("ifmap", "filter", "ofmap"))

    @property
    def bandwidths(self) -> tuple[int, int, int] | None:
        """USER mode's (ifmap, filter, ofmap) words/cycle as SCALE-Sim uses them; None in CALC."""
        if not self.user_bandwidth:
            return None
        return (self.get("layout", "IfmapSRAMBankBandwidth"),
                self.get("layout", "FilterSRAMBankBandwidth"),
                self.values["architecture_presets"]["bandwidth"][0])

    def spec_fields(self) -> dict[str, object]:
        """The ``systolic`` device's fields this config sets (for ``get_device``)."""
        a = self.values["architecture_presets"]
        out: dict[str, object] = {
            "rows": a["arrayheight"], "cols": a["arraywidth"], "dataflow": a["dataflow"],
            "sram_kb": (a["ifmapsramszkb"], a["filtersramszkb"], a["ofmapsramszkb"]),
        }
        if self.user_bandwidth:  # the device has one port: SCALE-Sim's Bandwidth
            out.update(bandwidth_words=a["bandwidth"][0], memory_model="scalesim")
        return out


def _read_text(path: str | Path, what: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise HwsimError(f"{what} {str(p)!r} does not exist or is not a file")
    if p.stat().st_size > MAX_INPUT_BYTES:
        raise HwsimError(f"{what} {str(p)!r} is larger than {MAX_INPUT_BYTES} bytes")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HwsimError(f"cannot read {what} {str(p)!r}: {exc}") from None


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, key) -> the line it is on (configparser keeps no line numbers)."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if m := re.fullmatch(r"\[([^\]]*)\]", s):
            section = m.group(1).strip()
            lines[(section, "")] = n
        elif s and not s.startswith(("#", ";")) and not line[0].isspace():
            key = re.split(r"[:=]", s, maxsplit=1)[0].strip().lower()
            lines.setdefault((section, key), n)
    return lines


def _value(where: str, spelling: str, kind: str, raw: str) -> object:
    text = raw.strip()
    if kind == _TEXT:
        return text
    if kind == _BOOL:
        states = configparser.ConfigParser.BOOLEAN_STATES
        if text.lower() not in states:
            raise HwsimError(f"{where}: {spelling} must be True or False, got {text!r}")
        return states[text.lower()]
    if kind == _WORD:
        allowed = _WORDS[spelling.lower()]
        word = text.lower() if spelling == "Dataflow" else text
        if word not in allowed:
            raise HwsimError(f"{where}: {spelling} must be one of {', '.join(allowed)}, "
                             f"got {text!r}")
        return word
    parts = text.split(",") if kind == _INTS else [text]
    try:
        nums = [int(p.strip()) for p in parts]
    except ValueError:
        raise HwsimError(f"{where}: {spelling} must be a whole number"
                         f"{' (or a comma-separated list)' if kind == _INTS else ''}, "
                         f"got {text!r}") from None
    if any(v < 0 for v in nums):
        raise HwsimError(f"{where}: {spelling} must not be negative, got {text!r}")
    return nums if kind == _INTS else nums[0]


def read_config(path: str | Path) -> ScaleSimConfig:
    """Parse a SCALE-Sim 3.0.0 ``.cfg`` (see the module doc); errors name file, line, key."""
    text = _read_text(path, "SCALE-Sim config")
    name = str(path)
    parser = configparser.ConfigParser(strict=True, interpolation=None)
    try:
        parser.read_string(text, source=name)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        msg = str(exc).splitlines()[0]
        where = f"{name}, line {line}" if line else name
        raise HwsimError(f"{where}: not a valid SCALE-Sim config: {msg}") from None
    lines = _key_lines(text)
    for section in parser.sections():
        if section not in _KEYS:
            raise HwsimError(f"{name}, line {lines.get((section, ''), '?')}: unknown section "
                             f"[{section}]; known: {', '.join(f'[{s}]' for s in _KEYS)}")
    values: dict[str, dict[str, object]] = {}
    for section, keys in _KEYS.items():
        if not parser.has_section(section):
            if section in _OPTIONAL_SECTIONS:
                values[section] = {}
                continue
            needed = ", ".join(f"[{s}]" for s in _KEYS if s not in _OPTIONAL_SECTIONS)
            raise HwsimError(f"{name}: missing section [{section}] (SCALE-Sim 3.0.0 needs "
                             f"{needed})")
        got: dict[str, object] = {}
        for key, raw in parser.items(section):
            where = f"{name}, line {lines.get((section, key), '?')}"
            if key not in keys:
                known = ", ".join(k[0] for k in keys.values())
                raise HwsimError(f"{where}: unknown key {key!r} in [{section}]; known: {known}")
            spelling, kind, _ = keys[key]
            got[key] = _value(f"{where}, [{section}] {spelling}", spelling, kind, raw)
        for key, (spelling, _, required) in keys.items():
            if required and key not in got:
                raise HwsimError(f"{name}, line {lines[(section, '')]}: [{section}] has no "
                                 f"{spelling} (SCALE-Sim 3.0.0 requires it)")
        values[section] = got
    run_name = str(values["general"]["run_name"])
    if run_name in ("", ".", "..") or any(ch in run_name for ch in "/\\\0"):
        raise HwsimError(f"{name}, line {lines.get(('general', 'run_name'), '?')}: run_name "
                         f"names the report's folder: a plain folder name, got {run_name!r}")
    cfg = ScaleSimConfig(name, values)
    _check_supported(cfg, lines)
    return cfg


def _check_supported(cfg: ScaleSimConfig, lines: dict[tuple[str, str], int]) -> None:
    def at(section: str, key: str) -> str:
        return f"{cfg.path}, line {lines.get((section, key.lower()), '?')}, [{section}] {key}"

    a = cfg.values["architecture_presets"]
    for key in ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB",
                "OfmapSramSzkB"):
        if a[key.lower()] < 1:
            raise HwsimError(f"{at('architecture_presets', key)}: must be at least 1")
    if cfg.user_bandwidth:
        bw = a.get("bandwidth")
        if not bw or bw[0] < 1:
            raise HwsimError(f"{at('architecture_presets', 'Bandwidth')}: InterfaceBandwidth "
                             "USER needs a positive Bandwidth (words/cycle)")
        for x in ("Ifmap", "Filter"):
            bank_bw = cfg.get("layout", f"{x}SRAMBankBandwidth")
            banks = cfg.get("layout", f"{x}SRAMBankNum")
            if bank_bw < 1 or banks < 1 or bank_bw % banks:
                raise HwsimError(
                    f"{at('layout', f'{x}SRAMBankBandwidth')}: InterfaceBandwidth USER reads "
                    f"the {x.lower()} at this many words/cycle; it must be a positive multiple "
                    f"of {x}SRAMBankNum ({banks}), got {bank_bw}")
    if cfg.get("sparsity", "SparsitySupport").lower() == "true":
        raise HwsimError(f"{at('sparsity', 'SparsitySupport')}: sparsity is not modelled by "
                         "hwsim yet; set it to false")
    if cfg.get("run_presets", "UseRamulatorTrace") == "True":
        raise HwsimError(f"{at('run_presets', 'UseRamulatorTrace')}: Ramulator traces are not "
                         "supported; set it to False")
    for key in ("IfmapCustomLayout", "FilterCustomLayout"):
        if cfg.get("layout", key):
            raise HwsimError(f"{at('layout', key)}: custom SRAM layouts are not supported yet; "
                             "set it to False")


@dataclass(frozen=True)
class Layer:
    """One topology row as a GEMM ``M x K`` times ``K x N`` (conv: im2col) and its op."""

    name: str
    line: int
    m: int
    k: int
    n: int
    op: object = field(repr=False)
    #: (IFMAP height, width, filter height, width, channels, filters, stride); None: a GEMM
    conv: tuple[int, ...] | None = None


_CONV_COLS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
              "Channels", "Num Filter", "Strides")
_GEMM_COLS = ("Layer", "M", "N", "K")


def read_topology(path: str | Path, *, gemm: bool) -> list[Layer]:
    """A SCALE-Sim topology CSV (conv, or GEMM ``M, N, K`` with ``gemm``) as layers.

    The first line is a header and blank lines are skipped, and what follows a row's last comma
    is ignored (SCALE-Sim's shipped topologies put comments there), as in SCALE-Sim; a row
    without a trailing comma is read too (3.0.0 would lose its last value); an optional
    sparsity ratio column (``N:M``) is ignored as 3.0.0 ignores it with sparsity off.
    """
    from workloads import Conv2d, MatMul

    name = str(path)
    cols = _GEMM_COLS if gemm else _CONV_COLS
    layers: list[Layer] = []
    for n, row in enumerate(_read_text(path, "SCALE-Sim topology").splitlines(), 1):
        if n == 1 or not row.strip():
            continue
        cells = [c.strip() for c in row.strip().split(",")]
        if len(cells) > len(cols):  # SCALE-Sim drops what follows the last comma ("#dw")
            cells.pop()
        if len(cells) == len(cols) + 1 and re.fullmatch(r"\d+:\d+", cells[-1]):
            cells.pop()
        where = f"{name}, line {n}"
        if len(cells) != len(cols):
            raise HwsimError(f"{where}: expected {len(cols)} columns ({', '.join(cols)}), got "
                             f"{len(cells)}: {row.strip()!r}")
        nums = []
        for col, cell in zip(cols[1:], cells[1:], strict=True):
            if not re.fullmatch(r"\d+", cell) or int(cell) < 1:
                raise HwsimError(f"{where}: {col} must be a positive whole number, got {cell!r}")
            nums.append(int(cell))
        label = cells[0] or f"layer{len(layers)}"
        if gemm:
            m, nn, k = nums
            op = MatMul(name=f"l{len(layers)}", a_shape=(m, k), b_shape=(k, nn))
            layers.append(Layer(label, n, m, k, nn, op.with_precision("int8")))
            continue
        h, w, kh, kw, c, cout, s = nums
        for key, f, x in (("Filter Height", kh, h), ("Filter Width", kw, w)):
            if f > x:
                raise HwsimError(f"{where}: {key} {f} is larger than the IFMAP's {x}")
        # SCALE-Sim has no padding and rounds a partial stride step up: ceil((H - kh)/s) + 1
        ho, wo = -(-(h - kh) // s) + 1, -(-(w - kw) // s) + 1
        pad = (0, 0, (ho - 1) * s + kh - h, (wo - 1) * s + kw - w)
        split = "DP" in label  # SCALE-Sim runs a depthwise layer as one layer per channel
        for ch in range(c if split else 1):
            op = Conv2d(name=f"l{len(layers)}", x_shape=(1, 1 if split else c, h, w),
                        out_channels=cout, kernel=(kh, kw), stride=s, padding=pad)
            layers.append(Layer(f"{label}Channel_{ch}" if split else label, n, ho * wo,
                                kh * kw * (1 if split else c), cout, op.with_precision("int8"),
                                (h, w, kh, kw, 1 if split else c, cout, s)))
    if not layers:
        raise HwsimError(f"{name}: no layers (the first line is the header: "
                         f"{', '.join(cols)})")
    return layers


def _fold_averages(layer: Layer, spec: SystolicSpec) -> tuple[float, float]:
    """SCALE-Sim's "Mapping Efficiency %" and "Compute Util %": per-fold fractions summed in
    its order (column folds outer), averaged, times 100."""
    sr, sc, t = mapping(Gemm(layer.m, layer.k, layer.n), spec.dataflow)
    r, c = spec.rows, spec.cols
    cycles = t + r + c - 2 if spec.dataflow == "os" else t + 2 * r + 2 * c - 3
    rf, cf = math.ceil(sr / r), math.ceil(sc / c)
    if rf * cf > MAX_FOLDS_SUMMED:  # SCALE-Sim would run for hours: the exact mean instead
        mean = Fraction(sr * sc, rf * cf * r * c)
        return float(mean * 100), float(mean * t / cycles * 100)
    maps, utils = [], []
    for fc in range(cf):
        for fr in range(rf):
            used = min(r, sr - fr * r) * min(c, sc - fc * c)
            maps.append(used / (r * c))
            utils.append(used * t / (r * c * cycles))
    return sum(maps) / len(maps) * 100, sum(utils) / len(utils) * 100


def replay_layers(layers: list[Layer], cfg: ScaleSimConfig,
                  max_cells: int = sm.MAX_DEMAND_CELLS) -> list[sm.LayerReplay]:
    """Each layer through SCALE-Sim's memory system as ``cfg`` sets it up (replayed; a layer
    above ``max_cells`` demand-matrix cells is refused with one error)."""
    a = cfg.values["architecture_presets"]
    out = []
    for layer in layers:
        ops = (sm.conv_operands(*layer.conv) if layer.conv else
               sm.gemm_operands(Gemm(layer.m, layer.k, layer.n)))
        out.append(sm.replay(*ops, a["arrayheight"], a["arraywidth"], a["dataflow"],
                             cfg.sram_words, cfg.bandwidths, max_cells=max_cells))
    return out


def compute_report(layers: list[Layer], replays: list[sm.LayerReplay],
                   spec: SystolicSpec) -> list[list[object]]:
    """COMPUTE_REPORT.csv's rows (after the header)."""
    rows = []
    for i, (layer, r) in enumerate(zip(layers, replays, strict=True)):
        macs = layer.m * layer.k * layer.n
        # 3.0.0 divides by "Total Cycles" and crashes on a one-cycle layer (it reads 0)
        util = macs * 100 / (r.total_cycles * spec.rows * spec.cols) if r.total_cycles else 0.0
        mapping_eff, compute_util = _fold_averages(layer, spec)
        rows.append([i, r.total_with_prefetch, r.total_cycles, r.stall_cycles, util,
                     mapping_eff, compute_util])
    return rows


def bandwidth_report(replays: list[sm.LayerReplay]) -> list[list[object]]:
    """BANDWIDTH_REPORT.csv's rows: SRAM words per "Total Cycles", DRAM words per cycle of
    each stream's own first-to-last span (SCALE-Sim's definitions)."""
    return [[i, *(a.count / r.total_cycles if r.total_cycles else 0.0 for a in r.sram),
             *(a.count / float(a.stop - a.start + 1) for a in r.dram)]
            for i, r in enumerate(replays)]


def detail_report(replays: list[sm.LayerReplay]) -> list[list[object]]:
    """DETAILED_ACCESS_REPORT.csv's rows: start and stop cycle (floats, as SCALE-Sim prints
    them) and words of each SRAM and DRAM stream."""
    return [[i, *(x for a in (*r.sram, *r.dram) for x in (float(a.start), float(a.stop),
                                                         a.count))]
            for i, r in enumerate(replays)]


def format_report(rows: list[list[object]], header: str = COMPUTE_HEADER) -> str:
    """A report's text, byte for byte as SCALE-Sim 3.0.0 writes it."""
    return header + "".join(", ".join(str(x) for x in r) + ",\n" for r in rows)


__all__ = ["BANDWIDTH_HEADER", "COMPUTE_HEADER", "DETAIL_HEADER", "Layer", "ScaleSimConfig",
           "bandwidth_report", "compute_report", "detail_report", "format_report", "read_config",
           "read_topology", "replay_layers"]
