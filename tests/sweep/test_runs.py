"""Running sweeps: results equal hwsim.api.simulate, resume, failures recorded, a SIGKILLed
driver and a killed Dask worker lose nothing and duplicate nothing, status and export."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from hwsim.api import resolve_workload, simulate
from hwsim.cli import main
from hwsim.devices.base import DeviceKind, get_device, register, unregister
from hwsim.devices.base import run as run_on
from hwsim.sweep import (
    METRICS,
    Store,
    connect_dask,
    dask_evaluator,
    parse_sweep,
    pool_evaluator,
    run_sweep,
)

SMALL = {"device": {"name": "systolic", "rows": [4, 8, 16], "dataflow": ["os", "ws"]},
         "workload": {"name": "resnet8", "layers": 3}, "format": ["int8", "fp8_e4m3fn"]}
# points that take ~0.1 s each, so a run can be killed part-way
SLOW = {"device": {"name": "systolic", "rows": [4, 8, 16, 32], "cols": [4, 8],
                   "dataflow": ["os", "ws", "is"]},
        "workload": "resnet18", "format": ["int8"]}


def _rows(folder: Path) -> pd.DataFrame:
    with Store(folder) as store:
        return store.frame()


def _counting(evaluator):
    calls: list[str] = []

    def run(points):
        calls.extend(p.key for p in points)
        yield from evaluator(points)
    return run, calls


def test_points_equal_the_api_and_a_rerun_skips_them(tmp_path):
    sweep = parse_sweep(SMALL)
    status = run_sweep(sweep, tmp_path, pool_evaluator(2))
    assert status == {"done": 12, "failed": 0, "pending": 0}
    rows = _rows(tmp_path).set_index("key")
    for p in sweep.points():
        graph = resolve_workload("resnet8", precision=_prec(p.task)).head(3)
        res = simulate("systolic", graph, **p.task["overrides"])
        got = rows.loc[p.key]
        assert got["status"] == "done"
        for m in METRICS:
            assert got[m] == pytest.approx(getattr(res, m), rel=1e-12), m
        assert json.loads(got["energy_pj"]) == pytest.approx(res.energy_pj)
    evaluator, calls = _counting(pool_evaluator(1))
    assert run_sweep(sweep, tmp_path, evaluator) == status and calls == []
    # with a point's row gone, only that point runs again
    with sqlite3.connect(tmp_path / "sweep.db") as c:
        c.execute("DELETE FROM results WHERE key = ?", (sweep.points()[5].key,))
    evaluator, calls = _counting(pool_evaluator(1))
    assert run_sweep(sweep, tmp_path, evaluator) == status
    assert calls == [sweep.points()[5].key]


def _prec(task):
    from workloads.formats import Precision

    return Precision(**task["precision"])


@dataclasses.dataclass(frozen=True)
class FlakySpec:
    rows: int = 4
    fail: bool = False


def _run_flaky(spec, workload, *, costs=None, trace=False):
    if spec.fail:
        raise RuntimeError(f"flaky device broke on rows={spec.rows}")
    return run_on(get_device("systolic", rows=spec.rows, cols=4), workload, costs=costs)


FLAKY = DeviceKind(name="flaky", summary="fails when told to (tests)", spec_type=FlakySpec,
                   run=_run_flaky, presets=lambda: {"flaky": FlakySpec}, default_preset="flaky")


@pytest.fixture
def flaky():
    register(FLAKY)
    yield
    unregister("flaky")


def test_a_point_that_raises_is_recorded_and_the_sweep_finishes(tmp_path, flaky):
    sweep = parse_sweep({"device": {"name": "flaky", "rows": [4, 8], "fail": [False, True]},
                         "workload": {"name": "resnet8", "layers": 1}})
    assert run_sweep(sweep, tmp_path, pool_evaluator(1)) == {"done": 2, "failed": 2,
                                                              "pending": 0}
    failed = _rows(tmp_path).query("status == 'failed'")
    assert sorted(failed["error"].str.extract(r"rows=(\d+)")[0].astype(int)) == [4, 8]
    assert failed["error"].str.startswith("RuntimeError: flaky device broke").all()
    assert failed["total_cycles"].isna().all()
    # a re-run retries the failed points in place (still one row per key)
    run_sweep(sweep, tmp_path, pool_evaluator(1))
    assert len(_rows(tmp_path)) == 4


def _nulls(df: pd.DataFrame) -> pd.DataFrame:
    """Every missing value as None (CSV reads an empty cell as NaN)."""
    return df.astype(object).where(df.notna(), None)


def _write(folder: Path, data: dict) -> Path:
    path = folder / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _count(db: Path) -> tuple[int, int]:
    """Result rows and distinct keys ((0, 0) while the store is being created)."""
    if not db.is_file():
        return 0, 0
    with sqlite3.connect(db) as c:
        try:
            return c.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM results").fetchone()
        except sqlite3.OperationalError:
            return 0, 0


def test_sigkill_of_a_running_sweep_then_resume(tmp_path):
    spec, out = _write(tmp_path, SLOW), tmp_path / "out"
    n = len(parse_sweep(SLOW).points())
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hwsim.cli import main; sys.exit(main())",
         "sweep", str(spec), "-o", str(out), "--workers", "2"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = out / "sweep.db"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if _count(db)[0] >= 5:
                break
            time.sleep(0.05)
        before = _rows(out)
        assert 5 <= len(before) < n, "the sweep must be killed part-way"
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its pool
    finally:
        proc.wait(30)
    after_kill = _rows(out)
    assert len(after_kill) >= len(before)
    pd.testing.assert_frame_equal(after_kill.set_index("key").loc[before["key"]].reset_index(),
                                  before)
    assert main(["sweep", str(spec), "-o", str(out), "--workers", "1", "--json"]) == 0
    total, distinct = _count(db)
    assert total == distinct == n
    final = _rows(out).set_index("key")
    pd.testing.assert_frame_equal(final.loc[after_kill["key"]].reset_index(), after_kill)


@pytest.fixture(scope="module")
def dask_client():
    client = connect_dask(local_workers=2)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


def test_dask_local_cluster_equals_the_pool(tmp_path, dask_client):
    sweep = parse_sweep(SMALL)
    run_sweep(sweep, tmp_path / "pool", pool_evaluator(2))
    status = run_sweep(sweep, tmp_path / "dask", dask_evaluator(dask_client))
    assert status == {"done": 12, "failed": 0, "pending": 0}
    cols = ["key", "status", "params", *METRICS, "energy_pj"]
    pd.testing.assert_frame_equal(_rows(tmp_path / "pool")[cols], _rows(tmp_path / "dask")[cols])


def test_killing_a_dask_worker_mid_run_loses_and_duplicates_nothing(tmp_path, dask_client):
    sweep = parse_sweep(SLOW)
    n = len(sweep.points())
    pids = dask_client.run(os.getpid)  # worker address -> its process id
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(
        run_sweep(sweep, tmp_path, dask_evaluator(dask_client))))
    thread.start()
    db = tmp_path / "sweep.db"
    while thread.is_alive() and _count(db)[0] < 3:
        time.sleep(0.02)
    pending = n - _count(db)[0]
    os.kill(next(iter(pids.values())), signal.SIGKILL)
    thread.join(120)
    assert pending > 0 and not thread.is_alive()
    assert result == {"done": n, "failed": 0, "pending": 0}
    assert _count(db) == (n, n)


def test_unreachable_scheduler_is_one_clean_error(tmp_path, capsys):
    spec = _write(tmp_path, SMALL)
    rc = main(["sweep", str(spec), "-o", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: cannot reach the Dask scheduler") and \
        err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_cli_status_export_and_force(tmp_path, capsys):
    spec, out = _write(tmp_path, SMALL), tmp_path / "out"
    assert main(["sweep", str(spec), "-o", str(out), "--workers", "1"]) == 0
    assert (out / "sweep.yaml").read_text() == spec.read_text()
    capsys.readouterr()
    assert main(["sweep", "status", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"done": 12, "failed": 0, "pending": 0}
    store = _rows(out)
    for name in ("r.parquet", "r.csv"):
        assert main(["sweep", "export", str(out), "-o", str(tmp_path / name)]) == 0
        back = (pd.read_parquet(tmp_path / name) if name.endswith("parquet") else
                pd.read_csv(tmp_path / name))
        pd.testing.assert_frame_equal(_nulls(back), _nulls(store), check_dtype=False)
        # nothing overwritten unasked
        assert main(["sweep", "export", str(out), "-o", str(tmp_path / name)]) == 2
    # another sweep into the same folder is refused, then started afresh with --force
    other = _write(tmp_path, {**SMALL, "format": ["int8"]})
    capsys.readouterr()
    assert main(["sweep", str(other), "-o", str(out)]) == 2
    assert "holds another sweep" in capsys.readouterr().err
    assert main(["sweep", str(other), "-o", str(out), "--force", "--workers", "1"]) == 0
    assert len(_rows(out)) == 6
    assert main(["sweep", "status", str(tmp_path), "--json"]) == 2
