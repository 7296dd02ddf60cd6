"""The fuzz suite's hypothesis profiles and fixtures (the CLI contract: ``harness.py``).

The ``fuzz`` profile keeps the whole suite to about a minute on one core: few examples, each
bounded by a deadline; ``HWSIM_FUZZ_PROFILE=fuzz-long`` searches harder (random seeds).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz import corpus

_COMMON = dict(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run and machine: failures reproduce
    print_blob=True,
)
# deadline: a case that finishes but takes this long fails; generous, since two cores are
# shared by parallel test workers (harness.HANG_S stops a case that would not finish)
settings.register_profile("fuzz", max_examples=40, deadline=timedelta(seconds=30), **_COMMON)
settings.register_profile("fuzz-long", max_examples=1000, deadline=timedelta(seconds=30),
                          **{**_COMMON, "derandomize": False})


@pytest.fixture(scope="session")
def files(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """The malformed-file corpus (``kind -> name -> path``), built once per session."""
    return corpus.build(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="session", autouse=True)
def _load_each_cost_model_once():
    """Loading the shipped cost model takes seconds; the fuzz asks for it many times, so each
    model file is read once per session (a failed load is not cached: it raises every time)."""
    from costmodel import store

    original = store.load_model
    cached = cache(original)
    store.load_model = lambda path: cached(str(path))
    yield
    store.load_model = original
