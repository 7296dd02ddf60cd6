"""Validation of the cost model: a random hold-out, leave-one-family-out, leave-one-format-out.

On the random split the model kind of each target is chosen by cross-validation on the 80%
training part only (the hold-out never influences the choice). The group splits reuse that
choice and refit per held-out group; their errors are pooled over every held-out design. Each
split reports the physically-informed baseline's errors beside the chosen model's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from costmodel.features import FEATURES
from costmodel.models import (
    MIN_ROWS,
    MODEL_KINDS,
    SEED,
    TARGETS,
    _fit_kind,
    _predict_kind,
    check_folds,
    fit_target,
    single_thread,
)
from costmodel.models import mape as _mape
from costmodel.models import r2 as _r2
from hwsim.errors import HwsimError

SPLITS = ("random", "family", "format")
BASELINE = "physical"
#: random hold-out MAPE targets in percent (the issue); leave-one-format-out may be 2x these
MAPE_TARGETS = {"area": 5.0, "delay": 8.0, "energy": 10.0}
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
    groups: int


@dataclass(frozen=True)
class ValidationReport:
    scores: tuple[SplitScore, ...]
    rows: int
    seed: int
    parity: dict[str, Any]  # target -> (y, model prediction, baseline prediction) of the hold-out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (strict: a score that is undefined, e.g. the R^2 of a hold-out of one
        design, is null, never NaN)."""
        def finite(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {"rows": self.rows, "seed": self.seed,
                "targets_mape_pct": MAPE_TARGETS,
                "scores": [{k: finite(v) for k, v in asdict(s).items()} for s in self.scores],
                "checks": self.checks()}

    def get(self, split: str, target: str) -> SplitScore:
        for s in self.scores:
            if s.split == split and s.target == target:
                return s
        raise HwsimError(f"no score for split {split!r}, target {target!r}")

    def checks(self) -> dict[str, dict[str, Any]]:
        """Each MAPE target against the random split, and 2x it against leave-one-format-out."""
        out: dict[str, dict[str, Any]] = {}
        for t, limit in MAPE_TARGETS.items():
            for split, lim in (("random", limit), ("format", 2 * limit)):
                try:
                    s = self.get(split, t)
                except HwsimError:
                    continue
                out[f"{split}/{t}"] = {"mape": s.mape, "limit": lim, "ok": s.mape <= lim}
        return out

    def table(self) -> str:
        head = (f"{'split':<8} {'target':<7} {'model':<9} {'n':>5} {'MAPE%':>7} {'R2':>7}   "
                f"{'base MAPE%':>10} {'base R2':>8}")
        lines = [head, "-" * len(head)]
        for s in self.scores:
            lines.append(f"{s.split:<8} {s.target:<7} {s.kind:<9} {s.n_test:>5} "
                         f"{s.mape:>7.2f} {s.r2:>7.3f}   {s.baseline_mape:>10.2f} "
                         f"{s.baseline_r2:>8.3f}")
        lines.append("")
        for k, c in self.checks().items():
            lines.append(f"{k:<16} MAPE {c['mape']:6.2f}% <= {c['limit']:.0f}%: "
                         f"{'ok' if c['ok'] else 'MISSED'}")
        return "\n".join(lines)


def _group_split(df: Any, x: np.ndarray, y: np.ndarray, groups: np.ndarray, kind: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    names = FEATURES.names
    truth, pred, base = [], [], []
    uniq = np.unique(groups)
    for g in uniq:
        te = groups == g
        tr = ~te
        if tr.sum() < 10:
            continue
        est = _fit_kind(kind, x[tr], y[tr], names, SEED)
        b = _fit_kind(BASELINE, x[tr], y[tr], names, SEED)
        truth.append(y[te])
        pred.append(_predict_kind(kind, est, x[te], names))
        base.append(_predict_kind(BASELINE, b, x[te], names))
    return np.concatenate(truth), np.concatenate(pred), np.concatenate(base), len(uniq)


def validate(df: Any, *, splits: Sequence[str] = SPLITS, targets: Sequence[str] = tuple(TARGETS),
             kinds: Sequence[str] = tuple(MODEL_KINDS), folds: int = 5,
             seed: int = SEED) -> ValidationReport:
    """Score the model selection on ``df`` (a dataset DataFrame) over the given splits."""
    bad = [s for s in splits if s not in SPLITS]
    if bad:
        raise HwsimError(f"unknown split {bad[0]!r}; known: {', '.join(SPLITS)}")
    if len(df) < MIN_ROWS:
        raise HwsimError(f"the dataset has {len(df)} designs; validation needs at least "
                         f"{MIN_ROWS}")
    x = FEATURES.matrix(df)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(df), dtype=bool)
    test[rng.permutation(len(df))[: max(1, round(HOLDOUT * len(df)))]] = True
    check_folds(folds, int((~test).sum()))
    scores: list[SplitScore] = []
    parity: dict[str, Any] = {}
    with single_thread():
        for t in targets:
            _validate_target(df, x, test, t, splits, kinds, folds, seed, scores, parity)
    return ValidationReport(tuple(scores), len(df), seed, parity)


def _validate_target(df: Any, x: np.ndarray, test: np.ndarray, t: str, splits: Sequence[str],
                     kinds: Sequence[str], folds: int, seed: int, scores: list[SplitScore],
                     parity: dict[str, Any]) -> None:
    names = FEATURES.names
    y = np.maximum(df[TARGETS[t]].to_numpy(float), 1e-9)
    ft = fit_target(t, x[~test], y[~test], names, kinds=kinds, folds=folds, seed=seed)
    kind = ft.kind
    if "random" in splits:
        p = ft.predict(x[test], names)
        b = _predict_kind(BASELINE, _fit_kind(BASELINE, x[~test], y[~test], names, seed),
                          x[test], names)
        scores.append(SplitScore("random", t, kind, int(test.sum()), _mape(y[test], p),
                                 _r2(y[test], p), _mape(y[test], b), _r2(y[test], b), 1))
        parity[t] = (y[test], p, b)
    for split, col in (("family", "unit"), ("format", "format")):
        if split not in splits:
            continue
        yt, p, b, ng = _group_split(df, x, y, df[col].to_numpy(str), kind)
        scores.append(SplitScore(split, t, kind, len(yt), _mape(yt, p), _r2(yt, p),
                                 _mape(yt, b), _r2(yt, b), ng))


def parity_plots(report: ValidationReport, out_dir: str | Path) -> list[Path]:
    """One PNG per target: predicted vs synthesised on the random hold-out, model and baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from costmodel.models import UNITS
    from hwsim.io import save_figure

    paths = []
    for t, (y, p, b) in report.parity.items():
        fig, ax = plt.subplots(figsize=(4.2, 4.0))
        lo, hi = float(min(y.min(), p.min())) * 0.8, float(max(y.max(), p.max())) * 1.25
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, zorder=0)
        s = report.get("random", t)
        ax.scatter(y, b, s=10, alpha=0.5, marker="x", color="tab:orange",
                   label=f"{BASELINE} baseline (MAPE {s.baseline_mape:.1f}%)")
        ax.scatter(y, p, s=10, alpha=0.7, color="tab:blue",
                   label=f"{s.kind} (MAPE {s.mape:.1f}%)")
        ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi),
               xlabel=f"synthesised {t} ({UNITS[t]})", ylabel=f"predicted {t} ({UNITS[t]})",
               title=f"{t}: random 20% hold-out (n={s.n_test})")
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        paths.append(save_figure(fig, Path(out_dir) / f"parity_{t}.png"))
        plt.close(fig)
    return paths
