"""Declarative design-space sweeps: a sweep file expanded into points, run on a local
process pool or a Dask cluster, each point stored once in SQLite (resumable, lossless).

>>> from hwsim.sweep import load_sweep, run_sweep, pool_evaluator
>>> run_sweep(load_sweep("sweeps/quick.yaml"), "out/quick", pool_evaluator(2))
{'done': 72, 'failed': 0, 'pending': 0}
"""

from hwsim.sweep.runner import (
    connect_dask,
    dask_evaluator,
    evaluate,
    pool_evaluator,
    prepare_folder,
    run_file,
    run_sweep,
)
from hwsim.sweep.spec import METRICS, Point, Sweep, load_sweep, make_point, parse_sweep
from hwsim.sweep.store import Store, export

__all__ = ["METRICS", "Point", "Store", "Sweep", "connect_dask", "dask_evaluator", "evaluate",
           "export", "load_sweep", "make_point", "parse_sweep", "pool_evaluator",
           "prepare_folder", "run_file", "run_sweep"]
