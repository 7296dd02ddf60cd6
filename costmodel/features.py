"""Features of a design: from its parameters and from its PyRTL netlist.

The shipped model's features (:data:`FEATURES`) come from the parameters alone, in
microseconds: bit widths of the element, exponent, significand and accumulator, which let a
model place a format it has never seen between its neighbours, and the analytical structure of
:mod:`costmodel.structure` (significand product, shifters, normaliser, registers). Netlist
features are the dataset's columns (kept for analysis and its tests; no model reads them); they
come in two levels. Word-level ones count the bits of each kind of operator in the generated
PyRTL block (multiplier partial-product bits, adder bits, comparator bits, mux bits, register
bits); they take milliseconds. Gate-level ones count the 1-bit gates (and, or, xor, not) and
flip-flops left after PyRTL lowers the block to gates and propagates constants: a unit fed
constant or unused bits loses those gates, which word-level counts cannot see. They take 0.01-7
s per design (Yosys takes 1-500 s).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from costmodel.space import FAMILIES, DesignPoint
from costmodel.structure import (
    SHAPE_FEATURES,
    STRUCT_FEATURES,
    int_acc_bits,
    shape_vector,
    structure_features,
)
from hwsim.errors import HwsimError
from hwsim.numerics import BlockFormat, resolve

_ACC_FIELDS = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}


def format_fields(fmt: str) -> dict[str, float]:
    """Width features of an element, integer or block format name."""
    return dict(_format_fields(fmt))


@lru_cache(maxsize=4096)
def _format_fields(fmt: str) -> tuple[tuple[str, float], ...]:
    elem = resolve(fmt)
    block, scale_bits = 0.0, 0.0
    if isinstance(elem, BlockFormat):
        block, scale_bits = float(elem.block_size), float(elem.scale_bits)
        elem = elem.element
    if elem.kind == "int":
        bits = elem.total_bits
        exp_bits, man_bits, is_int, finite, fnuz, nan = 0, bits - 1, 1.0, 1.0, 0.0, 0.0
    else:
        exp_bits, man_bits, bits = elem.exp_bits, elem.man_bits, elem.total_bits
        is_int, finite = 0.0, float(not elem.has_inf)
        # the special codes: Inf or not, and NaN as IEEE's, one all-ones code, the negative
        # zero's code, or none at all (the MX FP4/FP6 elements: no special-value logic)
        fnuz, nan = float(elem.nan == "neg_zero"), float(elem.nan != "none")
    return (
        ("elem_bits", float(bits)), ("exp_bits", float(exp_bits)), ("man_bits", float(man_bits)),
        ("sig_bits", float(man_bits + 1)), ("is_int", is_int), ("is_block", float(block > 0)),
        ("finite_only", finite), ("fnuz", fnuz), ("has_nan", nan), ("scale_bits", scale_bits),
        ("fmt_block", block),
    )


def param_features(p: DesignPoint) -> dict[str, float]:
    """Features computed from the parameters alone (no netlist)."""
    f = dict(_format_fields(p.format))
    sig = f["sig_bits"]
    nblock = float(max(p.block, 1))
    acc_exp, acc_man = _ACC_FIELDS.get(p.acc, (0, 0))
    acc_bits = float(1 + acc_exp + acc_man) if p.unit == "mac" else 0.0
    if p.unit == "int-mac":
        acc_bits = float(int_acc_bits(p, int(f["elem_bits"])))
    lmul = float(p.mul == "lmul")
    multiplies = p.unit in ("minifloat-mul", "block-dot", "int-mul", "int-mac") or (
        p.unit == "mac" and not lmul)
    d = {f"unit_{u}": float(p.unit == u) for u in FAMILIES}
    d.update(f)
    d.update({
        "pipe_stages": float(p.pipeline),
        "sat_flag": float(p.saturate),
        "block_n": nblock,
        "acc_bits": acc_bits,
        "acc_exp_bits": float(acc_exp),
        "acc_man_bits": float(acc_man),
        "mul_lmul": lmul,
        "dir_to": float(p.direction == "to"),
        "dir_from": float(p.direction == "from"),
        # an array multiplier's partial products: (significand bits)^2 per element pair
        "prod_bits": (sig * sig * nblock) if multiplies else 0.0,
        "log2_sig": math.log2(sig),
    })
    return d


_LOGIC_OPS = "&|^n~"


def netlist_features(block: Any) -> dict[str, float]:
    """Operator bit counts of a PyRTL block (see the module docstring)."""
    mult = add = cmp_ = mux = logic = reg = nets = 0
    for net in block.logic:
        op = net.op
        width = len(net.dests[0]) if net.dests else 0
        if op == "*":
            mult += len(net.args[0]) * len(net.args[1])
        elif op in "+-":
            add += width
        elif op in "<>=":
            cmp_ += len(net.args[0])
        elif op == "x":
            mux += width
        elif op in _LOGIC_OPS:
            logic += width
        elif op == "r":
            reg += width
        if op not in "wcs":
            nets += 1
    import pyrtl  # lazy: start-up time; only netlist work needs PyRTL

    # PyRTL's own area estimate is a netlist feature (milliseconds, no synthesis); its delay
    # estimate is not used, being the delay target itself
    with pyrtl.set_working_block(block, no_sanity_check=True):
        area_mm2, _ = pyrtl.area_estimation(tech_in_nm=130, block=block)
    return {"pyrtl_area_mm2": float(area_mm2), "nl_mult_bits": float(mult),
            "nl_add_bits": float(add), "nl_cmp_bits": float(cmp_),
            "nl_mux_bits": float(mux), "nl_logic_bits": float(logic),
            "nl_reg_bits": float(reg), "nl_nets": float(nets)}


_GATE_OPS = {"&": "gl_and", "|": "gl_or", "^": "gl_xor", "~": "gl_not", "r": "gl_ff"}


def gate_features(block: Any) -> dict[str, float]:
    """Gate and flip-flop counts of ``block`` lowered to 1-bit gates, constants propagated.

    ``block`` itself is left as it is (the lowering works on a copy).
    """
    import pyrtl  # lazy: start-up time; only netlist work needs PyRTL

    with pyrtl.set_working_block(block, no_sanity_check=True):
        gates = pyrtl.synthesize(update_working_block=False, block=block)
    pyrtl.optimize(block=gates, skip_sanity_check=True)
    counts = dict.fromkeys(_GATE_OPS.values(), 0.0)
    for net in gates.logic:
        if net.op in _GATE_OPS:
            counts[_GATE_OPS[net.op]] += 1
    return counts


@lru_cache(maxsize=4096)
def _computed_netlist_features(p: DesignPoint) -> tuple[tuple[str, float], ...]:
    from rtl.unit import build_unit  # lazy: PyRTL and every generator, for new designs only

    block = build_unit(p.unit, **p.params()).block
    return tuple({**netlist_features(block), **gate_features(block)}.items())


def compute_design_features(p: DesignPoint) -> dict[str, float]:
    """Parameter and netlist features of ``p``, computed (the netlist is built once per point)."""
    return {**param_features(p), **dict(_computed_netlist_features(p))}


def design_features(p: DesignPoint) -> dict[str, float]:
    """The model's features of ``p`` (:data:`FEATURES`: parameters and analytical structure,
    microseconds)."""
    shape = dict(zip(SHAPE_FEATURES, shape_vector(p), strict=True))
    return {**param_features(p), **structure_features(p), **shape}


def with_structure(df: Any) -> Any:
    """``df`` (a dataset DataFrame) with the analytical structure columns added, and any
    parameter feature a table collected by an earlier version lacks."""
    from costmodel.space import DesignPoint as _P

    rows = [_P.from_dict(r) for r in df[list(_P.__dataclass_fields__)].to_dict("records")]
    lacking = [n for n in PARAM_FEATURES if n not in df.columns]
    if lacking:
        params = [param_features(p) for p in rows]
        df = df.assign(**{n: [f[n] for f in params] for n in lacking})
    st = np.array([[structure_features(p)[n] for n in STRUCT_FEATURES] + list(shape_vector(p))
                   for p in rows]).reshape(len(rows), len(STRUCT_FEATURES) + len(SHAPE_FEATURES))
    added = STRUCT_FEATURES + SHAPE_FEATURES
    out = df.drop(columns=[c for c in added if c in df.columns])
    # a family added after the table was collected: its one-hot column, zero in every row
    unit = df["unit"].astype(str).to_numpy()
    onehots = {f"unit_{u}": (unit == u).astype(float) for u in FAMILIES
               if f"unit_{u}" not in df.columns}
    return out.assign(**{n: st[:, i] for i, n in enumerate(added)}, **onehots)


PARAM_FEATURES = tuple(param_features(DesignPoint("mac", "fp8_e4m3fn", acc="fp32")))
GATE_FEATURES = tuple(_GATE_OPS.values())
NETLIST_FEATURES = ("pyrtl_area_mm2", "nl_mult_bits", "nl_add_bits", "nl_cmp_bits", "nl_mux_bits",
                    "nl_logic_bits", "nl_reg_bits", "nl_nets", *GATE_FEATURES)
#: the feature columns of the dataset CSV (costmodel.dataset)
DATASET_FEATURES = PARAM_FEATURES + NETLIST_FEATURES
#: bump when a feature's definition changes: the sweep then recomputes the features of its
#: cached records (no new synthesis)
FEATURES_VERSION = 3  # 3: has_nan


@dataclass(frozen=True)
class FeatureSpec:
    """The named, ordered features a model is trained on."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.names)) != len(self.names):
            raise HwsimError("feature names must be unique")

    def matrix(self, rows: Any) -> np.ndarray:
        """Feature matrix from a DataFrame or a sequence of feature dicts (columns in order)."""
        if hasattr(rows, "columns"):
            if "unit" in rows.columns and not set(self.names) <= set(rows.columns):
                rows = with_structure(rows)  # a dataset table: add the analytical columns
            missing = [n for n in self.names if n not in rows.columns]
            if missing:
                raise HwsimError(f"missing feature columns: {', '.join(missing)}")
            return rows[list(self.names)].to_numpy(dtype=np.float64)
        return np.array([[float(r[n]) for n in self.names] for r in rows], dtype=np.float64)

    def vector(self, feats: Mapping[str, float]) -> np.ndarray:
        return np.array([float(feats[n]) for n in self.names], dtype=np.float64)


#: features from the parameters alone: format widths, the analytical structure and the shape
#: parameters of the MixPE and LUT units (costmodel.structure.SHAPE_FEATURES)
FEATURES = FeatureSpec(PARAM_FEATURES + STRUCT_FEATURES + SHAPE_FEATURES)
# the physically-informed baseline: cost = sum over structures of (cost per bit x bits)
PHYSICAL = FeatureSpec(STRUCT_FEATURES)
