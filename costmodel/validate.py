"""Validation of the cost model on grouped hold-outs: by base design, by format, by family.

- ``design`` (the headline): every pipeline/saturate/multiplier/direction variant of one base
  design (unit, canonical format, accumulator, block) sits on one side of the split, so no
  test design has a training sibling that differs only in a register stage or a flag;
- ``format``: grouped by the format's identity (aliases resolved), so a test format was never
  seen in any unit;
- ``family``: leave-one-unit-family-out, errors pooled over every held-out design;
- ``random``: a random 20% of rows (optimistic: most test rows have a training sibling).

On ``design``, ``format`` and ``random`` a random 20% of the groups (rows, for ``random``) is held
out and each target's model kind is chosen by cross-validation on the rest with the same grouping
(``sklearn.model_selection.GroupKFold``): the hold-out never influences the choice. On ``design``
the folds, outer and inner, are stratified by unit family (``StratifiedGroupKFold``): a family's
base designs spread over the folds, so a family of two base designs (olive-decode, dequant-mac)
never has both held out at once, which would score an unseen family (the ``family`` split's
question) instead of a new design of a known one. One draw of 59
of the shipped dataset's 296 base designs is a noisy estimate (the design split's area MAPE ranges
over 4.4-7.4% between seeds), so ``outer`` k holds out every group once instead, over k outer
folds, the choice made afresh inside each fold's training part (nested cross-validation), and pools
the errors. ``family`` refits, per held-out family, the kind (and its number of trees or networks)
chosen on the ``design`` split's (first) training part. Each split reports the physically-informed
baseline's errors beside the chosen model's, the error of the learned part alone (the whole less
its exact part, see :data:`costmodel.models.EXACT`: for area the combinational transistors, for
energy the energy less the clock), and the issue's MAPE targets (:data:`MAPE_TARGETS`) beside the
scores they apply to.
Every kind reads parameter features only (:data:`costmodel.features.FEATURES`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.features import FEATURES
from costmodel.models import (
    BASELINE,
    DEFAULT_KINDS,
    MIN_ROWS,
    SEED,
    TARGETS,
    FittedTarget,
    _fit_kind,
    _predict_kind,
    check_folds,
    design_groups,
    exact_costs,
    fit_fixed,
    fit_target,
    single_thread,
)
from costmodel.models import mape as _mape
from costmodel.models import r2 as _r2
from hwsim.errors import HwsimError

#: splits in the order they are reported (the grouped ones first)
SPLITS = ("design", "format", "family", "random")
DEFAULT_SPLITS = ("design",)
#: MAPE targets in percent per split and target (the issue); scores without one are reported
MAPE_TARGETS: dict[str, dict[str, float]] = {
    "design": {"area": 5.0, "luts": 5.0, "delay": 3.0, "energy": 5.0},
    "format": {"area": 7.0, "energy": 10.0},
}
HOLDOUT = 0.2


@dataclass(frozen=True)
class SplitScore:
    split: str
    target: str
    kind: str
    n_test: int
    mape: float
    r2: float
    baseline_mape: float
    baseline_r2: float
    groups: int  # groups held out (rows, for the random split)
    # MAPE of the learned part alone (the whole less its exact part; = mape without one)
    learned_mape: float = math.nan
    # MAPE of each outer fold's held-out groups (empty for a single hold-out)
    fold_mapes: tuple[float, ...] = ()
    # per unit family among the held-out rows: (family, rows, MAPE, share of the summed
    # absolute percentage error), largest share first (the design and format splits)
    by_family: tuple[tuple[str, int, float, float], ...] = ()


@dataclass(frozen=True)
class ValidationReport:
    scores: tuple[SplitScore, ...]
    rows: int
    seed: int
    # split -> target -> (y, model prediction, baseline prediction) of the held-out designs
    parity: dict[str, dict[str, Any]]
    baseline: str = "phys"
    features: str = "parameters"
    # leave-one-family-out: target -> held-out family -> (model MAPE, baseline MAPE)
    per_family: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    # outer grouped folds (0: one random hold-out of HOLDOUT of the groups)
    outer: int = 0
    # split -> the dataset row of each entry of its parity arrays
    held_rows: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (strict: a score that is undefined, e.g. the R^2 of a hold-out of one
        design, is null, never NaN)."""
        def finite(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {"rows": self.rows, "seed": self.seed,
                "holdout": HOLDOUT if not self.outer else None, "outer_folds": self.outer,
                "fold_strata": {"design": "unit family"},
                "features": self.features, "baseline": self.baseline,
                "targets_mape_pct": MAPE_TARGETS,
                "scores": [{k: finite(v) for k, v in asdict(s).items()} for s in self.scores],
                "family_mape_pct": {t: {u: {"mape": finite(m), "baseline_mape": finite(b)}
                                        for u, (m, b) in d.items()}
                                    for t, d in self.per_family.items()},
                "checks": self.checks()}

    def get(self, split: str, target: str) -> SplitScore:
        for s in self.scores:
            if s.split == split and s.target == target:
                return s
        raise HwsimError(f"no score for split {split!r}, target {target!r}")

    def checks(self) -> dict[str, dict[str, Any]]:
        """Each score that has a MAPE target against it: met or missed."""
        return {f"{s.split}/{s.target}": {"mape": s.mape, "limit": lim, "ok": s.mape <= lim}
                for s in self.scores
                if (lim := MAPE_TARGETS.get(s.split, {}).get(s.target)) is not None}

    def table(self) -> str:
        mw = max([14] + [len(s.kind) for s in self.scores])  # outer folds may choose several
        head = (f"{'split':<8} {'target':<7} {'model':<{mw}} {'n':>5} {'groups':>6} "
                f"{'MAPE%':>7} {'target%':>7} {'R2':>7} {'learned%':>8}   {'base MAPE%':>10} "
                f"{'base R2':>8}" + (f"   {'folds MAPE%':>11}" if self.outer else ""))
        lines = [head, "-" * len(head)]
        checks = self.checks()
        for s in self.scores:
            c = checks.get(f"{s.split}/{s.target}")
            lim = f"{c['limit']:.0f}" if c else "-"
            verdict = "" if c is None else ("  ok" if c["ok"] else "  MISSED")
            lines.append(f"{s.split:<8} {s.target:<7} {s.kind:<{mw}} {s.n_test:>5} "
                         f"{s.groups:>6} {s.mape:>7.2f} {lim:>7} {s.r2:>7.3f} "
                         f"{s.learned_mape:>8.2f}   {s.baseline_mape:>10.2f} "
                         f"{s.baseline_r2:>8.3f}" + _fold_range(s) + verdict)
        if checks:
            missed = [k for k, c in checks.items() if not c["ok"]]
            lines += ["", f"targets met: {len(checks) - len(missed)}/{len(checks)}"
                      + (f"; missed: {', '.join(missed)}" if missed else "")]
        if self.outer:
            lines += [f"every group held out once, over {self.outer} grouped outer folds (the "
                      f"model chosen by cross-validation inside each fold's training part); "
                      f"MAPE pooled over all of them, each fold's lowest-highest beside it"]
            if any(s.split == "design" for s in self.scores):
                lines += ["design folds stratified by unit family: a family of two or more "
                          "base designs keeps one in training in every fold"]
        return "\n".join(lines + self._by_family_table() + self._family_table())

    def _by_family_table(self) -> list[str]:
        """Per split, each unit family's MAPE% among the held-out rows and (its share of the
        summed error): where a miss comes from."""
        lines: list[str] = []
        for split in dict.fromkeys(s.split for s in self.scores if s.by_family):
            scores = [s for s in self.scores if s.split == split and s.by_family]
            cells = {s.target: {u: (m, sh) for u, _, m, sh in s.by_family} for s in scores}
            rows = {u: n for s in scores for u, n, *_ in s.by_family}
            lines += ["", f"{split} split, MAPE% per unit family of the held-out rows (share "
                          f"of the summed error)",
                      f"{'family':<16}{'rows':>6}" + "".join(f"{s.target:>15}" for s in scores)]
            first = scores[0].by_family  # ordered by the first target's share
            for u in [f[0] for f in first]:
                lines.append(f"{u:<16}{rows[u]:>6}" + "".join(
                    f"{c[0]:>8.1f} ({100 * c[1]:>3.0f}%)" if (c := cells[s.target].get(u))
                    else f"{'-':>15}" for s in scores))
        return lines

    def _family_table(self) -> list[str]:
        """Leave-one-family-out per held-out family: model MAPE% (baseline MAPE%)."""
        if not self.per_family:
            return []
        targets = list(self.per_family)
        fams = sorted({u for d in self.per_family.values() for u in d})
        lines = ["", "leave-one-family-out, MAPE% per held-out family: model (baseline)",
                 f"{'family':<16}" + "".join(f"{t:>18}" for t in targets)]
        for u in fams:
            cells = [self.per_family[t].get(u) for t in targets]
            lines.append(f"{u:<16}" + "".join(
                f"{'-':>18}" if c is None else f"{c[0]:>9.1f} ({c[1]:>6.1f})" for c in cells))
        return lines


def _fold_range(s: SplitScore) -> str:
    if not s.fold_mapes:
        return ""
    return f"   {min(s.fold_mapes):>5.2f}-{max(s.fold_mapes):<5.2f}"


def split_groups(df: Any, split: str) -> np.ndarray:
    """The group of every row of ``df`` under ``split`` (rows in one group are held out
    together): the base design, the canonical format, the unit family, or the row itself."""
    if split == "random":
        return np.arange(len(df))
    if split == "family":
        return df["unit"].to_numpy(str)
    if split == "format":
        from costmodel.space import canonical_format

        canon = {f: canonical_format(f) for f in df["format"].astype(str).unique()}
        return np.array([canon[f] for f in df["format"].astype(str)])
    if split == "design":
        return design_groups(df)
    raise HwsimError(f"unknown split {split!r}; known: {', '.join(SPLITS)}")


def _holdout(groups: np.ndarray, seed: int, strata: np.ndarray | None = None) -> np.ndarray:
    """A random HOLDOUT share of the groups, as a row mask (at least one group, never all);
    given ``strata``, the first fold of a stratified group k-fold of 1 / HOLDOUT folds."""
    uniq = np.unique(groups)
    if len(uniq) < 2:
        raise HwsimError(f"a grouped hold-out needs at least 2 groups; the dataset has "
                         f"{len(uniq)}")
    if strata is not None and len(uniq) >= round(1 / HOLDOUT):
        return _stratified_masks(groups, strata, seed, round(1 / HOLDOUT))[0]
    rng = np.random.default_rng(seed)
    k = min(max(1, round(HOLDOUT * len(uniq))), len(uniq) - 1)
    return np.isin(groups, rng.permutation(uniq)[:k])


def _stratified_masks(groups: np.ndarray, strata: np.ndarray, seed: int, folds: int
                      ) -> list[np.ndarray]:
    """The test rows of each fold of a stratified group k-fold (:func:`cv_splitter`)."""
    from costmodel.models import cv_folds

    rows = np.arange(len(groups))
    return [np.isin(rows, te) for _, te in cv_folds(folds, seed, rows, rows, groups, strata)]


def _test_masks(split: str, groups: np.ndarray, seed: int, outer: int,
                strata: np.ndarray | None = None) -> list[np.ndarray]:
    """The held-out rows of each pass: one random :data:`HOLDOUT` share of the groups
    (``outer`` 0), or every group once over ``outer`` folds of groups shuffled by ``seed``.
    Given ``strata`` (the design split: each base design's unit family), the folds are
    stratified by it: a family's base designs spread over the passes, so a family of two or
    more base designs always keeps one in training (holding out all of one is the ``family``
    split's question, an unseen family, not a new design's)."""
    if not outer:
        return [_holdout(groups, seed, strata)]
    uniq = np.unique(groups)
    if len(uniq) < outer:
        raise HwsimError(f"{outer} outer folds need at least {outer} groups; the {split} "
                         f"split has {len(uniq)}")
    if strata is not None:
        return _stratified_masks(groups, strata, seed, outer)
    parts = np.array_split(np.random.default_rng(seed).permutation(uniq), outer)
    return [np.isin(groups, p) for p in parts]


def split_strata(df: Any, split: str) -> np.ndarray | None:
    """The strata of a split's folds: the unit family on the ``design`` split (whose groups
    each lie within one family), none on the others."""
    return df["unit"].to_numpy(str) if split == "design" else None


def check_outer(outer: int) -> None:
    if isinstance(outer, bool) or not isinstance(outer, int) or outer < 0 or outer == 1:
        raise HwsimError(f"outer folds must be 0 (one random hold-out of {HOLDOUT:.0%} of the "
                         f"groups) or an integer of at least 2, got {outer!r}")


def _leave_one_group_out(t: str, x: np.ndarray, y: np.ndarray, groups: np.ndarray,
                         names: Sequence[str], kind: str, baseline: str,
                         exact: tuple[float, np.ndarray] | None, n_iter: int = 0
                         ) -> tuple[Any, ...]:
    """Pooled held-out truth, prediction, baseline, group count, learned truth and learned
    prediction, the MAPE of each held-out group (model, baseline), and the rows pooled."""
    truth, pred, base, learned_truth, learned_pred, rows = [], [], [], [], [], []
    per_group: dict[str, tuple[float, float]] = {}
    uniq = np.unique(groups)
    for g in uniq:
        te = groups == g
        tr = ~te
        if tr.sum() < 10:
            continue
        ft, b = _fit_pair(t, kind, baseline, x[tr], y[tr], names, exact, tr, n_iter)
        rows.append(np.flatnonzero(te))
        truth.append(y[te])
        pred.append(ft.predict(x[te], names))
        base.append(_predict_kind(baseline, b, x[te], names) + ft.exact(x[te], names))
        learned_truth.append(_learned(y, exact)[te])
        learned_pred.append(ft.learned(x[te], names))
        per_group[str(g)] = (_mape(truth[-1], pred[-1]), _mape(truth[-1], base[-1]))
    return (np.concatenate(truth), np.concatenate(pred), np.concatenate(base), len(uniq),
            np.concatenate(learned_truth), np.concatenate(learned_pred), per_group,
            np.concatenate(rows))


def _learned(y: np.ndarray, exact: tuple[float, np.ndarray] | None) -> np.ndarray:
    return y if exact is None else np.maximum(y - exact[1], 1e-9)


def _fit_pair(t: str, kind: str, baseline: str, x: np.ndarray, y: np.ndarray,
              names: Sequence[str], exact: tuple[float, np.ndarray] | None, rows: np.ndarray,
              n_iter: int = 0) -> tuple[FittedTarget, Any]:
    """``kind`` (of ``n_iter`` trees or networks, if given) and the baseline fitted on ``rows`` (the
    baseline on the learned part)."""
    ex = None if exact is None else exact[1][rows]
    ft = fit_fixed(t, kind, x, y, names, exact=ex, reg_cost=exact[0] if exact else 0.0,
                   n_iter=n_iter)
    return ft, _fit_kind(baseline, x, _learned(y, None if ex is None else (0.0, ex)), names,
                         SEED)


def validate(df: Any, *, splits: Sequence[str] = SPLITS, targets: Sequence[str] = tuple(TARGETS),
             kinds: Sequence[str] = DEFAULT_KINDS, folds: int = 5, seed: int = SEED,
             outer: int = 0, progress: Callable[[int, int], Iterator[None]] | None = None
             ) -> ValidationReport:
    """Score the model selection on ``df`` (a dataset DataFrame) over the given splits.

    ``outer`` 0 holds out one random :data:`HOLDOUT` share of each grouped split's groups;
    ``outer`` k >= 2 holds out every group once, over k folds of groups, choosing the model by
    cross-validation inside each fold's training part, and pools the held-out errors: k times
    the fits, and no single draw of the hold-out decides the score. ``family`` refits the
    choice made on the ``design`` split's (first) training part. ``progress(done, total)``: a
    generator advanced once per fitted target and pass (see :func:`hwsim.sweep.run_sweep`)."""
    from costmodel.features import with_structure

    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise HwsimError(f"unknown split {bad[0]!r}; known: {', '.join(SPLITS)}")
    check_outer(outer)
    if len(df) < MIN_ROWS:
        raise HwsimError(f"the dataset has {len(df)} designs; validation needs at least "
                         f"{MIN_ROWS}")
    order = [s for s in SPLITS if s in splits]
    held = {s: _test_masks(s, split_groups(df, s), seed, outer, split_strata(df, s))
            for s in order if s != "family"}
    if "family" in order and "design" not in held:  # family refits the design split's choice
        held["design"] = [_holdout(split_groups(df, "design"), seed,
                                   split_strata(df, "design"))]
    for s, tests in held.items():  # k-fold over each training part: checked before any fit
        for test in tests:
            check_folds(folds, int((~test).sum()))
            if s != "random":
                _grouped_folds(folds, split_groups(df, s)[~test])
    df = with_structure(df)
    baseline = BASELINE
    names = FEATURES.names
    x = FEATURES.matrix(df)
    exact_all = exact_costs(df)
    units = df["unit"].to_numpy(str)
    scores: list[SplitScore] = []
    parity: dict[str, dict[str, Any]] = {}
    held_rows: dict[str, np.ndarray] = {}
    per_family: dict[str, dict[str, tuple[float, float]]] = {}
    steps = len(targets) * (sum(map(len, held.values())) + ("family" in order))
    bar = progress(0, steps) if progress else None
    tick = (lambda: next(bar, None)) if bar is not None else (lambda: None)
    tick()
    try:
        with single_thread():
            for t in targets:
                y = np.maximum(df[TARGETS[t]].to_numpy(float), 1e-9)
                exact = exact_all.get(t)
                ly = _learned(y, exact)
                chosen: dict[str, FittedTarget] = {}
                for s, tests in held.items():
                    passes = []
                    for test in tests:
                        groups = None if s == "random" else split_groups(df, s)[~test]
                        ft = fit_target(
                            t, x[~test], y[~test], names, kinds=kinds, folds=folds, seed=seed,
                            groups=groups, exact=None if exact is None else exact[1][~test],
                            reg_cost=exact[0] if exact else 0.0)
                        chosen.setdefault(s, ft)
                        if s in order:
                            b = _predict_kind(baseline, _fit_kind(baseline, x[~test], ly[~test],
                                                                  names, seed), x[test], names)
                            passes.append((test, ft.kind, ft.predict(x[test], names),
                                           b + ft.exact(x[test], names),
                                           ft.learned(x[test], names)))
                        tick()
                    if s in order:
                        held_rows[s] = _score_passes(scores, parity, s, t, passes, y, ly,
                                                     split_groups(df, s), outer, units)
                if "family" in order:
                    kind = chosen["design"].kind
                    yt, p, b, ng, lt, lp, per_group, held_rows["family"] = _leave_one_group_out(
                        t, x, y, split_groups(df, "family"), names, kind, baseline, exact,
                        chosen["design"].n_iter)
                    _score(scores, parity, "family", t, kind, yt, p, b, ng, _mape(lt, lp))
                    per_family[t] = per_group
                    tick()
    finally:
        if bar is not None:
            bar.close()
    scores.sort(key=lambda s: (SPLITS.index(s.split), list(TARGETS).index(s.target)))
    return ValidationReport(tuple(scores), len(df), seed, parity, baseline,
                            per_family=per_family, outer=outer, held_rows=held_rows)


def _score_passes(scores: list[SplitScore], parity: dict[str, dict[str, Any]], split: str,
                  t: str, passes: Sequence[tuple[np.ndarray, str, np.ndarray, np.ndarray,
                                                 np.ndarray]],
                  y: np.ndarray, ly: np.ndarray, groups: np.ndarray, outer: int,
                  units: np.ndarray) -> np.ndarray:
    """One score of a split's passes (test rows, kind, prediction, baseline, learned part),
    their held-out rows pooled in the passes' order (returned); a grouped split's also per
    family."""
    rows = np.concatenate([np.flatnonzero(test) for test, *_ in passes])
    kinds = list(dict.fromkeys(k for _, k, *_ in passes))
    p, b, lp = (np.concatenate([ps[i] for ps in passes]) for i in (2, 3, 4))
    fold_mapes = tuple(_mape(y[test], pred) for test, _, pred, *_ in passes) if outer else ()
    _score(scores, parity, split, t, "/".join(kinds), y[rows], p, b,
           len(np.unique(groups[rows])), _mape(ly[rows], lp), fold_mapes,
           _by_family(units[rows], y[rows], p) if split != "random" else ())
    return rows


def _by_family(units: np.ndarray, y: np.ndarray, p: np.ndarray
               ) -> tuple[tuple[str, int, float, float], ...]:
    """(family, rows, MAPE, share of the summed absolute percentage error) per family."""
    ape = np.abs(p - y) / y
    total = float(ape.sum()) or 1.0
    out = [(str(u), int(sel.sum()), _mape(y[sel], p[sel]), float(ape[sel].sum()) / total)
           for u in np.unique(units) for sel in [units == u]]
    return tuple(sorted(out, key=lambda r: (-r[3], r[0])))


def _grouped_folds(folds: int, groups: np.ndarray) -> None:
    from costmodel.models import cv_splitter

    cv_splitter(folds, SEED, groups)  # raises unless 2 <= folds <= groups


def _score(scores: list[SplitScore], parity: dict[str, dict[str, Any]], split: str, t: str,
           kind: str, y: np.ndarray, p: np.ndarray, b: np.ndarray, groups: int,
           learned_mape: float, fold_mapes: tuple[float, ...] = (),
           by_family: tuple[tuple[str, int, float, float], ...] = ()) -> None:
    scores.append(SplitScore(split, t, kind, len(y), _mape(y, p), _r2(y, p), _mape(y, b),
                             _r2(y, b), groups, learned_mape, fold_mapes, by_family))
    parity.setdefault(split, {})[t] = (y, p, b)


def parity_plots(report: ValidationReport, out_dir: str | Path) -> list[Path]:
    """One PNG per split and target (``parity_<split>_<target>.png``): predicted vs
    synthesised on the held-out designs, model and baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from costmodel.models import UNITS
    from hwsim.io import save_figure

    paths = []
    for split, per_target in report.parity.items():
        for t, (y, p, b) in per_target.items():
            fig, ax = plt.subplots(figsize=(4.2, 4.0))
            lo = float(min(y.min(), p.min())) * 0.8
            hi = float(max(y.max(), p.max())) * 1.25
            ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, zorder=0)
            s = report.get(split, t)
            ax.scatter(y, b, s=10, alpha=0.5, marker="x", color="tab:orange",
                       label=f"{report.baseline} baseline (MAPE {s.baseline_mape:.1f}%)")
            ax.scatter(y, p, s=10, alpha=0.7, color="tab:blue",
                       label=f"{s.kind} (MAPE {s.mape:.1f}%)")
            ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
                   xlabel=f"synthesised {t} ({UNITS[t]})", ylabel=f"predicted {t} ({UNITS[t]})",
                   title=f"{t}: {split} hold-out (n={s.n_test}, {s.groups} groups)")
            ax.legend(fontsize=7, loc="upper left")
            fig.tight_layout()
            paths.append(save_figure(fig, Path(out_dir) / f"parity_{split}_{t}.png"))
            plt.close(fig)
    return paths
