"""Declarative design-space sweeps: a sweep file expanded into points (a grid, a random
sample, or a guided search by Optuna warm-started from a cheap surrogate), run on a local
process pool or a Dask cluster, each point stored once in SQLite (resumable, lossless) with
its cost-model features; the Pareto front of what is stored. Devices x workloads, RTL
units (``unit:``, synthesised as the cost-model dataset is: :func:`dataset_frame`), or the
studies of ``sim_results/`` (``study:``, what ``hwsim reproduce`` runs).

>>> from hwsim.sweep import load_sweep, run_sweep, pool_evaluator
>>> run_sweep(load_sweep("sweeps/quick.yaml"), "out/quick", pool_evaluator(2))
{'done': 72, 'failed': 0, 'pending': 0}
>>> pareto_front("out/quick")  # the sweep file's objectives
"""

from hwsim.sweep.costs import ALL_METRICS
from hwsim.sweep.pareto import front_recall, pareto_front
from hwsim.sweep.runner import (
    PoolEvaluator,
    connect_dask,
    dask_evaluator,
    evaluate,
    pool_evaluator,
    prepare_folder,
    run_file,
    run_sweep,
)
from hwsim.sweep.spec import (
    COST_METRICS,
    METRICS,
    Constraint,
    Point,
    Sweep,
    load_sweep,
    make_point,
    parse_sweep,
)
from hwsim.sweep.store import Store, dataset_frame, export

__all__ = ["ALL_METRICS", "COST_METRICS", "METRICS", "Constraint", "Point", "PoolEvaluator",
           "Store", "Sweep", "connect_dask", "dask_evaluator", "dataset_frame", "evaluate",
           "export", "front_recall", "load_sweep", "make_point", "pareto_front", "parse_sweep",
           "pool_evaluator", "prepare_folder", "run_file", "run_sweep"]
