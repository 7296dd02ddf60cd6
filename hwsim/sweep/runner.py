"""Running a sweep: workers compute points, the driver alone writes the store.

Workers run :func:`evaluate` (a plain function of a point's task, so a process pool and
Dask run the same code); it never raises: a point that fails comes back as a ``failed``
outcome with its error. The driver writes each outcome as it arrives, so a killed run keeps
everything finished before the kill and a re-run computes only what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from hwsim import __version__
from hwsim.errors import HwsimError
from hwsim.sweep.costs import assess, preflight
from hwsim.sweep.graphs import mac_format, workload_graph
from hwsim.sweep.spec import METRICS, Point, Sweep, load_sweep
from hwsim.sweep.store import DB_NAME, SPEC_NAME, Store
from hwsim.sweep.studies import evaluate_study
from hwsim.sweep.units import evaluate_unit, failed


def evaluate(task: dict[str, Any]) -> dict[str, Any]:
    """Run one point; the outcome is ``{"status": "done"|"failed", ...}``, never an exception."""
    import json

    from hwsim.api import simulate

    if "unit" in task:
        return evaluate_unit(task)
    if "study" in task:
        return evaluate_study(task)
    start = time.perf_counter()
    try:
        wl = task["workload"]
        prec = task["precision"]
        graph = workload_graph(wl["name"], wl["phase"], wl["seq"], wl["kv_len"], wl["batch"],
                       wl["layers"], json.dumps(prec, sort_keys=True) if prec else None)
        res = simulate(task["device"], graph, **task["overrides"])
        metrics = {m: getattr(res, m) for m in METRICS}
        mac_fmt, acc_fmt = mac_format(graph)
        return {"status": "done", "metrics": metrics, "energy_pj": dict(res.energy_pj),
                "mac_fmt": mac_fmt, "acc_fmt": acc_fmt, "wall_s": time.perf_counter() - start}
    except Exception as exc:  # recorded, never stops the sweep
        return failed(exc, start)


Evaluator = Callable[[list[Point]], Iterator[tuple[Point, dict[str, Any]]]]


class PoolEvaluator:
    """Points on a local process pool of ``workers`` processes (1: in this process). The
    pool lives across calls (a guided search calls once per batch), so each worker keeps its
    workload graphs; :meth:`close` (or the end of the process) shuts it down."""

    def __init__(self, workers: int) -> None:
        self.workers = self.slots = workers
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, points: list[Point]) -> Iterator[tuple[Point, dict[str, Any]]]:
        if self.workers == 1:
            for p in points:
                yield p, evaluate(p.task)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        futures = {self._pool.submit(evaluate, p.task): p for p in points}
        try:
            for f in as_completed(futures):
                yield futures[f], f.result()
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def pool_evaluator(workers: int) -> PoolEvaluator:
    """Points on a local process pool of ``workers`` processes (1: in this process)."""
    return PoolEvaluator(workers)


def dask_evaluator(client: Any) -> Evaluator:
    """Points on a ``dask.distributed`` client; a worker lost mid-point has its points
    rerun by the scheduler, and the driver still writes each key once."""
    def run(points: list[Point]) -> Iterator[tuple[Point, dict[str, Any]]]:
        from distributed import as_completed as dask_completed

        futures = {client.submit(evaluate, p.task, key=f"hwsim-sweep-{p.key}", pure=False): p
                   for p in points}
        for f in dask_completed(list(futures)):
            yield futures[f], f.result()
    run.slots = max(1, sum(client.nthreads().values()))  # type: ignore[attr-defined]
    return run


def connect_dask(scheduler: str | None = None, local_workers: int | None = None) -> Any:
    """A dask Client: to ``scheduler`` (one clean error if unreachable), or to a new
    ``LocalCluster`` of ``local_workers`` single-threaded worker processes."""
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            return Client(scheduler, timeout="5s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise HwsimError(f"cannot reach the Dask scheduler {scheduler!r}: "
                             f"{type(exc).__name__}: {exc}") from None
    cluster = LocalCluster(n_workers=local_workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster)


def run_sweep(sweep: Sweep, folder: str | Path, evaluator: Evaluator, *,
              spec_text: str | None = None, force: bool = False,
              progress: Callable[[int, int], Iterable[None]] | None = None) -> dict[str, int]:
    """Run the points of ``sweep`` not done yet in ``folder``; returns the store's status.

    ``spec_text`` (default: the sweep's mapping as YAML) is stored as ``sweep.yaml``; a
    folder holding another sweep is refused unless ``force`` (which starts it afresh).

    ``progress(done_before, total)`` is a generator advanced once per finished point.

    A guided sweep (:mod:`hwsim.sweep.guided`) runs ``budget`` points its optimiser picks;
    every point gets its cost-model features and constraint verdict
    (:func:`hwsim.sweep.costs.assess`) before it is stored."""
    if spec_text is None:
        import yaml

        spec_text = yaml.safe_dump(sweep.source, sort_keys=False)
    if sweep.needs_costs:
        preflight()
    folder = prepare_folder(folder, spec_text, force=force)
    with Store(folder, create=True) as store:
        if sweep.search == "guided":
            from hwsim.sweep.guided import run_guided

            run_guided(sweep, store, evaluator, progress)
            return store.status()
        points = sweep.points()
        store.add_plan(points)
        done = store.done_keys()
        todo = [p for p in points if p.key not in done]
        bar = progress(len(points) - len(todo), len(points)) if progress else None
        if bar is not None:
            next(bar, None)
        try:
            for point, outcome in evaluator(todo) if todo else ():
                store.record(point.key, point.canonical,
                             assess(sweep, point.canonical, outcome), __version__)
                if bar is not None:
                    next(bar, None)
        finally:
            if bar is not None:
                bar.close()
        return store.status()


def prepare_folder(folder: str | Path, spec_text: str, *, force: bool) -> Path:
    """The sweep folder, with ``spec_text`` stored as its spec. A folder holding another
    sweep, or anything else, is refused unless ``force`` (which clears its store)."""
    from hwsim.io import atomic_write_text, check_output_dir, make_dirs

    folder = Path(folder)
    spec_path = folder / SPEC_NAME
    same = spec_path.is_file() and spec_path.read_text(encoding="utf-8") == spec_text
    if not same and folder.is_dir() and any(folder.iterdir()):
        if not force:
            what = "another sweep" if spec_path.is_file() else "other files"
            raise HwsimError(f"{str(folder)!r} holds {what}; choose another --out, or --force "
                             "to start this sweep there afresh")
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            (folder / name).unlink(missing_ok=True)
    folder = make_dirs(check_output_dir(folder, force=True))
    if not same:
        atomic_write_text(spec_path, spec_text)
    return folder


def run_file(path: str | Path, folder: str | Path, evaluator: Evaluator, **kw: Any
             ) -> dict[str, int]:
    """:func:`run_sweep` on a sweep file (its text is stored beside the results)."""
    sweep = load_sweep(path)
    return run_sweep(sweep, folder, evaluator, spec_text=Path(path).read_text(encoding="utf-8"),
                     **kw)


__all__ = ["PoolEvaluator", "connect_dask", "dask_evaluator", "evaluate", "pool_evaluator",
           "prepare_folder", "run_file", "run_sweep"]
