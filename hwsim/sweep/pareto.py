"""The Pareto front of a sweep: its stored points that no other point dominates.

A point dominates another when it is at least as good in every objective and better in one
(minimised objectives lower, maximised higher). Only rows that count are compared: ``done``,
meeting the constraints (``violation`` empty) and with every objective known. Two points with
equal objectives are both on the front when nothing dominates them.

The test is a vectorised numpy comparison of every candidate with every row, in blocks
(Optuna's own non-dominated sort is private API, so it is not used here); tests check it
against a plain pairwise loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.errors import HwsimError

#: candidate rows compared at once (memory: BLOCK x rows x objectives booleans)
BLOCK = 256


def non_dominated(losses: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``losses`` (n x k, every column minimised) that no row
    dominates."""
    losses = np.asarray(losses, dtype=float)
    n = len(losses)
    keep = np.ones(n, dtype=bool)
    for start in range(0, n, BLOCK):
        block = losses[start:start + BLOCK, None, :]
        no_worse = (losses[None, :, :] <= block).all(axis=2)
        better = (losses[None, :, :] < block).any(axis=2)
        keep[start:start + BLOCK] = ~(no_worse & better).any(axis=1)
    return keep


def _objectives(objectives: Any, folder: Path | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from hwsim.sweep.spec import parse_objectives
    from hwsim.sweep.store import SPEC_NAME

    if objectives is None:
        if folder is None:
            raise HwsimError("pareto_front: give the objectives with a DataFrame")
        from hwsim.sweep.spec import load_sweep

        sweep = load_sweep(folder / SPEC_NAME)
        return sweep.objectives, sweep.directions
    if isinstance(objectives, str):
        objectives = [objectives]
    entries = [{"name": o[0], "direction": o[1]} if isinstance(o, tuple) else o
               for o in objectives]
    return parse_objectives(entries)


def pareto_front(folder_or_frame: Any, objectives: Sequence[Any] | None = None) -> Any:
    """The non-dominated rows of a sweep folder's store (or of a results DataFrame) for
    ``objectives``: metric names (each minimised unless it is higher-is-better, like
    ``utilisation``), ``(name, "min"|"max")`` pairs or ``{name:, direction:}`` mappings as in
    a sweep file; default (a folder only): the sweep file's objectives. Returns a DataFrame
    of those rows, sorted by the objectives, index reset."""
    import pandas as pd

    folder = None
    if isinstance(folder_or_frame, pd.DataFrame):
        df = folder_or_frame
    else:
        from hwsim.sweep.store import Store

        folder = Path(folder_or_frame)
        with Store(folder) as store:
            df = store.frame()
    names, directions = _objectives(objectives, folder)
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise HwsimError(f"pareto_front: no column {missing[0]!r} in the results; columns: "
                         f"{', '.join(df.columns)}")
    ok = df[list(names)].notna().all(axis=1)
    if "status" in df.columns:
        ok &= df["status"] == "done"
    if "violation" in df.columns:
        ok &= df["violation"].isna()
    rows = df[ok]
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    mask = non_dominated(rows[list(names)].to_numpy(float) * signs)
    return rows[mask].sort_values(list(names)).reset_index(drop=True)


def front_recall(reference: Any, found: Any, objectives: Sequence[str]) -> float:
    """Share of the reference front's distinct objective vectors that some row of ``found``
    reaches exactly (a point with the same objectives as a front point serves a designer as
    well as that point, so ties count as found)."""
    ref = {tuple(r) for r in reference[list(objectives)].to_numpy(float)}
    if not ref:
        raise HwsimError("front_recall: the reference front is empty")
    got = {tuple(r) for r in found[list(objectives)].dropna().to_numpy(float)}
    return len(ref & got) / len(ref)


__all__ = ["front_recall", "non_dominated", "pareto_front"]
