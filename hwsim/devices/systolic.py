"""The systolic-array device: any rows x cols array, OS/WS/IS dataflows, double-buffered
ifmap/filter/ofmap SRAMs filled over one shared DRAM channel.

Compute cycles equal SCALE-Sim v3's "Total Cycles" (closed forms in
:mod:`hwsim.devices.systolic_timing`). Around them the SimPy model adds what the memory
system costs:

- Folds (one array-sized mapping of a GEMM) are grouped into tiles: consecutive folds whose
  new operand data fits in one half of each double-buffered SRAM. A DMA process loads the
  next tile while the array computes the current one; the array stalls when the load is late,
  and when the ofmap writer has not drained the previous result yet.
- An operand tile is fetched from DRAM when it changes from one fold to the next, or, when
  the whole operand fits in its SRAM, only the first time it is used.
- ``bandwidth_words=None`` is SCALE-Sim's CALC mode: DRAM never stalls the array; only the
  first prefetch and the ofmap write-out after the last compute cycle add to
  ``total_cycles``, both timed as SCALE-Sim 3.0.0's memory system times them
  (:func:`~hwsim.devices.systolic_timing.calc_prefetch_cycles`,
  :func:`~hwsim.devices.systolic_timing.calc_drain_cycles`), so ``total_cycles`` equals its
  "Total Cycles (incl. prefetch)" exactly (tests check it live, narrow and tall arrays and
  small SRAMs included). That write-out follows SCALE-Sim, not our tiles: in WS/IS it counts
  the partial sums every row fold writes, and part of it may drain during compute. The
  trace's ofmap bytes stay the final outputs of the last tile.
- With a bandwidth limit the array stalls when a tile's operands arrive late or the ofmap
  writer falls behind (``memory_model="tiles"``, the default). SCALE-Sim's USER bandwidth
  mode stalls far more on operands larger than half their SRAM: its buffers keep a window of
  1/100-SRAM "sets" of the operand, slide it through the operand in prefetch order, evict
  what a later fold re-reads (the OS ifmap once per column fold), chain every refill behind
  the previous one and count each late refill twice (:mod:`hwsim.devices.scalesim_memory`).
  ``memory_model="scalesim"`` replays that bookkeeping and uses its stall cycles, which equal
  SCALE-Sim 3.0.0's exactly on GEMM topologies (tests check it live; a conv replays its
  equivalent GEMM, within 0.2% of SCALE-Sim's conv run); the tile schedule still sets the
  traffic, the prefetch lead and the write-out tail, and the trace shows the stalls as one
  slice after the last compute tile. It is a compatibility model (bookkeeping, not
  hardware) and costs one numpy pass per demanded cycle.
- Each layer starts with empty buffers and ends drained (as SCALE-Sim simulates layers), so
  layers with the same shape are simulated once and replayed.

Ops the array cannot run (softmax, norms, elementwise, pooling, embedding lookups) go to a
vector unit beside it, documented fallback: ``max(flops / vector_lanes, bytes / DRAM
bandwidth)`` cycles; views cost nothing. Training ops (backward, weight update) are refused.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import simpy

from hwsim.devices import scalesim_memory
from hwsim.devices.systolic_timing import (
    CALC_PREFETCH_WORDS,
    DATAFLOWS,
    Gemm,
    calc_drain_cycles,
    calc_prefetch_cycles,
    check_dataflow,
    compute_cycles,
    cycles_per_fold,
    first_demand_cycle,
    fold_counts,
    fold_traffic,
    mapping,
)
from hwsim.engine.resources import ComputeUnit, DoubleBuffer, MemoryLevel, MemorySpec
from hwsim.engine.result import OpResult, RunResult
from hwsim.engine.trace import TraceRecord, TraceSink, busy_cycles, bytes_moved
from hwsim.errors import HwsimError

#: how stalls under a bandwidth limit are computed: our tile schedule (default), or a replay of
#: SCALE-Sim 3.0.0's USER-mode read/write buffers (:mod:`hwsim.devices.scalesim_memory`)
MEMORY_MODELS: tuple[str, ...] = ("tiles", "scalesim")


@dataclass(frozen=True)
class SystolicSpec:
    """A systolic array and its memories. Defaults are SCALE-Sim's example config
    (configs/scale.cfg: 32x32, 64 KiB per SRAM, 10 words/cycle); the clock is an assumption
    (SCALE-Sim has none)."""

    rows: int = 32
    cols: int = 32
    dataflow: str = "os"
    sram_kb: tuple[int, int, int] = (64, 64, 64)  # ifmap, filter, ofmap (KiB)
    bandwidth_words: float | None = None  # DRAM words/cycle; None = SCALE-Sim CALC mode
    clock_mhz: float = 200.0
    name: str = "systolic"
    vector_lanes: int | None = None  # fallback unit width; None = cols
    pe: str = "mac"  # label of the PE kind (the FPGA presets name theirs)
    memory_model: str = "tiles"  # stalls under a bandwidth limit; see MEMORY_MODELS

    def __post_init__(self) -> None:
        for f in ("rows", "cols"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"systolic array: {f} must be a positive integer, got {v!r} "
                                 "(e.g. --array 32x32)")
        object.__setattr__(self, "dataflow", check_dataflow(self.dataflow))
        sram = tuple(self.sram_kb)
        if len(sram) != 3 or any(not isinstance(s, int | float) or s <= 0 for s in sram):
            raise HwsimError("systolic array: sram_kb must be three positive sizes in KiB "
                             f"(ifmap, filter, ofmap), got {self.sram_kb!r}")
        object.__setattr__(self, "sram_kb", sram)
        if self.bandwidth_words is not None and not self.bandwidth_words > 0:
            raise HwsimError(f"systolic array: bandwidth must be positive words/cycle, got "
                             f"{self.bandwidth_words!r}")
        if not self.clock_mhz > 0:
            raise HwsimError(f"systolic array: clock must be positive MHz, got {self.clock_mhz}")
        if self.vector_lanes is not None and self.vector_lanes < 1:
            raise HwsimError("systolic array: vector_lanes must be positive")
        if self.memory_model not in MEMORY_MODELS:
            raise HwsimError(f"systolic array: unknown memory model {self.memory_model!r}; "
                             f"known: {', '.join(MEMORY_MODELS)}")
        bw = self.bandwidth_words
        if self.memory_model == "scalesim" and bw is not None and int(bw) != bw:
            raise HwsimError("systolic array: memory_model='scalesim' needs a whole number "
                             f"of bandwidth words/cycle, got {bw!r}")

    @property
    def lanes(self) -> int:
        return self.vector_lanes or self.cols

    def sram_words(self, which: int, word_bits: int) -> int:
        """Words in SRAM ``which`` (0 ifmap, 1 filter, 2 ofmap)."""
        return int(self.sram_kb[which] * 1024 * 8 // word_bits)

    def half_words(self, which: int, word_bits: int) -> int:
        """Words in one half of SRAM ``which`` (0 ifmap, 1 filter, 2 ofmap)."""
        return self.sram_words(which, word_bits) // 2

    def describe(self) -> str:
        bw = "CALC" if self.bandwidth_words is None else f"{self.bandwidth_words:g} words/cycle"
        if self.bandwidth_words is not None and self.memory_model != "tiles":
            bw += f" ({self.memory_model} memory model)"
        return (f"{self.name} {self.rows}x{self.cols} {self.dataflow}, SRAM "
                f"{'/'.join(f'{s:g}' for s in self.sram_kb)} KiB, DRAM {bw}, "
                f"{self.clock_mhz:g} MHz")


def parse_array(text: str) -> tuple[int, int]:
    """``"32x32"`` -> (32, 32), with the project's error for anything else."""
    parts = str(text).lower().replace("*", "x").split("x")
    try:
        r, c = (int(p) for p in parts)
    except ValueError:
        raise HwsimError(f"--array must look like ROWSxCOLS (e.g. 32x32), got {text!r}") from None
    if r < 1 or c < 1:
        raise HwsimError(f"--array needs at least 1 row and 1 column, got {text!r}")
    return r, c


# --- ops -> GEMMs --------------------------------------------------------------------------

@dataclass(frozen=True)
class Lowered:
    """An op as the array sees it: GEMMs in order, or work for the vector unit."""

    gemms: tuple[Gemm, ...] = ()
    vector_flops: int = 0
    vector_bytes: float = 0.0
    word_bits: int = 8
    out_bits: int = 8
    detail: str = ""


def _bits(fmt: str | None) -> int:
    from workloads import format_bits

    return max(1, math.ceil(format_bits(fmt))) if fmt else 8


def lower_op(op: Any) -> Lowered:
    """How the array runs ``op`` (a :class:`workloads.Op`)."""
    from workloads import Attention, Backward, Conv2d, MatMul, View, WeightUpdate

    fmt = op.fmt
    wb = max(_bits(fmt.x), _bits(fmt.w)) if fmt is not None else 8
    ob = _bits(fmt.y) if fmt is not None else 8
    if isinstance(op, Backward | WeightUpdate):
        raise HwsimError(f"{op.where}: the systolic device runs inference only; training ops "
                         "(backward, weight update) are not supported")
    if isinstance(op, MatMul):
        rep = math.prod(op.batch)
        return Lowered((Gemm(op.m, op.k, op.n, rep),), word_bits=wb, out_bits=ob,
                       detail=f"{rep}x GEMM {op.m}x{op.k}x{op.n}" if rep > 1 else
                       f"GEMM {op.m}x{op.k}x{op.n}")
    if isinstance(op, Conv2d):
        n, c, _, _ = op.x_shape
        _, cout, ho, wo = op.out_shape
        kh, kw = op.kernel
        g = op.groups
        gm = Gemm(n * ho * wo, kh * kw * (c // g), cout // g, g)
        return Lowered((gm,), word_bits=wb, out_bits=ob,
                       detail=f"{f'{g}x ' if g > 1 else ''}GEMM {gm.m}x{gm.k}x{gm.n} (im2col)")
    if isinstance(op, Attention):
        rep = op.batch * op.heads
        qk = Gemm(op.q_len, op.head_dim, op.kv_len, rep)
        pv = Gemm(op.q_len, op.kv_len, op.head_dim, rep)
        return Lowered((qk, pv), vector_flops=op.flops - 2 * (qk.macs + pv.macs),
                       vector_bytes=0.0, word_bits=wb, out_bits=ob,
                       detail=f"{rep}x (QK^T {qk.m}x{qk.k}x{qk.n} + PV {pv.m}x{pv.k}x{pv.n}); "
                              "softmax on the vector unit; causal mask not exploited")
    if isinstance(op, View):
        return Lowered(detail="view: no data movement")
    return Lowered(vector_flops=op.flops, vector_bytes=op.bytes_read + op.bytes_written,
                   word_bits=wb, out_bits=ob, detail="vector unit (array cannot run it)")


# --- tiles ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tile:
    """Consecutive folds computed back to back, with the DRAM traffic they need first."""

    folds: int
    cycles: int
    macs: int
    ifmap_load_words: int
    filter_load_words: int
    ofmap_write_words: int
    sram_words: int


def plan_tiles(g: Gemm, spec: SystolicSpec, word_bits: int) -> list[Tile]:
    """Group one GEMM instance's folds into tiles (see the module doc for the rules)."""
    rows, cols, df = spec.rows, spec.cols, spec.dataflow
    sr, sc, t = mapping(g, df)
    rf, cf = fold_counts(g, rows, cols, df)
    per_fold = cycles_per_fold(g, rows, cols, df)
    halves = [spec.half_words(i, word_bits) for i in range(3)]
    need = rows * cols
    for i, what in enumerate(("ifmap", "filter", "ofmap")):
        if halves[i] < need:
            raise HwsimError(
                f"{what} SRAM of {spec.sram_kb[i]:g} KiB is too small for one {rows}x{cols} "
                f"tile of {word_bits}-bit words: each half of its double buffer must hold "
                f"{need} words ({math.ceil(2 * need * word_bits / 8 / 1024)} KiB in all)")
    ifmap_total, filter_total = g.m * g.k, g.k * g.n
    ifmap_fits = ifmap_total <= 2 * halves[0]
    filter_fits = filter_total <= 2 * halves[1]
    seen_i: set = set()
    seen_f: set = set()
    prev_i: Any = None
    prev_f: Any = None
    tiles: list[Tile] = []
    cur = [0, 0, 0, 0, 0, 0, 0]  # folds, macs, ifmap, filter, ofmap, sram, cycles

    def close() -> None:
        if cur[0]:
            tiles.append(Tile(cur[0], cur[6], cur[1], cur[2], cur[3], cur[4], cur[5]))
            for j in range(7):
                cur[j] = 0

    for fc in range(cf):
        for fr in range(rf):
            tr = fold_traffic(g, rows, cols, df, fr, fc)
            if df == "os":
                key_i, key_f = fr, fc
                load_i, load_f = tr.ifmap_words, tr.filter_words
                out_w = tr.ofmap_words
            elif df == "ws":
                key_i, key_f = fr, (fr, fc)
                load_i, load_f = tr.ifmap_words, tr.filter_words
                out_w = tr.ofmap_words if fr == rf - 1 else 0
            else:
                key_i, key_f = (fr, fc), fr
                load_i, load_f = tr.ifmap_words, tr.filter_words
                out_w = tr.ofmap_words if fr == rf - 1 else 0
            li = 0 if (key_i in seen_i if ifmap_fits else key_i == prev_i) else load_i
            lf = 0 if (key_f in seen_f if filter_fits else key_f == prev_f) else load_f
            seen_i.add(key_i)
            seen_f.add(key_f)
            prev_i, prev_f = key_i, key_f
            if cur[0] and (cur[2] + li > halves[0] or cur[3] + lf > halves[1]
                           or cur[4] + out_w > halves[2]):
                close()
            r_used = min(rows, sr - fr * rows)
            c_used = min(cols, sc - fc * cols)
            cur[0] += 1
            cur[1] += r_used * c_used * t
            cur[2] += li
            cur[3] += lf
            cur[4] += out_w
            cur[5] += tr.ifmap_words + tr.filter_words + tr.ofmap_words
            cur[6] += per_fold
    close()
    # SCALE-Sim counts the index of the last cycle: the last tile ends one cycle early
    last = tiles[-1]
    tiles[-1] = replace(last, cycles=last.cycles - 1)
    return tiles


# --- the SimPy model -----------------------------------------------------------------------

class SystolicArray:
    """The array, its double buffers and the DRAM channel, on an explicit ``env``."""

    def __init__(self, env: simpy.Environment, spec: SystolicSpec, sink: TraceSink) -> None:
        self.env = env
        self.spec = spec
        self.sink = sink
        self.array = ComputeUnit(env, "array", sink)
        self.vector = ComputeUnit(env, "vector", sink)
        # CALC mode gives ifmap and filter their own interface for the first prefetch
        ch = 2 if spec.bandwidth_words is None else 1
        self.dram = MemoryLevel(env, MemorySpec("dram", None, None, channels=ch), sink)

    def _words_cycles(self, words: int, words_per_cycle: float | None) -> int:
        if words <= 0 or words_per_cycle is None:
            return 0
        return math.ceil(words / words_per_cycle)

    def run_gemm(self, tiles: list[Tile], op: str, word_bits: int, out_bits: int,
                 g: Gemm) -> Generator[Any, Any, dict[str, int]]:
        """Process: load, compute and write back one GEMM instance; returns its stalls."""
        env, spec = self.env, self.spec
        calc = spec.bandwidth_words is None
        inbuf = DoubleBuffer(env, "operands", 0)
        outbuf = DoubleBuffer(env, "ofmap", 0)
        stats = {"stall": 0, "first_compute": -1}

        def load_cycles(what: int, words: int, first: bool) -> int:
            if calc:
                if not first:
                    return 0
                total = g.m * g.k if what == 0 else g.k * g.n
                first_read = first_demand_cycle(g, spec.rows, spec.dataflow,
                                                ("ifmap", "filter")[what])
                return calc_prefetch_cycles(total, spec.sram_words(what, word_bits), first_read)
            return self._words_cycles(words, spec.bandwidth_words)

        def loader() -> Generator[Any, Any, None]:
            for i, tl in enumerate(tiles):
                loads = [self.dram.transfer(math.ceil(words * word_bits / 8),
                                            f"load {what} t{i}", op,
                                            cycles=load_cycles(j, words, i == 0))
                         for j, (what, words) in enumerate((("ifmap", tl.ifmap_load_words),
                                                           ("filter", tl.filter_load_words)))
                         if words]
                if calc and i == 0 and len(loads) > 1:
                    # SCALE-Sim prefetches each operand over its own interface
                    yield simpy.AllOf(env, [env.process(p) for p in loads])
                else:
                    for p in loads:
                        yield from p
                yield inbuf.put(i)

        def writer() -> Generator[Any, Any, None]:
            n_out = sum(1 for tl in tiles if tl.ofmap_write_words)
            for k in range(n_out):
                i, words = yield outbuf.get()
                last = k == n_out - 1
                if calc:
                    # SCALE-Sim's write-out past the last compute cycle. It is negative only
                    # if a drain emptied the buffer before that cycle (possible only when
                    # half the ofmap SRAM is not a multiple of cols); that case counts 0
                    cyc = max(0, calc_drain_cycles(g, spec.rows, spec.cols, spec.dataflow,
                                                   spec.sram_words(2, out_bits))) if last else 0
                else:
                    cyc = self._words_cycles(words, spec.bandwidth_words)
                yield from self.dram.transfer(math.ceil(words * out_bits / 8),
                                              f"write ofmap t{i}", op, cycles=cyc)

        def compute() -> Generator[Any, Any, None]:
            for i, tl in enumerate(tiles):
                t0 = env.now
                yield inbuf.get()
                if i and env.now > t0:
                    self.sink.append(TraceRecord("array", "stall", "wait operands", int(t0),
                                                 int(env.now), op))
                    stats["stall"] += int(env.now - t0)
                if i == 0:
                    stats["first_compute"] = int(env.now)
                yield from self.array.run_tile(
                    tl.cycles, f"{tl.folds} folds", op, macs=tl.macs,
                    sram_bytes=math.ceil(tl.sram_words * word_bits / 8))
                if tl.ofmap_write_words:
                    t1 = env.now
                    yield outbuf.put((i, tl.ofmap_write_words))
                    if env.now > t1:
                        self.sink.append(TraceRecord("array", "stall", "wait ofmap drain",
                                                     int(t1), int(env.now), op))
                        stats["stall"] += int(env.now - t1)

        procs = [env.process(loader()), env.process(compute()), env.process(writer())]
        yield simpy.AllOf(env, procs)
        return stats

    def run_vector(self, low: Lowered, op: str) -> Generator[Any, Any, None]:
        spec = self.spec
        cyc = math.ceil(low.vector_flops / spec.lanes)
        if spec.bandwidth_words is not None and low.vector_bytes:
            bw_bytes = spec.bandwidth_words * low.word_bits / 8
            cyc = max(cyc, math.ceil(low.vector_bytes / bw_bytes))
        yield from self.vector.run_tile(cyc, "vector", op, kind="vector")


@dataclass(frozen=True)
class _Instance:
    """One simulated GEMM instance (or vector op), relative to its own start."""

    total: int
    compute: int
    stall: int
    macs: int
    records: tuple[TraceRecord, ...]


def _simulate_gemm(g: Gemm, spec: SystolicSpec, word_bits: int, out_bits: int) -> _Instance:
    env = simpy.Environment()
    sink = TraceSink()
    dev = SystolicArray(env, spec, sink)
    one = replace(g, repeat=1)
    tiles = plan_tiles(one, spec, word_bits)
    proc = env.process(dev.run_gemm(tiles, "", word_bits, out_bits, one))
    env.run()
    stats = proc.value
    compute = compute_cycles(one, spec.rows, spec.cols, spec.dataflow)
    if spec.memory_model == "scalesim" and spec.bandwidth_words is not None:
        # keep the tile schedule's traffic, lead and tail; swap its stalls for SCALE-Sim's
        sram = (spec.sram_words(0, word_bits), spec.sram_words(1, word_bits),
                spec.sram_words(2, out_bits))
        stall = scalesim_memory.stall_cycles(one, spec.rows, spec.cols, spec.dataflow, sram,
                                             int(spec.bandwidth_words))
        records = [r for r in sink.records if r.kind != "stall"]
        last = max((r.end for r in records if r.resource == "array"), default=0)
        if stall:
            records.append(TraceRecord("array", "stall", "SCALE-Sim memory model", last,
                                       last + stall))
        total = int(env.now) - stats["stall"] + stall
        return _Instance(total, compute, stall, one.macs, tuple(records))
    return _Instance(int(env.now), compute, stats["stall"], one.macs, tuple(sink.records))


def _simulate_vector(low: Lowered, spec: SystolicSpec) -> _Instance:
    env = simpy.Environment()
    sink = TraceSink()
    dev = SystolicArray(env, spec, sink)
    env.process(dev.run_vector(low, ""))
    env.run()
    return _Instance(int(env.now), 0, 0, 0, tuple(sink.records))


@dataclass
class _Acc:
    energy: dict[str, float] = field(default_factory=lambda: {"mac": 0.0, "sram": 0.0,
                                                               "dram": 0.0})
    busy: dict[str, int] = field(default_factory=dict)
    moved: dict[str, int] = field(default_factory=dict)


def _mac_energy(costs: Any) -> Any:
    """``fmt -> pJ`` per MAC from a cost provider, asked once per format.

    A block format's MAC is priced as its element format's MAC (the shared-scale logic is
    not counted), and the MAC of an op is priced by its activation format ``x``.
    """
    memo: dict[Any, float] = {}

    def pj(fmt: str) -> float:
        from costmodel.provider import Op
        from hwsim.numerics import BlockFormat, resolve

        f = resolve(fmt)  # keyed by the format, not its spelling: aliases share one entry
        elem = f.element if isinstance(f, BlockFormat) else f
        if elem not in memo:
            memo[elem] = costs.energy_pj(Op("mac", elem.name))
        return memo[elem]

    return pj


def simulate(ops: Iterable[Any], spec: SystolicSpec, *, workload: str = "ops",
             keep_trace: bool = False, costs: Any = None) -> RunResult:
    """Simulate ``ops`` (a :class:`workloads.Graph`'s ops, in order) on the array.

    Each distinct GEMM shape is simulated once (layers start empty and end drained, so a
    repeat is the same schedule shifted in time); statistics come from its trace records.
    ``costs`` is the :class:`costmodel.provider.CostProvider` that prices a MAC (default:
    the analytical Horowitz 45 nm one; ``get_provider("learned")`` asks the trained model).
    """
    from costmodel.provider import AnalyticalCostProvider, Op

    if costs is None:
        costs = AnalyticalCostProvider()
    mac_energy_pj = _mac_energy(costs)
    etab = {f"{lv}_pj_per_byte": costs.energy_pj(Op("access", level=lv))
            for lv in ("sram", "dram")}
    cache: dict[tuple, _Instance] = {}
    acc = _Acc()
    results: list[OpResult] = []
    trace: list[TraceRecord] = []
    now = 0
    total_compute = total_stall = total_macs = 0
    vector_ops = 0
    for op in ops:
        low = lower_op(op)
        start = now
        op_compute = op_stall = op_macs = op_dram = 0
        op_energy = 0.0
        parts: list[tuple[_Instance, int]] = []
        for g in low.gemms:
            key = ("gemm", g.m, g.k, g.n, low.word_bits, low.out_bits)
            if key not in cache:
                cache[key] = _simulate_gemm(g, spec, low.word_bits, low.out_bits)
            parts.append((cache[key], g.repeat))
        if low.vector_flops or low.vector_bytes:
            key = ("vec", low.vector_flops, low.vector_bytes, low.word_bits)
            if key not in cache:
                cache[key] = _simulate_vector(low, spec)
            parts.append((cache[key], 1))
            vector_ops += 1
        mac_pj = mac_energy_pj(op.fmt.x) if op.fmt is not None else 0.0
        for inst, rep in parts:
            sram = sum(r.sram_bytes for r in inst.records)
            dram = sum(r.nbytes for r in inst.records if r.kind == "transfer")
            e = (inst.macs * mac_pj, sram * etab["sram_pj_per_byte"],
                 dram * etab["dram_pj_per_byte"])
            for k, v in zip(("mac", "sram", "dram"), e, strict=True):
                acc.energy[k] += rep * v
            op_energy += rep * sum(e)
            for res, b in busy_cycles(inst.records).items():
                acc.busy[res] = acc.busy.get(res, 0) + rep * b
            for res, b in bytes_moved(inst.records).items():
                acc.moved[res] = acc.moved.get(res, 0) + rep * b
            op_compute += rep * inst.compute
            op_stall += rep * inst.stall
            op_macs += rep * inst.macs
            op_dram += rep * dram
            if keep_trace:
                for _ in range(rep):
                    trace.extend(r.shifted(now, op.name) for r in inst.records)
                    now += inst.total
            else:
                now += rep * inst.total
        total_compute += op_compute
        total_stall += op_stall
        total_macs += op_macs
        unit = "array" if low.gemms else ("vector" if parts else "none")
        results.append(OpResult(
            name=op.name, op_type=op.OP_TYPE, unit=unit, macs=op_macs,
            compute_cycles=op_compute, total_cycles=now - start, stall_cycles=op_stall,
            start_cycle=start, dram_bytes=op_dram, energy_pj=op_energy,
            utilisation=op_macs / (spec.rows * spec.cols * op_compute) if op_compute else 0.0,
            detail=low.detail))
    notes = []
    if vector_ops:
        notes.append(f"{vector_ops} ops ran on the vector-unit fallback ({spec.lanes} lanes)")
    if spec.bandwidth_words is not None and spec.memory_model == "scalesim":
        notes.append("stalls from SCALE-Sim 3.0.0's USER-bandwidth buffer model "
                     "(memory_model='scalesim'), shown as one slice per layer")
    if spec.bandwidth_words is None:
        notes.append("DRAM in SCALE-Sim CALC mode: no stalls; only the first prefetch and the "
                     "last ofmap drain of each layer add to total_cycles")
    return RunResult(
        device=spec.describe(), workload=workload, clock_mhz=spec.clock_mhz,
        total_cycles=now, compute_cycles=total_compute, stall_cycles=total_stall,
        macs=total_macs, peak_macs_per_cycle=spec.rows * spec.cols,
        energy_pj=acc.energy, busy_cycles=acc.busy, bytes_moved=acc.moved,
        ops=tuple(results), trace=tuple(trace), notes=tuple(notes), energy_source=costs.name)


def simulate_gemm(m: int, k: int, n: int, spec: SystolicSpec, *, fmt: str = "int8",
                  keep_trace: bool = False) -> RunResult:
    """One ``M x K`` by ``K x N`` GEMM (a weight matmul in ``fmt``)."""
    from workloads import MatMul, OpFormats

    acc = "int32" if fmt.startswith("int") else "fp32"
    op = MatMul(name="gemm", a_shape=(m, k), b_shape=(k, n),
                fmt=OpFormats(x=fmt, w=fmt, y=fmt, acc=acc))
    return simulate([op], spec, workload=f"gemm {m}x{k}x{n}", keep_trace=keep_trace)


__all__ = ["CALC_PREFETCH_WORDS", "DATAFLOWS", "MEMORY_MODELS", "Lowered", "SystolicArray",
           "SystolicSpec", "Tile", "lower_op", "parse_array", "plan_tiles", "simulate",
           "simulate_gemm"]
