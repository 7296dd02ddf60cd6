"""Grouped validation: what each split holds out together, and that the hold-out never
chooses the model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from costmodel import validate as val
from hwsim.cli import main
from hwsim.errors import HwsimError

FORMATS = ("fp8_e4m3fn", "fp8_e5m2", "e3m3", "e2m2", "e4m4", "e5m3", "fp6_e3m2fn", "e3m5")
FAST = {"kinds": ("phys", "hgb"), "folds": 2, "targets": ("area", "energy")}


@pytest.fixture(scope="module")
def small_df(shipped_df):
    keep = shipped_df["unit"].isin(("minifloat-mul", "lmul")) & shipped_df["format"].isin(FORMATS)
    return shipped_df[keep].reset_index(drop=True)


def test_design_groups_hold_every_variant_of_a_base_design(shipped_df):
    groups = val.split_groups(shipped_df, "design")
    # one group per (unit, format, accumulator, block; a LUT unit's K, M, N, weight bits),
    # whatever the pipeline/saturate/mul
    cols = ["unit", "format", "acc", "block", "k", "m", "n", "weight_bits"]
    base = shipped_df[cols].astype(str).agg("|".join, axis=1)
    assert len(np.unique(groups)) == base.nunique()
    for _, rows in shipped_df.groupby(cols):
        assert len(set(groups[rows.index])) == 1
    assert shipped_df.groupby(cols).size().max() > 1


def test_format_groups_resolve_aliases(small_df):
    df = small_df.copy()
    df.loc[df.index[:3], "format"] = "e3m4"
    df.loc[df.index[3:6], "format"] = "fp8_e3m4"
    groups = val.split_groups(df, "format")
    assert set(groups[:6]) == {"fp8_e3m4"}
    # the first six rows are one unit's variants of one format: one base design either way
    assert df["unit"].iloc[:6].nunique() == 1 and df["acc"].iloc[:6].nunique() == 1
    assert len(set(val.split_groups(df, "design")[:6])) == 1


def _spy_on_fits(monkeypatch) -> list[np.ndarray]:
    """The training groups of every model choice validate makes, appended as it makes them."""
    seen: list[np.ndarray] = []
    real = val.fit_target

    def spy(target, x, y, names, **kw):
        seen.append(kw["groups"])
        return real(target, x, y, names, **kw)

    monkeypatch.setattr(val, "fit_target", spy)
    return seen


@pytest.mark.parametrize("split", ["design", "format"])
def test_the_hold_out_never_takes_part_in_the_choice(small_df, monkeypatch, split):
    """Every fit during model choice sees only training groups; the held-out groups are
    scored once, by the chosen model."""
    seen = _spy_on_fits(monkeypatch)
    rep = val.validate(small_df, splits=(split,), **FAST)
    groups = val.split_groups(small_df, split)
    test = val._holdout(groups, 0, val.split_strata(small_df, split))
    assert 0 < test.sum() < len(small_df)
    held = set(groups[test])
    assert len(seen) == 2 and all(set(g).isdisjoint(held) and len(g) == (~test).sum()
                                  for g in seen)
    s = rep.get(split, "area")
    assert s.n_test == test.sum() and s.groups == len(held)


def _whole_families_held(units: np.ndarray, groups: np.ndarray, test: np.ndarray) -> list[str]:
    """Families of two or more base designs all of whose base designs ``test`` holds out."""
    return [u for u in np.unique(units)
            if len(np.unique(groups[units == u])) >= 2 and test[units == u].all()]


def test_design_folds_keep_a_base_design_of_every_family_in_training(shipped_df):
    """On the design split (the outer folds, the single hold-out and the inner folds that
    choose the model) a family of two or more base designs never has all of them held out at
    once: that would score an unseen family. Plain group folds of the same seed do exactly
    that to olive-decode's two base designs, which is what the stratification is for."""
    from costmodel.features import FEATURES, with_structure
    from costmodel.models import _families, cv_folds, family_strata

    units = shipped_df["unit"].to_numpy(str)
    groups = val.split_groups(shipped_df, "design")
    strata = val.split_strata(shipped_df, "design")
    assert strata is not None and val.split_strata(shipped_df, "format") is None
    outer = val._test_masks("design", groups, 0, 5, strata)
    assert sum(t.astype(int) for t in outer).tolist() == [1] * len(shipped_df)
    for test in [*outer, val._holdout(groups, 0, strata)]:
        assert 0 < test.sum() < len(test) and _whole_families_held(units, groups, test) == []
    plain = val._test_masks("design", groups, 0, 5)
    assert any("olive-decode" in _whole_families_held(units, groups, t) for t in plain)
    # the inner folds: strata from the features' family one-hot, as fit_target's CV takes them
    x = FEATURES.matrix(with_structure(shipped_df))
    fam = _families(x, FEATURES.names)
    assert family_strata(groups, fam) is fam
    assert family_strata(val.split_groups(shipped_df, "format"), fam) is None
    for _, te in cv_folds(5, 0, x, fam, groups, fam):
        test = np.isin(np.arange(len(units)), te)
        assert _whole_families_held(units, groups, test) == []


def test_strata_smaller_than_the_folds_fall_back_to_group_folds():
    """scikit-learn cannot stratify when every stratum has fewer rows than folds (a small
    dataset of many families): those get plain group folds, every group held out once."""
    from costmodel.models import cv_folds

    groups = np.repeat(np.arange(8), 2)
    strata = np.repeat(np.arange(4), 4)  # four families of two base designs, 4 rows each
    rows = np.arange(len(groups))
    for folds, stratified in ((5, False), (4, True)):
        tests = [te for _, te in cv_folds(folds, 0, rows, rows, groups, strata)]
        assert sorted(np.concatenate(tests).tolist()) == rows.tolist()
        assert all(len(np.unique(groups[te])) * 2 == len(te) for te in tests)
        if stratified:  # four folds: no family has both its base designs in one fold
            assert all(len(np.unique(strata[te])) == len(te) // 2 for te in tests)


def test_outer_folds_hold_out_every_group_once(small_df, monkeypatch):
    """With outer folds, every group is held out exactly once; each fold's model is chosen on
    that fold's training groups alone, and the score pools the folds' held-out errors."""
    seen = _spy_on_fits(monkeypatch)
    rep = val.validate(small_df, splits=("design",), outer=3, **FAST)
    groups = val.split_groups(small_df, "design")
    tests = val._test_masks("design", groups, 0, 3, val.split_strata(small_df, "design"))
    assert sum(t.astype(int) for t in tests).tolist() == [1] * len(small_df)
    # per target, one fit per fold, on exactly the other folds' groups
    assert len(seen) == 2 * 3
    for fit, test in zip(seen, tests * 2, strict=True):
        assert set(fit).isdisjoint(groups[test]) and len(fit) == (~test).sum()
    s = rep.get("design", "area")
    assert s.n_test == len(small_df) and s.groups == len(np.unique(groups))
    assert len(s.fold_mapes) == 3 and min(s.fold_mapes) <= s.mape <= max(s.fold_mapes)
    y, p, _ = rep.parity["design"]["area"]
    assert s.mape == pytest.approx(100 * np.mean(np.abs(p - y) / y))
    # the dataset row of every pooled entry: the folds' held-out rows in fold order
    rows = rep.held_rows["design"]
    assert rows.tolist() == np.concatenate([np.flatnonzero(t) for t in tests]).tolist()
    assert np.array_equal(y, np.maximum(small_df["area_transistors"].to_numpy(float)[rows], 1e-9))
    # where the error comes from: each family's MAPE and share among the pooled rows
    units = small_df["unit"].to_numpy(str)[rows]
    ape = np.abs(p - y) / y
    assert {u for u, *_ in s.by_family} == set(units)
    for u, n, m, share in s.by_family:
        assert n == (units == u).sum() and m == pytest.approx(100 * ape[units == u].mean())
        assert share == pytest.approx(ape[units == u].sum() / ape.sum())
    assert [r[3] for r in s.by_family] == sorted((r[3] for r in s.by_family), reverse=True)
    assert "design split, MAPE% per unit family" in rep.table()
    assert "3 grouped outer folds" in rep.table()
    assert "design folds stratified by unit family" in rep.table()
    out = rep.to_dict()
    assert out["outer_folds"] == 3 and out["holdout"] is None
    assert out["fold_strata"] == {"design": "unit family"}
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(("outer", "why"), [(1, "outer folds must be 0"),
                                            (-2, "outer folds must be 0"),
                                            (99, "99 outer folds need at least 99 groups")])
def test_bad_outer_folds_are_a_user_error(tmp_path, small_df, capsys, outer, why):
    csv = tmp_path / "d.csv"
    small_df.to_csv(csv, index=False)
    assert main(["cost", "validate", "--data", str(csv), "--outer", str(outer)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {why}") and len(err.strip().splitlines()) == 1


def test_report_puts_grouped_splits_first_and_says_missed(small_df):
    rep = val.validate(small_df, splits=("random", "family", "design"), **FAST)
    assert [s.split for s in rep.scores] == ["design"] * 2 + ["family"] * 2 + ["random"] * 2
    checks = rep.checks()
    assert set(checks) == {"design/area", "design/energy"}
    for k, c in checks.items():
        assert c["limit"] == val.MAPE_TARGETS["design"][k.split("/")[1]]
        assert c["ok"] == (c["mape"] <= c["limit"])
    table = rep.table()
    assert table.splitlines()[2].startswith("design")
    for c in checks.values():
        assert ("MISSED" if not c["ok"] else "ok") in table
    json.dumps(rep.to_dict(), allow_nan=False)


def test_too_few_groups_for_the_folds_is_a_user_error(small_df):
    with pytest.raises(HwsimError, match="folds must be an integer from 2 to"):
        val.validate(small_df, splits=("format",), kinds=("phys",), folds=8)


def test_cli_default_split_is_design(tmp_path, small_df, capsys):
    csv = tmp_path / "d.csv"
    small_df[small_df["format"].isin(FORMATS[:3])].to_csv(csv, index=False)
    argv = ["cost", "validate", "--data", str(csv), "--folds", "2", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {s["split"] for s in out["scores"]} == {"design"}
    assert out["targets_mape_pct"]["design"]["delay"] == 3.0
    assert main([*argv[:-1], "--split", "format", "--folds", "99"]) == 2
    assert capsys.readouterr().err.startswith("error: folds must be")


def test_a_family_never_seen_is_predicted_by_the_pooled_baseline(small_df):
    """The per-family baseline has no coefficients for a family it never saw: such a family
    gets the pooled fit (all families together), not zero."""
    from costmodel.features import FEATURES, with_structure
    from costmodel.models import _fit_kind, _predict_kind

    df = with_structure(small_df)
    x, names = FEATURES.matrix(df), FEATURES.names
    y = df["area_transistors"].to_numpy(float)
    lmul = (df["unit"] == "lmul").to_numpy()
    est = _fit_kind("phys", x[~lmul], y[~lmul], names, 0)
    assert est["seen"] == ["minifloat-mul"]
    got = _predict_kind("phys", est, x[lmul], names)
    pooled = est["pooled"].predict(x[lmul][:, _phys_columns(names)])
    np.testing.assert_allclose(got, np.maximum(pooled, 1e-9))
    assert np.all(got > 1.0)


def _phys_columns(names):
    from costmodel.features import PHYSICAL

    return [list(names).index(n) for n in PHYSICAL.names]


def test_leave_one_family_out_reports_each_family(small_df):
    rep = val.validate(small_df, splits=("family",), kinds=("phys", "hgb-phys"), folds=2,
                       targets=("area",))
    fams = rep.per_family["area"]
    assert set(fams) == {"minifloat-mul", "lmul"}
    # the baseline of an unseen family is the pooled fit: a real estimate, not zero (which
    # scored 100%)
    for model_mape, base_mape in fams.values():
        assert abs(base_mape - 100) > 1 and np.isfinite(model_mape)
    assert "leave-one-family-out" in rep.table()
    assert set(rep.to_dict()["family_mape_pct"]["area"]) == set(fams)
    y, _, _ = rep.parity["family"]["area"]  # each held-out family's rows, family by family
    rows = rep.held_rows["family"]
    assert sorted(rows) == list(range(len(small_df)))
    assert np.array_equal(y, small_df["area_transistors"].to_numpy(float)[rows])


# The issue's targets on the design and format splits against the shipped results
# (sim_results/costmodel): the single 20% hold-out 'hwsim cost study' writes (validation.json;
# test_cost_models.py checks its delay and energy numbers come back when refitted) and the
# nested cross-validation of 'hwsim cost validate --split S --outer 5 --json'
# (validation_outer5_S.json), which holds every base design or format out once. A target the
# model misses is a strict xfail with the measured MAPE.
_RESULTS = {"holdout": "validation.json", "outer5": "validation_outer5_{split}.json"}
# 1,362 designs (the combinational converters' Yosys figures the run of median area over five
# statement orders), network model, nested 5-fold with the design folds stratified by unit
# family: design area 4.02%, LUTs 4.00%, delay 1.68%, energy 4.24%; format area 6.11%, energy
# 6.14%: all six met. Unstratified, a fold held out both of olive-decode's base designs (an
# unseen family: 155% LUT MAPE) and the same data missed design LUTs (5.20%) and energy (5.45%).
# The single hold-out (seed 0), same model: all six met (design area 3.85%, LUTs 3.46%, delay
# 0.89%, energy 2.79%; format area 3.99%, energy 3.29%)
_MISSED: dict[tuple[str, str, str], float] = {}


@pytest.mark.parametrize(("source", "split", "target"), [
    (src, s, t) for src in _RESULTS for s, d in val.MAPE_TARGETS.items() for t in sorted(d)])
def test_grouped_splits_meet_the_issues_targets(source, split, target, request):
    from pathlib import Path

    path = (Path(__file__).parents[2] / "sim_results" / "costmodel"
            / _RESULTS[source].format(split=split))
    got = json.loads(path.read_text())
    assert got["outer_folds"] == (5 if source == "outer5" else 0)
    check = got["checks"][f"{split}/{target}"]
    if (source, split, target) in _MISSED:
        # the recorded miss is the measured one (checked before the xfail marker applies)
        assert check["mape"] == pytest.approx(_MISSED[source, split, target], abs=0.005)
        request.applymarker(pytest.mark.xfail(strict=True, reason=(
            f"{source} {split} split {target}: measured {check['mape']:.2f}% MAPE, target "
            f"{val.MAPE_TARGETS[split][target]:.0f}%")))
    assert check["ok"], check
