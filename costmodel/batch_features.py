"""Parameter and analytical-structure features of many designs at once (numpy, no netlist).

:func:`feature_matrix` gives the rows :func:`costmodel.features.design_features` gives one
design at a time, for a whole batch: the per-design Python work is reading the fields of each
:class:`~costmodel.space.DesignPoint`; the formats' fields are looked up once per distinct
format, and every count of :mod:`costmodel.structure` is evaluated as array arithmetic over the
batch. The formulas are those of :func:`costmodel.structure._counts` and
:func:`costmodel.structure._analytic_register_bits` (whose register bits are checked against
PyRTL's netlists) written over arrays; tests/costmodel/test_cost_structure.py checks the two
agree on every dataset design and a grid of never-seen ones. A family without formulas there
(:data:`ARRAY_UNITS` lists those covered), or a design whose registers have no formula, is
computed per design by those functions (cached).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from costmodel.features import FeatureSpec, _format_fields
from costmodel.space import FAMILIES, DesignPoint
from costmodel.structure import (
    _ACC,
    _FP32,
    GRS,
    SHAPE_FEATURES,
    SHAPE_UNITS,
    STRUCT_FEATURES,
    _block_extras,
    _resolve,
    shape_vector,
)
from costmodel.structure import _structure as structure_vector
from hwsim.errors import HwsimError
from hwsim.numerics import BlockFormat, FloatFormat

_UNIT = {u: i for i, u in enumerate(FAMILIES)}
# per-format fields (see _format_row), in column order
_FMT = ("is_float", "is_int", "is_block", "e", "m", "bias", "total", "bits", "blk_float",
        "blk_e", "blk_m", "blk_total", "blk_mag", "blk_scale", "blk_neg", "blk_ssig")
#: the families whose counts are evaluated as arrays here; any other is computed per design
ARRAY_UNITS = ("minifloat-mul", "minifloat-add", "lmul", "convert", "mac", "int-mul", "int-mac",
               "block-dot")


@lru_cache(maxsize=4096)
def _format_row(fmt: str) -> tuple[float, ...]:
    """The fields of ``fmt`` the structure formulas read (:data:`_FMT`)."""
    f = _resolve(fmt)
    row = dict.fromkeys(_FMT, 0.0)
    elem = f.element if isinstance(f, BlockFormat) else f
    row["bits"] = float(elem.total_bits)
    if isinstance(f, FloatFormat):
        row.update(is_float=1.0, e=f.exp_bits, m=f.man_bits, bias=f.bias, total=f.total_bits)
    elif isinstance(f, BlockFormat):
        el = f.element
        row.update(is_block=1.0, blk_total=el.total_bits, blk_scale=f.scale_bits)
        row["blk_neg"], row["blk_ssig"] = _block_extras(f)
        if isinstance(el, FloatFormat):
            row.update(blk_float=1.0, blk_e=el.exp_bits, blk_m=el.man_bits)
        else:
            row["blk_mag"] = el.total_bits - (0 if f.kind == "mx" else 1)
    elif getattr(f, "kind", "") == "int":
        row.update(is_int=1.0, total=f.total_bits)
    return tuple(float(row[k]) for k in _FMT)


def _bits_for(v: np.ndarray) -> np.ndarray:
    """Width that holds 0..|v| (int.bit_length, at least 1), element-wise."""
    return np.maximum(1.0, np.frexp(np.asarray(v, dtype=np.float64))[1])


def _clz_shift(width: np.ndarray) -> np.ndarray:
    return width * np.maximum(1.0, np.ceil(np.log2(np.maximum(width, 2.0))))


def _normalise_exp_bits(width: np.ndarray, tp_bits: np.ndarray, c: np.ndarray) -> np.ndarray:
    grow = _bits_for(np.maximum(-c, 0) + width) + 1
    base = np.where(c > 0, np.maximum(tp_bits, _bits_for(c)) + 1, tp_bits)
    return np.maximum(base, grow) + 1


def _staged(pipeline: np.ndarray, *stages: np.ndarray) -> np.ndarray:
    """Bits of the first ``pipeline`` stage registers."""
    return sum((pipeline > i) * s for i, s in enumerate(stages))


class Columns:
    """The fields of a batch of design points as arrays (one entry per point)."""

    def __init__(self, points: Sequence[DesignPoint]) -> None:
        fmts: dict[str, int] = {}
        accs: dict[str, int] = {}
        rows = [(_UNIT[p.unit], fmts.setdefault(p.format, len(fmts)),
                 accs.setdefault(p.acc, len(accs)), p.pipeline, p.saturate, p.mul == "lmul",
                 p.block, p.direction == "from", p.direction == "to") for p in points]
        a = np.array(rows, dtype=np.float64).reshape(len(rows), 9)
        self.points = points
        self.fmts = list(fmts)
        self.unit = a[:, 0].astype(np.int64)
        fmt_idx = a[:, 1].astype(np.int64)
        acc_idx = a[:, 2].astype(np.int64)
        self.pipeline, self.saturate, self.lmul, self.block = a[:, 3], a[:, 4], a[:, 5], a[:, 6]
        self.dir_from, self.dir_to = a[:, 7], a[:, 8]
        self.fmt_idx = fmt_idx
        table = np.array([_format_row(f) for f in fmts], dtype=np.float64).reshape(-1, len(_FMT))
        self.f = {k: table[fmt_idx, i] for i, k in enumerate(_FMT)}
        acc_names = list(accs)
        # float accumulator fields (0 where not one), and an integer accumulator's width
        acc_e = np.array([_ACC.get(s, (0, 0))[0] for s in acc_names], dtype=np.float64)
        acc_m = np.array([_ACC.get(s, (0, 0))[1] for s in acc_names], dtype=np.float64)
        acc_num = np.array([int(s) if s.isdigit() else 0 for s in acc_names], dtype=np.float64)
        self.acc_float = np.array([s in _ACC for s in acc_names])[acc_idx]
        self.acc_e, self.acc_m, self.acc_num = acc_e[acc_idx], acc_m[acc_idx], acc_num[acc_idx]

    def __len__(self) -> int:
        return len(self.unit)

    def is_unit(self, name: str) -> np.ndarray:
        return self.unit == _UNIT[name]

    def int_acc_bits(self) -> np.ndarray:
        """costmodel.structure.int_acc_bits over the batch."""
        n = self.f["bits"]
        return np.where(self.acc_num > 0, self.acc_num, np.minimum(2 * n + 16, 64))


def _register_bits(c: Columns) -> np.ndarray:
    """Register bits by formula; NaN where costmodel.structure has no formula."""
    f, k = c.f, c.pipeline
    e, m, bias, total = f["e"], f["m"], f["bias"], f["total"]
    out = np.full(len(c), np.nan)
    fl = f["is_float"] > 0
    w2 = 2 * m + 2
    sel = fl & c.is_unit("minifloat-mul")
    out[sel] = _staged(k, w2 + e + 5, w2 + _normalise_exp_bits(w2, e + 1, -bias) + 5,
                       total)[sel]
    w = m + 1 + GRS
    sel = fl & c.is_unit("minifloat-add")
    out[sel] = _staged(k, 2 * w + e + 6, w + e + 6, total)[sel]
    sel = fl & c.is_unit("lmul")
    out[sel] = _staged(k, e + m + 6, total)[sel]
    fe, fm, fbias = _FP32
    # convert from fmt to fp32: the significand padded to fp32's m + 2 bits
    sig_f = np.maximum(m + 1, fm + 2)
    pad = np.maximum(fm + 2 - (m + 1), 0)
    c_f = fbias - bias - 1 + (sig_f - 1 - m - pad)
    # convert from fp32 to fmt
    extra = np.maximum(m + 2 - (fm + 1), 0)
    sig_t = fm + 1 + extra
    c_t = bias - fbias - 1 + (sig_t - 1 - fm - extra)
    frm = c.dir_from > 0
    sig = np.where(frm, sig_f, sig_t)
    exp_bits = np.where(frm, _normalise_exp_bits(sig_f, e, c_f),
                        _normalise_exp_bits(sig_t, np.full_like(e, fe), c_t))
    sel = fl & c.is_unit("convert")
    out[sel] = _staged(k, sig + exp_bits + 6, np.where(frm, 1 + fe + fm, total))[sel]
    sel = fl & c.is_unit("mac") & c.acc_float
    out[sel] = (1 + c.acc_e + c.acc_m + (k > 0) * (w2 + e + 6))[sel]
    n = f["total"]
    intf = f["is_int"] > 0
    int_mul = _staged(k, 2 * n, 5 * n + 1)
    sel = intf & c.is_unit("int-mul")
    out[sel] = int_mul[sel]
    sel = intf & c.is_unit("int-mac")
    out[sel] = (int_mul + c.int_acc_bits())[sel]
    out[c.is_unit("block-dot") & (k == 0)] = 0.0
    return out


def _counts(c: Columns) -> dict[str, np.ndarray]:
    """costmodel.structure._counts over the batch (every structure but the registers)."""
    f = c.f
    e, m, bias, bits = f["e"], f["m"], f["bias"], f["bits"]
    nblock = np.maximum(c.block, 1)
    z = np.zeros(len(c))
    out = {"st_io_bits": 2 * bits * nblock + bits, **{k: z.copy() for k in (
        "st_pp_bits", "st_add_bits", "st_shift_bits", "st_norm_bits", "st_round_bits",
        "st_acc_bits")}}

    def put(sel: np.ndarray, **cols: np.ndarray) -> None:
        for k, v in cols.items():
            out[k][sel] = np.broadcast_to(v, sel.shape)[sel]

    fl = f["is_float"] > 0
    sig = m + 1
    put(fl & c.is_unit("minifloat-mul"), st_pp_bits=sig * sig, st_add_bits=2 * e + m + 2,
        st_norm_bits=_clz_shift(2 * sig), st_round_bits=e + m + 1)
    w = sig + GRS
    put(fl & c.is_unit("minifloat-add"), st_add_bits=w + 2 * e + 2,
        st_shift_bits=w * _bits_for(w), st_norm_bits=_clz_shift(w), st_round_bits=e + m + 1)
    put(fl & c.is_unit("lmul"), st_add_bits=2 * (e + m + 2))
    fe, fm, fbias = _FP32
    frm = c.dir_from > 0
    sig_in = np.where(frm, np.maximum(sig, fm + 2), fm + 1 + np.maximum(m + 2 - (fm + 1), 0))
    zz = np.maximum(-np.where(frm, fbias - bias - 1, bias - fbias - 1), 0)
    norm = np.where(frm, np.where(bias < fbias, _clz_shift(sig), 0.0), _clz_shift(sig_in))
    put(fl & c.is_unit("convert"), st_norm_bits=norm,
        st_shift_bits=np.where(zz > 1, sig_in * _bits_for(np.minimum(zz, sig_in)), 0),
        st_add_bits=fe + 2 + np.abs(fe - e), st_round_bits=np.where(frm, 32.0, e + m + 1))
    ae = np.where(c.acc_float, c.acc_e, _ACC["fp32"][0])
    am = np.where(c.acc_float, c.acc_m, _ACC["fp32"][1])
    wm = np.maximum(2 * sig, am + 1)
    put(fl & c.is_unit("mac"), st_pp_bits=np.where(c.lmul > 0, 0, sig * sig),
        st_acc_bits=1 + ae + am, st_add_bits=(e + m + 2) * c.lmul + e + 1 + ae + 2 * (wm + 3),
        st_shift_bits=2 * (wm + 3) * _bits_for(wm + 3), st_norm_bits=_clz_shift(wm + 4),
        st_round_bits=ae + am + 1)
    n = f["total"]
    intf = f["is_int"] > 0
    int_units = c.is_unit("int-mul") | c.is_unit("int-mac")
    acc = np.where(c.is_unit("int-mac"), c.int_acc_bits(), 0)
    put(intf & int_units, st_pp_bits=n * n, st_add_bits=3 * n + 1 + acc, st_acc_bits=acc)
    blk = (f["is_block"] > 0) & c.is_unit("block-dot")
    bsig = f["blk_m"] + 1
    bfl = f["blk_float"] > 0
    width = np.where(bfl, 2 * bsig + 2 ** f["blk_e"], 2 * f["blk_mag"])
    pp = np.where(bfl, bsig * bsig, f["blk_mag"] ** 2)
    tree = width + 1 + _bits_for(nblock)
    ssig = f["blk_ssig"]
    wide = tree + 2 * ssig
    put(blk, st_pp_bits=pp * nblock + ssig * ssig + tree * 2 * ssig,
        st_add_bits=(nblock - 1) * tree + f["blk_scale"] + f["blk_neg"] * nblock,
        st_shift_bits=wide * _bits_for(wide), st_norm_bits=_clz_shift(wide),
        st_round_bits=f["blk_total"])
    # a family without formulas: a multiplier-sized guess from the element width
    put(~fl & ~(intf & int_units) & ~blk, st_pp_bits=bits * bits * nblock,
        st_add_bits=2 * bits * nblock)
    return out


def structure_matrix(points: Sequence[DesignPoint] | Columns) -> np.ndarray:
    """The analytical counts of every point (columns: :data:`STRUCT_FEATURES`)."""
    c = points if isinstance(points, Columns) else Columns(points)
    if not len(c):
        return np.zeros((0, len(STRUCT_FEATURES)))
    cols = _counts(c)
    cols["st_reg_bits"] = _register_bits(c)
    out = np.column_stack([cols[k] for k in STRUCT_FEATURES])
    # a family these formulas do not cover, or registers without a formula: per design
    # (cached; the PyRTL block's registers where costmodel.structure has no formula either)
    other = ~np.isin(c.unit, [_UNIT[u] for u in ARRAY_UNITS]) | np.isnan(out[:, 0])
    for i in np.flatnonzero(other):
        out[i] = structure_vector(c.points[i])
    return out


def shape_matrix(c: Columns) -> np.ndarray:
    """:data:`costmodel.structure.SHAPE_FEATURES` of every point: zero but for the families
    that have them (computed per design, cached)."""
    out = np.zeros((len(c), len(SHAPE_FEATURES)))
    for i in np.flatnonzero(np.isin(c.unit, [_UNIT[u] for u in SHAPE_UNITS])):
        out[i] = shape_vector(c.points[i])
    return out


_MULTIPLIES = ("minifloat-mul", "block-dot", "int-mul", "int-mac")


def param_columns(c: Columns) -> dict[str, np.ndarray]:
    """costmodel.features.param_features over the batch."""
    names = [k for k, _ in _format_fields(c.fmts[0])] if c.fmts else []
    table = np.array([[v for _, v in _format_fields(f)] for f in c.fmts],
                     dtype=np.float64).reshape(len(c.fmts), len(names))
    out = {f"unit_{u}": (c.unit == i).astype(np.float64) for u, i in _UNIT.items()}
    out.update({k: table[c.fmt_idx, i] for i, k in enumerate(names)})
    sig = out.get("sig_bits", np.zeros(len(c)))
    nblock = np.maximum(c.block, 1)
    acc_e = np.where(c.acc_float, c.acc_e, 0.0)
    acc_m = np.where(c.acc_float, c.acc_m, 0.0)
    mac = c.is_unit("mac")
    multiplies = np.isin(c.unit, [_UNIT[u] for u in _MULTIPLIES]) | (mac & (c.lmul == 0))
    out.update({
        "pipe_stages": c.pipeline, "sat_flag": c.saturate, "block_n": nblock,
        "acc_bits": np.where(mac, 1 + acc_e + acc_m,
                             np.where(c.is_unit("int-mac"), c.int_acc_bits(), 0.0)),
        "acc_exp_bits": acc_e, "acc_man_bits": acc_m, "mul_lmul": c.lmul,
        "dir_to": c.dir_to, "dir_from": c.dir_from,
        "prod_bits": np.where(multiplies, sig * sig * nblock, 0.0),
        "log2_sig": np.log2(sig),
    })
    return out


def feature_matrix(points: Sequence[DesignPoint], spec: FeatureSpec) -> np.ndarray:
    """The features ``spec`` names for every point (rows as
    :func:`costmodel.features.design_features` gives them)."""
    if not len(points):
        return np.zeros((0, len(spec.names)))
    c = Columns(points)
    cols = param_columns(c)
    cols.update(zip(STRUCT_FEATURES, structure_matrix(c).T, strict=True))
    cols.update(zip(SHAPE_FEATURES, shape_matrix(c).T, strict=True))
    missing = [n for n in spec.names if n not in cols]
    if missing:
        raise HwsimError(f"features this version does not compute: {', '.join(missing)}")
    return np.column_stack([cols[n] for n in spec.names])
