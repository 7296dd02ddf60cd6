"""Fixtures of the fuzz suite; its settings and the CLI contract live in ``harness.py``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from tests.fuzz import corpus


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
