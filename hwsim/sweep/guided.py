"""Guided search: Optuna's multi-objective samplers pick which grid points to evaluate.

Optuna (a maintained optimiser with multi-objective samplers, constraints and an ask/tell
interface) proposes a choice for every axis with more than one value (a categorical
distribution over the positions of the axis's values, since a value may be a tuple, which
Optuna's categorical choices cannot hold); the driver turns each proposal into a point, evaluates
batches of them through the sweep's evaluator (process pool or Dask), stores each under its
canonical key and tells Optuna the objectives and, when the sweep has constraints, their
relative excess (``Trial.set_constraint``, which Optuna 5's samplers read; it replaced the
samplers' ``constraints_func``, deprecated in 5.0). ``budget`` counts evaluations, not
proposals: a proposal of a point already evaluated is answered from what is known, at no
cost.

Before the sampler chooses anything, a warm start (``warm_start`` of the budget, see
:mod:`hwsim.sweep.spec`) enqueues the points that a cheap prediction of every grid point
(:func:`hwsim.sweep.surrogate.predict`: closed forms and the cost model, no simulation) ranks
best: its non-dominated layers in turn, the predicted first front first, points predicted to
break a constraint last. They are evaluated through the study like any trial, so the sampler
is told their true objectives and spends the rest of the budget from there. The grid's own
front is never consulted. Sweeps whose devices are not predicted (or grids over
:data:`WARM_START_MAX_GRID` points) start from the sampler alone.

A re-run in the same folder first tells Optuna every stored point of the sweep (its values
and constraints), so a resumed search continues from what was done and never evaluates a key
twice. Stored failures count as spent evaluations and are not retried.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from typing import Any

from hwsim import __version__
from hwsim.sweep.costs import ALL_METRICS, assess, constraint_values, objective_values
from hwsim.sweep.spec import Point, Sweep, make_point
from hwsim.sweep.store import Store

#: proposals in a row that are already known before a random unevaluated point is enqueued
#: (Optuna's samplers repeat points of a small categorical space once they converge)
DUPLICATE_LIMIT = 20
#: NSGA-II population default: Optuna's 50 unless a fifth of the budget is smaller (with a
#: budget of 50 or so, Optuna's default would make the whole search its random first
#: generation); never below 8
NSGA2_MAX_POPULATION = 50
#: grids larger than this are not predicted point by point for a warm start
WARM_START_MAX_GRID = 20_000


def _numeric(values: tuple[Any, ...]) -> bool:
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def make_sampler(sweep: Sweep) -> Any:
    """The Optuna sampler the sweep names, seeded, with its knobs."""
    import optuna

    name, knobs = sweep.sampler[0], dict(sweep.sampler[1])
    if name == "nsga2":
        knobs.setdefault("population_size",
                         max(8, min(NSGA2_MAX_POPULATION, (sweep.budget or 0) // 5)))
        return optuna.samplers.NSGAIISampler(seed=sweep.seed, **knobs)
    if name == "tpe":
        knobs.setdefault("multivariate", True)  # the axes interact (rows x cols x dataflow)
        return optuna.samplers.TPESampler(seed=sweep.seed, **knobs)
    return optuna.samplers.RandomSampler(seed=sweep.seed)


@contextmanager
def _quiet_optuna():
    """Optuna logs every trial at INFO; the progress bar says enough."""
    import optuna

    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)


class _Search:
    """One guided run: the study, what is known by key, the axes Optuna chooses."""

    def __init__(self, sweep: Sweep) -> None:
        import optuna
        from optuna.distributions import CategoricalDistribution, IntDistribution

        self.sweep = sweep
        # numeric axes in increasing order, as integer positions (the samplers then know
        # that 16 lies between 8 and 32); the others as categories of positions
        self.axes = {n: (tuple(sorted(v)) if _numeric(v) else v)
                     for n, v in sweep.axes if len(v) > 1}
        self.free = {n: IntDistribution(0, len(v) - 1) if _numeric(v) else
                     CategoricalDistribution(list(range(len(v))))
                     for n, v in self.axes.items()}
        self.fixed = {n: v[0] for n, v in sweep.axes if len(v) == 1}
        self.study = optuna.create_study(
            directions=["maximize" if d == "max" else "minimize" for d in sweep.directions],
            sampler=make_sampler(sweep))
        self.known: dict[str, dict[str, Any]] = {}  # key -> assessed outcome
        self.rng = random.Random(sweep.seed)

    def reseed(self, rows: list[dict[str, Any]]) -> None:
        """Tell the study every stored point of this sweep's grid."""
        import optuna

        for row in rows:
            params = self._params(row["choice"])
            if params is None:
                continue
            outcome = {"status": row["status"], "violation": row["violation"],
                       "metrics": {m: row.get(m) for m in ALL_METRICS}}
            self.known[row["key"]] = outcome
            values = self._values(outcome)
            if values is None:
                trial = optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                                  params=params, distributions=self.free)
            else:
                trial = optuna.trial.create_trial(
                    params=params, distributions=self.free, values=values,
                    constraints=self._constraints(outcome))
            self.study.add_trial(trial)

    def _values(self, outcome: dict[str, Any]) -> list[float] | None:
        """The objectives as told: log(1 + v), a monotone map (dominance is unchanged) under
        which metrics spanning decades (cycles, pJ, transistors) vary more evenly."""
        if outcome["status"] != "done":
            return None
        values = objective_values(self.sweep, outcome)
        return None if values is None else [math.log1p(max(v, 0.0)) for v in values]

    def _params(self, choice: dict[str, Any] | None) -> dict[str, int] | None:
        """Optuna's parameters (value positions) of a stored choice; None if the choice is
        not a point of this sweep's grid."""
        axes = dict(self.sweep.axes)
        if choice is None or set(choice) != set(axes):
            return None
        plain = {n: tuple(v) if isinstance(v, list) else v for n, v in choice.items()}
        if any(plain[n] not in axes[n] for n in axes):
            return None
        return {n: self.axes[n].index(plain[n]) for n in self.free}

    def _choice(self, params: dict[str, int]) -> dict[str, Any]:
        return {**self.fixed, **{n: self.axes[n][i] for n, i in params.items()}}

    def tell(self, trial: Any, outcome: dict[str, Any]) -> None:
        import optuna

        values = self._values(outcome)
        if values is None:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        for name, value in self._constraints(outcome).items():
            trial.set_constraint(name, value)
        self.study.tell(trial, values)

    def _constraints(self, outcome: dict[str, Any]) -> dict[str, float]:
        values = constraint_values(self.sweep, outcome["metrics"])
        return {f"{i}:{c.metric}": v for i, (c, v) in
                enumerate(zip(self.sweep.constraints, values, strict=True))}

    def propose(self, n: int) -> dict[str, tuple[Point, list[Any]]]:
        """Up to ``n`` new points to evaluate, with the trials waiting for each."""
        batch: dict[str, tuple[Point, list[Any]]] = {}
        repeats = 0
        while len(batch) < n:
            trial = self.study.ask(self.free)
            point = make_point(self._choice(trial.params))
            if point.key in self.known:
                self.tell(trial, self.known[point.key])
            elif point.key in batch:
                batch[point.key][1].append(trial)
            else:
                batch[point.key] = (point, [trial])
                repeats = 0
                continue
            repeats += 1
            if repeats >= DUPLICATE_LIMIT:
                fresh = self._unseen(batch)
                if fresh is None:
                    break  # every point of the grid is known
                self.study.enqueue_trial(self._params(fresh))
                repeats = 0
        return batch

    def warm_start(self) -> int:
        """Enqueue the predicted-best points not evaluated yet (see the module doc); returns
        how many were planned in all (the same on a resumed run)."""
        import numpy as np

        from hwsim.sweep.surrogate import predict

        sweep = self.sweep
        n = round(sweep.warm_start * (sweep.budget or 0))
        if n == 0 or sweep.grid_size > WARM_START_MAX_GRID:
            return 0
        choices, losses, broken = [], [], []
        signs = [-1.0 if d == "max" else 1.0 for d in sweep.directions]
        seen: set[str] = set()
        for i in range(sweep.grid_size):
            point = make_point(sweep._choice(i))
            if point.key in seen:
                continue
            seen.add(point.key)
            guess = predict(point)
            if guess is None or any(guess.get(o) is None for o in sweep.objectives):
                return 0
            choices.append((point.key, point.choice))
            losses.append([s * guess[o] for s, o in zip(signs, sweep.objectives, strict=True)])
            broken.append(any(c.violation(guess.get(c.metric)) for c in sweep.constraints))
        order = _layers(np.asarray(losses), np.asarray(broken))
        planned = [choices[i] for i in order[:n]]
        for key, choice in planned:
            if key not in self.known:
                self.study.enqueue_trial(self._params(choice))
        return len(planned)

    def _unseen(self, batch: dict[str, Any]) -> dict[str, Any] | None:
        """A random choice of the grid whose point is neither known nor in ``batch``."""
        n = self.sweep.grid_size
        order = self.rng.sample(range(n), min(n, 1000))
        for i in [*order, *range(n)]:
            choice = self.sweep._choice(i)
            key = make_point(choice).key
            if key not in self.known and key not in batch:
                return choice
        return None


def _layers(losses: Any, last: Any) -> list[int]:
    """Row indices by non-dominated layer of ``losses`` (every column minimised), rows in
    ``last`` after all others; within a layer, spread along it (:func:`_spread`), so that
    a budget that ends inside a layer takes points from all of it."""
    import numpy as np

    from hwsim.sweep.pareto import non_dominated

    order: list[int] = []
    for group in (np.flatnonzero(~last), np.flatnonzero(last)):
        left = group
        while len(left):
            front = non_dominated(losses[left])
            layer = left[front]
            order += _spread(sorted(layer.tolist(), key=lambda i: tuple(losses[i])))
            left = left[~front]
    return order


def _spread(items: list[int]) -> list[int]:
    """``items`` reordered so that every prefix spreads over the whole list: both ends, the
    middle, the quarters, ... (positions in van der Corput order)."""
    n = len(items)
    if n <= 2:
        return items
    out, taken = [items[0], items[-1]], {0, n - 1}
    denom = 2
    while len(out) < n:
        for num in range(1, denom, 2):
            i = round(num * (n - 1) / denom)
            if i not in taken:
                taken.add(i)
                out.append(items[i])
        denom *= 2
    return out


def run_guided(sweep: Sweep, store: Store, evaluator: Callable[[list[Point]], Iterable[Any]],
               progress: Callable[[int, int], Any] | None = None) -> int:
    """Spend what is left of ``sweep.budget`` in ``store``; returns the evaluations made."""
    assert sweep.budget is not None
    with _quiet_optuna():
        search = _Search(sweep)
        search.reseed(store.finished())
        search.warm_start()
        spent = len(search.known)
        bar = progress(min(spent, sweep.budget), sweep.budget) if progress else None
        if bar is not None:
            next(bar, None)
        slots = max(1, int(getattr(evaluator, "slots", 1)))
        made = 0
        try:
            while spent + made < sweep.budget:
                batch = search.propose(min(slots, sweep.budget - spent - made))
                if not batch:
                    break
                store.add_plan([p for p, _ in batch.values()])
                for point, outcome in evaluator([p for p, _ in batch.values()]):
                    outcome = assess(sweep, point.canonical, outcome)
                    store.record(point.key, point.canonical, outcome, __version__)
                    search.known[point.key] = outcome
                    for trial in batch[point.key][1]:
                        search.tell(trial, outcome)
                    made += 1
                    if bar is not None:
                        next(bar, None)
        finally:
            if bar is not None:
                bar.close()
    return made


__all__ = ["make_sampler", "run_guided"]
