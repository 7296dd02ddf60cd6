"""Analytical structure from the parameters alone: register bits exact against PyRTL's
netlists, every family handled, exact parts (clock energy, flip-flop area) added to what the
model learns, and predictions for never-seen designs that build no netlist."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from costmodel.space import FAMILIES, DesignPoint
from costmodel.structure import (
    SHAPE_FEATURES,
    STRUCT_FEATURES,
    _analytic_register_bits,
    _counts,
    built_register_bits,
    register_bits,
    shape_vector,
)

# formats and widths the dataset never had (tests/costmodel/test_cost_models.py checks that
# e2m5, e7m2 and int9 are unseen), each pipeline depth the generators allow
UNSEEN_PIPELINED = (
    *(DesignPoint("minifloat-mul", "e2m5", k) for k in range(4)),
    *(DesignPoint("minifloat-add", "e7m2", k, True) for k in range(4)),
    *(DesignPoint("lmul", "e7m2", k) for k in range(3)),
    *(DesignPoint("convert", "e2m5", k, direction=d) for k in range(3) for d in ("to", "from")),
    DesignPoint("mac", "e2m5", 1, acc="fp16", mul="lmul"),
    DesignPoint("mac", "e7m2", 0, acc="bf16"),
    *(DesignPoint("int-mul", "int9", k) for k in range(3)),
    DesignPoint("int-mac", "int9", 2, acc="30"),
)


def test_register_bits_are_the_dataset_netlists_register_bits(shipped_df):
    """Every design in the dataset: the formula gives the register bits PyRTL's netlist has
    (the dataset's nl_reg_bits column, counted in the generated block)."""
    cols = list(DesignPoint.__dataclass_fields__)
    for row in shipped_df[[*cols, "nl_reg_bits"]].to_dict("records"):
        p = DesignPoint.from_dict(row)
        assert register_bits(p) == row["nl_reg_bits"], p


@pytest.mark.parametrize("p", UNSEEN_PIPELINED, ids=lambda p: f"{p.unit}-{p.format}-p{p.pipeline}")
def test_register_bits_of_unseen_designs_match_their_pyrtl_block(p):
    analytic = _analytic_register_bits(p)
    assert analytic is not None, "the formula covers this family"
    assert analytic == built_register_bits(p)


# MixPE units at group sizes and placements the dataset does not hold, fp16 activations too
UNSEEN_MIXPE = (
    DesignPoint("mixpe", "int8", 1, mul="int4", block=16, direction="pe", acc="32"),
    DesignPoint("mixpe", "int8", 0, mul="int2", block=64, direction="shared", acc="24"),
    DesignPoint("mixpe", "fp16", 1, mul="int2", block=64, direction="pe", acc="32"),
    DesignPoint("mixpe", "fp16", 0, mul="int4", block=256, direction="shared", acc="32"),
    DesignPoint("dequant-mac", "int8", 1, mul="int2", acc="24"),
    DesignPoint("dequant-mac", "fp16", 1, mul="int4", acc="32"),
)


@pytest.mark.parametrize("p", UNSEEN_MIXPE, ids=lambda p: f"{p.unit}-{p.format}-{p.mul}-"
                         f"g{p.block}-{p.direction}-p{p.pipeline}")
def test_mixpe_register_bits_match_their_pyrtl_block(p):
    analytic = _analytic_register_bits(p)
    assert analytic is not None, "the formula covers this family"
    assert analytic == built_register_bits(p)


def test_shape_features_tell_apart_what_the_format_widths_do_not():
    """MixPE's dequantiser placement, group and weight bits, and a LUT unit's K, tile and
    weight bits are features: designs that differ only there get different rows."""
    pe = DesignPoint("mixpe", "int8", mul="int4", block=32, direction="pe", acc="32")
    variants = [pe, dataclasses.replace(pe, direction="shared"),
                dataclasses.replace(pe, block=128), dataclasses.replace(pe, mul="int2"),
                dataclasses.replace(pe, format="fp16")]
    lut = DesignPoint("lut-mpgemm", "int8", k=3, m=1, n=2, weight_bits=2)
    variants += [lut, dataclasses.replace(lut, k=4), dataclasses.replace(lut, m=2),
                 dataclasses.replace(lut, weight_bits=4)]
    rows = {shape_vector(p) for p in variants}
    assert len(rows) == len(variants)
    sh = dict(zip(SHAPE_FEATURES, shape_vector(dataclasses.replace(lut, k=4)), strict=True))
    assert (sh["sh_k"], sh["sh_entries"], sh["sh_cells"], sh["sh_weight_bits"]) == (4, 8, 2, 2)
    assert not any(shape_vector(DesignPoint("minifloat-mul", "e2m5")))


@pytest.mark.parametrize("unit", FAMILIES)
def test_every_family_gets_structure_counts(unit):
    """A family without formulas (one added after this module) gets the generic counts."""
    for fmt in ("fp8_e4m3fn", "int8"):
        c = _counts(DesignPoint(unit, fmt))
        assert set(c) == set(STRUCT_FEATURES)
        assert all(np.isfinite(v) and v >= 0 for v in c.values())
        assert c["st_io_bits"] > 0


def test_never_seen_designs_are_predicted_without_a_netlist(shipped_model, monkeypatch):
    """The shipped model reads parameter features only: no PyRTL block is built."""
    import rtl.unit

    def refuse(*_a, **_k):
        raise AssertionError("a netlist was built")

    monkeypatch.setattr(rtl.unit, "build_unit", refuse)
    pts = [p for p in UNSEEN_PIPELINED if p.unit != "block-dot"]
    res = shipped_model.predict_points(pts)
    for t, r in res.items():
        assert np.all(np.isfinite(r["value"]) & (r["value"] > 0)), t


def test_clock_energy_is_the_proxys_clock_term(monkeypatch):
    """The exact part of energy is what costmodel.activity adds for the clock: the proxy with
    and without its clock weight differs by clock_pj_per_bit x register bits."""
    from costmodel import activity
    from rtl.unit import build_unit

    p = DesignPoint("minifloat-add", "e3m3", 2)
    unit = build_unit(p.unit, **p.params())
    cols = activity.operand_stream(p, unit.inputs, "normal")
    with_clock, _ = activity.toggle_energy_ge(unit, cols)
    weights = activity.load_toggle_weights()
    monkeypatch.setattr(activity, "load_toggle_weights",
                        lambda: dataclasses.replace(weights, clock_ge_per_bit_cycle=0.0))
    without, _ = activity.toggle_energy_ge(unit, cols)
    monkeypatch.undo()
    clock_pj = (with_clock - without) * activity.pj_per_ge()
    assert register_bits(p) > 0
    assert clock_pj == pytest.approx(activity.clock_pj_per_bit() * register_bits(p), rel=1e-9)


def test_exact_parts_are_added_to_the_learned_part(shipped_model):
    from costmodel.activity import clock_pj_per_bit
    from costmodel.dataset import DFF_TRANSISTORS
    from costmodel.features import design_features

    names = shipped_model.features.names
    area, energy = shipped_model.targets["area"], shipped_model.targets["energy"]
    assert area.reg_cost == DFF_TRANSISTORS
    assert energy.reg_cost == pytest.approx(clock_pj_per_bit())
    for p, regs in ((DesignPoint("minifloat-mul", "e2m5"), 0),
                    (DesignPoint("minifloat-mul", "e2m5", 3), register_bits(
                        DesignPoint("minifloat-mul", "e2m5", 3)))):
        x = shipped_model.features.vector(design_features(p))[None]
        assert energy.exact(x, names)[0] == pytest.approx(energy.reg_cost * regs)
        # flip-flops: the register bits less those synthesis prunes, never more
        assert 0 <= area.exact(x, names)[0] <= DFF_TRANSISTORS * regs
        whole = shipped_model.predict_matrix(x, ("energy",), interval=False)["energy"]["value"]
        assert whole[0] == pytest.approx(energy.learned(x, names)[0] + energy.reg_cost * regs)


def test_a_family_added_after_training_gets_a_warning_not_a_crash(shipped_df):
    """The model's features name the families it was trained on; one added since (another
    generator in costmodel.space.FAMILIES) is predicted with an out-of-domain warning. A model
    is fitted here without one family (``int-mac``; the per-family baseline, whose columns are
    laid out by the trained families, included), so the check runs whatever families the
    shipped model has seen."""
    from costmodel.models import OutOfDomainWarning, fit_cost_model

    unit = "int-mac"
    assert unit in FAMILIES and unit in set(shipped_df["unit"])
    model = fit_cost_model(shipped_df[shipped_df["unit"] != unit], kinds=("hgb-phys",),
                           folds=2, targets=("area",))
    assert unit not in model.domain.units
    with pytest.warns(OutOfDomainWarning, match="not in the training data"):
        preds, why = model.predict(DesignPoint(unit, "int8"))
    assert why and len(preds) == len(model.targets)


def test_batch_features_are_the_per_design_features(shipped_df):
    """costmodel.batch_features (arrays over a batch) gives exactly the rows
    costmodel.features.design_features gives one design at a time (its register bits checked
    against PyRTL above): every dataset design and the never-seen ones."""
    from costmodel.batch_features import feature_matrix
    from costmodel.features import FEATURES, design_features

    cols = list(DesignPoint.__dataclass_fields__)
    pts = [DesignPoint.from_dict(r) for r in shipped_df[cols].to_dict("records")]
    pts += [*UNSEEN_PIPELINED, *UNSEEN_MIXPE, DesignPoint("mac", "e2m5", 0, acc="fp16"),
            DesignPoint("block-dot", "mxfp4", 0, block=8)]
    batch = feature_matrix(pts, FEATURES)
    one = FEATURES.matrix([design_features(p) for p in pts])
    bad = np.argwhere(batch != one)
    assert not len(bad), [(pts[i], FEATURES.names[j], batch[i, j], one[i, j]) for i, j in bad[:5]]
    assert feature_matrix([], FEATURES).shape == (0, len(FEATURES.names))


@pytest.mark.parametrize("fmt", ["mxfp4", "mxfp8_e5m2", "mxint8", "bfp_b8_m5", "nvfp4"])
@pytest.mark.parametrize("block", [2, 4, 8])
def test_block_dot_products_are_the_generated_netlists_multipliers(fmt, block):
    """A block dot product's partial-product bits are its PyRTL block's multiplier bits: the
    element products, and NVFP4's two more (its E4M3 scales' significands, then the block
    sum's magnitude times their product); PyRTL widens the narrower operand of a product to
    the wider's width, so that last one counts mag x mag there, mag x 2(m+1) here."""
    from rtl.unit import build_unit

    p = DesignPoint("block-dot", fmt, 0, block=block)
    products = [(len(n.args[0]), len(n.args[1])) for n in
                build_unit("block-dot", **p.params()).block.logic if n.op == "*"]
    netlist = sum(a * b for a, b in products)
    assert len(products) == block + (2 if fmt == "nvfp4" else 0)
    if fmt == "nvfp4":
        mag = max(a for a, _ in products)  # the block sum's magnitude
        netlist -= mag * (mag - 2 * 4)  # E4M3: 4 significand bits a scale, 8 for two
    assert _counts(p)["st_pp_bits"] == netlist


@pytest.mark.parametrize(("fmt", "acc"), [("int4", "20"), ("int8", "32"), ("int2", None)])
def test_ternary_accumulators_count_one_adder_and_no_multiplier(fmt, acc):
    """A ternary-weight PE is priced as what its netlist holds: no product, an adder as wide
    as its accumulator (a generic family's multiplier-sized guess priced int8 PEs 2.5x high)."""
    from rtl.unit import build_unit

    p = DesignPoint("ternary-acc", fmt, 0, acc=acc or "")
    unit = build_unit("ternary-acc", **p.params())
    ops = list(unit.block.logic)
    width = unit.outputs["y"]
    assert not [n for n in ops if n.op == "*"]
    # acc + addend + carry: PyRTL widens each sum by one bit (Yosys trims the unused ones)
    assert sorted(len(n.dests[0]) for n in ops if n.op == "+") == [width + 1, width + 2]
    c = _counts(p)
    assert (c["st_pp_bits"], c["st_add_bits"], c["st_acc_bits"]) == (0, width, width)


@pytest.mark.parametrize(("fmt", "acc"), [("int8", "10"), ("uint8", "12"), ("int8", "24")])
def test_requantiser_counts_follow_its_ports(fmt, acc):
    """The dyadic requantiser multiplies its acc and b inputs and shifts their product by c
    (the floor, the rounding bit and the sticky mask: three shifters)."""
    from rtl.unit import build_unit

    p = DesignPoint("dyadic-requant", fmt, 0, acc=acc)
    ports = build_unit("dyadic-requant", **p.params()).inputs
    width = ports["acc"] + ports["b"]
    c = _counts(p)
    assert c["st_pp_bits"] == ports["acc"] * ports["b"]
    assert c["st_shift_bits"] == 3 * width * ports["c"]
