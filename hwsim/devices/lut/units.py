"""The synthesised LUT and MAC units (``hwsim/data/lut_unit_yosys.yaml``) as the devices use
them: LUT-unit vs MAC-unit throughput per unit area and energy per operation, for one weight
width and activation format.

The table is written by ``sim_results/lut_tensor_core/synth_units.py`` (Yosys on the
``lut-mpgemm`` + ``lut-precompute`` units and on a MAC slice doing the same work with
dequantisation). Each row is a group of entries: the unit (lut | mac: an entry named one of
:data:`UNIT_KEYS`, or the row name's prefix), ``weight_bits``,
``act_format``, ``M``, ``N``, ``K``, an area, ``cells``, a delay, an energy per op (may be
absent) and ``ops_per_cycle``.

What the devices take from it, and nothing else: *ratios* of LUT to MAC at the same weight
width and activation format, so that the unit of area and the cell library cancel.
Bit-serial weights are the devices' own rule (:func:`planes`): a LUT tile completes one
weight bit-plane of ``M x N x K`` products per cycle, so its rate for ``b``-bit weights is
its plane rate over ``b``; the table's ``ops_per_cycle`` is checked against that tile
(:func:`ops_per_product`) and only used for its operations-per-product convention.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hwsim.errors import HwsimError
from hwsim.sourced import Table, load_table

TABLE = "data/lut_unit_yosys.yaml"
#: activation formats with a LUT path (the table sums are built in these formats)
LUT_ACT_FORMATS = ("int8", "fp16")
#: weight widths the bit-serial LUT tile takes (W1.58 is stored as 2 bits: two planes)
WEIGHT_BITS = (1, 2, 3, 4)
#: the authors' tile (M, N, K): github Hamerlate/lut_tensor_core, sv_lut_array/rtl
PAPER_TILE = (2, 64, 4)
#: entry names that may hold a row's unit kind (``unit`` itself is a sourced-entry field)
UNIT_KEYS = ("kind", "unit_kind", "family", "type")


@dataclass(frozen=True)
class UnitRow:
    """One synthesised unit: a LUT tile (+ its precompute) or a MAC slice doing its work."""

    unit: str
    weight_bits: int
    act_format: str
    m: int
    n: int
    k: int
    area: float
    cells: int
    delay: float
    ops_per_cycle: float
    energy_pj_per_op: float | None

    @property
    def ops_per_area(self) -> float:
        """Operations (weight x activation products) per cycle per unit of area."""
        return self.ops_per_cycle / self.area


def planes(weight_bits: float) -> int:
    """Bit-planes a bit-serial LUT tile runs for ``weight_bits``-bit weights (W1.58 as the
    2-bit code it is stored in)."""
    return max(1, math.ceil(weight_bits - 1e-9))


def check_lut_operands(x: str | None, w: str | None, where: str) -> int:
    """The weight bit-planes of a GEMM with activations ``x`` and weights ``w`` on LUT
    units, or the project's error naming what a LUT path takes."""
    from hwsim.numerics import resolve
    from workloads import format_bits

    if w is None:
        raise HwsimError(f"{where}: a LUT unit needs a weight operand")
    fw = resolve(w)
    kind = getattr(fw, "kind", None)
    bits = format_bits(w)
    if kind != "int" or not 1 <= bits <= max(WEIGHT_BITS):
        raise HwsimError(f"{where}: weights {w} have no LUT path; LUT units take integer "
                         f"weights of {min(WEIGHT_BITS)}-{max(WEIGHT_BITS)} bits "
                         "(uint1, int2 for W1.58, int3, int4)")
    if x not in LUT_ACT_FORMATS:
        raise HwsimError(f"{where}: activations {x} have no LUT path; LUT tables are built in "
                         f"{' or '.join(LUT_ACT_FORMATS)}")
    return planes(bits)


def _num(group: dict, *names: str, where: str) -> float:
    for n in names:
        for key, e in group.items():
            if key.lower() == n or key.lower().startswith(n + "_"):
                if isinstance(e.value, int | float):
                    return float(e.value)
    raise HwsimError(f"{where}: no numeric entry among {', '.join(names)}")


def rows_of(table: Table) -> list[UnitRow]:
    """The LUT and MAC rows of a loaded table (see the module docstring for the schema);
    rows of other units (a precompute unit alone, a single MAC) are not comparisons and are
    skipped."""
    out = []
    for name in table.children():
        g = table.group(name)
        where = f"{table.where}: row {name!r}"
        low = {k.lower(): e for k, e in g.items()}
        kind = next((str(low[k].value) for k in UNIT_KEYS if k in low),
                    name.replace("-", "_").split("_")[0])
        if kind not in ("lut", "mac") or not {"weight_bits", "m", "n", "k"} <= set(low):
            continue
        act = next((str(e.value) for k, e in low.items() if k.startswith("act")), None)
        if act is None:
            raise HwsimError(f"{where}: no act_format entry")
        energy = None
        if any(k.startswith("energy") for k in low):
            energy = _num(g, "energy", where=where)
        delay = next((float(e.value) for k, e in low.items()
                      if k.startswith(("delay", "critical_path"))), float("nan"))
        cells = next((int(e.value) for k, e in low.items() if k.startswith("cells")), 0)
        out.append(UnitRow(
            unit=kind, weight_bits=int(_num(g, "weight_bits", where=where)),
            act_format=act, m=int(_num(g, "m", where=where)),
            n=int(_num(g, "n", where=where)), k=int(_num(g, "k", where=where)),
            area=_num(g, "area", where=where), cells=cells, delay=delay,
            ops_per_cycle=_num(g, "ops_per_cycle", where=where), energy_pj_per_op=energy))
    if not out:
        raise HwsimError(f"{table.where}: no LUT or MAC rows")
    return out


def shipped_table() -> Table:
    """The Yosys table this package ships (the devices' source of LUT-vs-MAC ratios)."""
    return load_table("hwsim", TABLE)


@dataclass(frozen=True)
class LutVsMac:
    """LUT-unit vs MAC-unit figures at one (weight bits, activation format), from the table:
    ``plane_density`` is LUT bit-plane throughput per area over MAC throughput per area (a
    LUT area running one plane per cycle does ``plane_density`` times the products of the
    same area of MAC units); ``energy`` is LUT energy per product over MAC energy per
    product (None when the table has no energies)."""

    weight_bits: int
    act_format: str
    plane_density: float
    energy: float | None
    lut: UnitRow
    mac: UnitRow

    @property
    def density(self) -> float:
        """LUT throughput per area over MAC's for ``weight_bits``-bit weights (bit-serial)."""
        return self.plane_density / planes(self.weight_bits)


def ops_per_product(row: UnitRow) -> int:
    """How many operations the table counts per weight x activation product of a LUT row (1,
    or 2 for a multiply and an add), checked against the tile: its ``ops_per_cycle`` must be
    that many times ``M x N x K`` over its bit-planes (bit-serial), or times ``M x N x K`` (one
    plane per cycle). Anything else is refused: its convention would be unknown."""
    plane = row.m * row.n * row.k
    # bit-serial with 2 ops per product first (synth_units.py's convention), so that an
    # ambiguous W2 row (2 * MNK / 2 = MNK) reads the way the writer meant it
    for rate in (plane / planes(row.weight_bits), plane):
        for f in (2, 1):
            if math.isclose(row.ops_per_cycle, f * rate, rel_tol=1e-6):
                return f
    raise HwsimError(f"LUT row W{row.weight_bits} {row.act_format} {row.m}x{row.n}x{row.k}: "
                     f"ops_per_cycle {row.ops_per_cycle:g} is not 1 or 2 ops per product at "
                     f"M*N*K ({plane}) products per cycle or that over the weight bit-planes")


#: how a device gets the table (a function, so that tests can hand it another one)
TableSource = Callable[[], Table]


#: (id of the table, weight bits, activation format) -> (the table, the comparison); the
#: table is kept so that its id stays its own
_SEEN: dict[tuple[int, int, str], tuple[Table, LutVsMac]] = {}


def _compare(table: Table, weight_bits: int, act: str) -> LutVsMac:
    key = (id(table), weight_bits, act)
    if key not in _SEEN:
        _SEEN[key] = (table, _build(table, weight_bits, act))
    return _SEEN[key][1]


def _build(table: Table, weight_bits: int, act: str) -> LutVsMac:
    rows = rows_of(table)

    def cands(unit: str) -> list[UnitRow]:
        got = [r for r in rows if r.unit == unit and r.act_format == act]
        if not got:
            raise HwsimError(f"{table.where}: no synthesised {unit} unit with {act} "
                             f"activations; rows have {sorted({r.act_format for r in rows})}")
        return got

    def rank(r: UnitRow) -> tuple[bool, bool, float]:
        # the paper's tile first (a bit-serial tile is the same hardware at any width, so
        # its row at another width beats another tile at this one), then this width, then
        # the densest tile
        return ((r.m, r.n, r.k) != PAPER_TILE, r.weight_bits != weight_bits,
                -r.m * r.n * r.k / r.area)

    lut = min(cands("lut"), key=rank)
    # the MAC slice matched to that LUT row (same tile and width) if synthesised, else the
    # densest MAC slice (its products per area do not depend on the tile it is matched to)
    macs = cands("mac")
    mac = next((r for r in macs if (r.m, r.n, r.k, r.weight_bits)
                == (lut.m, lut.n, lut.k, lut.weight_bits)),
               max(macs, key=lambda r: r.ops_per_area))
    f = ops_per_product(lut)  # the table counts MAC rows' operations the same way
    lut_plane = lut.m * lut.n * lut.k  # products per cycle for one weight bit-plane
    plane = (lut_plane / lut.area) / (mac.ops_per_cycle / f / mac.area)
    energy = None
    if lut.energy_pj_per_op and mac.energy_pj_per_op:
        # energy per product for one plane, from the LUT row's energy per cycle
        per_plane = lut.energy_pj_per_op * lut.ops_per_cycle / lut_plane
        energy = per_plane * planes(weight_bits) / (mac.energy_pj_per_op * f)
    return LutVsMac(weight_bits, act, plane, energy, lut, mac)


def lut_vs_mac(weight_bits: int, act: str, source: TableSource = shipped_table) -> LutVsMac:
    """LUT vs MAC at ``weight_bits`` x ``act`` from the table ``source`` returns."""
    if act not in LUT_ACT_FORMATS:
        raise HwsimError(f"activations {act} have no LUT path; LUT tables are built in "
                         f"{' or '.join(LUT_ACT_FORMATS)}")
    if weight_bits not in WEIGHT_BITS:
        raise HwsimError(f"{weight_bits}-bit weights have no LUT path; allowed: "
                         f"{', '.join(map(str, WEIGHT_BITS))}")
    return _compare(source(), weight_bits, act)


__all__ = ["LUT_ACT_FORMATS", "PAPER_TILE", "TABLE", "WEIGHT_BITS", "LutVsMac", "TableSource",
           "UnitRow", "check_lut_operands", "lut_vs_mac", "ops_per_product", "planes", "rows_of",
           "shipped_table"]
