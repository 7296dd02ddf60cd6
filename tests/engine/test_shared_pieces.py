"""The driver's cross-run piece cache: a sweep's points on one device simulate each shape once,
and a run served from the cache equals a run simulated afresh."""

import pytest

from hwsim.devices import get_device, run
from hwsim.devices.systolic import device
from hwsim.engine.driver import SHARED_PIECES
from workloads import build_workload


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = device._simulate_gemm

    def spy(g, spec, *a, **kw):
        calls.append((g.m, g.k, g.n, spec.name))
        return real(g, spec, *a, **kw)

    monkeypatch.setattr(device, "_simulate_gemm", spy)
    SHARED_PIECES.clear()
    yield calls
    SHARED_PIECES.clear()


def test_second_run_on_the_same_device_simulates_nothing(counted):
    g = build_workload("resnet18").head(8)
    spec = get_device("systolic", rows=16, cols=16)
    first = run(spec, g, trace=True)
    simulated = len(counted)
    assert simulated > 0
    again = run(spec, g, trace=True)
    assert len(counted) == simulated  # every piece came from the cache
    assert again.total_cycles == first.total_cycles and again.ops == first.ops
    assert again.trace == first.trace and again.energy_pj == first.energy_pj


def test_another_spec_does_not_share_pieces(counted):
    g = build_workload("resnet18").head(4)
    a = run(get_device("systolic", rows=16, cols=16), g)
    n = len(counted)
    b = run(get_device("systolic", rows=16, cols=16, dataflow="ws"), g)
    assert len(counted) > n  # simulated afresh for the other dataflow
    SHARED_PIECES.clear()
    fresh = run(get_device("systolic", rows=16, cols=16, dataflow="ws"), g)
    assert fresh.total_cycles == b.total_cycles != a.total_cycles


def test_the_table_of_devices_is_bounded():
    small = type(SHARED_PIECES)(max_devices=2)
    for ident in ("a", "b", "c"):
        small.table(ident)["k"] = ident
    assert small.table("a") == {}  # the least recently used went first
    assert small.table("c") == {"k": "c"}
