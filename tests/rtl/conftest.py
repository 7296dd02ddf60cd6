"""Fixtures of the RTL tests: tool gating and one build folder shared by all xdist workers.

Tests that need Verilator or Yosys take the ``verilator`` / ``yosys`` fixture (and carry the
``rtl`` marker). Without the tool they skip with the reason; under CI (``CI=true``) the
``[dev]`` install must have provided it, so a missing tool fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tooling import require_tool as _require


@pytest.fixture
def verilator() -> None:
    _require("verilator")


@pytest.fixture
def yosys() -> None:
    _require("yosys")


@pytest.fixture(scope="session")
def rtl_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache for the session; the runner's file lock makes it safe across workers."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the folder all workers' base temps live in
    path = base / "rtl-builds"
    path.mkdir(exist_ok=True)
    return path
