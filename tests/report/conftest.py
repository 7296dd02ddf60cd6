"""Fixtures of the report tests: a small sweep with failed points, and headless Chromium.

Chromium gating follows ``tests/tooling.py``: a missing browser or driver skips with the
reason locally and fails under CI, whose ``.ci/run`` installs Debian's ``chromium`` and
``chromium-driver``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tooling import unavailable

#: 16 points: 12 done; the 256x256 arrays fail at run time (one 256x256 tile of 8-bit words
#: needs 128 KiB of double-buffered SRAM, the default is 64 KiB), so failures are real ones
SMALL_SWEEP = """\
device: {name: systolic, rows: [16, 256], cols: [16, 256], dataflow: [os, ws]}
workload: {name: resnet18, layers: 3}
format: [int8, fp8_e4m3fn]
objectives: [total_cycles, energy_total_pj, utilisation]
"""


@pytest.fixture(scope="session")
def sweep_dir(tmp_path_factory) -> Path:
    """A finished sweep folder of :data:`SMALL_SWEEP` (run in this process)."""
    import yaml

    from hwsim.sweep import parse_sweep, pool_evaluator, run_sweep

    folder = tmp_path_factory.mktemp("report") / "small"
    status = run_sweep(parse_sweep(yaml.safe_load(SMALL_SWEEP)), folder, pool_evaluator(1),
                       spec_text=SMALL_SWEEP)
    assert status == {"done": 12, "failed": 4, "pending": 0}
    return folder


@pytest.fixture(scope="session")
def chrome():
    """A headless Chromium driven by selenium, with its console log kept."""
    missing = [t for t in ("chromium", "chromedriver") if shutil.which(t) is None]
    if missing:
        unavailable("chromium and chromium-driver (Debian packages; .ci/run installs them)",
                    f"{' and '.join(missing)} not on PATH (apt-get install chromium "
                    "chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium", "selenium is not installed (pip install -e '.[dev]')")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    # --no-sandbox: CI and containers run as root, where Chromium's sandbox refuses to start
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
