"""Make ``import workloads`` find the package, not this test folder.

pytest (rootdir-based import mode) puts ``tests/`` on ``sys.path``; ``tests/workloads`` then
looks like a namespace package named ``workloads`` and wins over the editable install's
finder, which runs after ``sys.path``. Putting the repository root on the path lets the real
(regular) package win. A project-wide ``pythonpath = ["."]`` or ``--import-mode=importlib``
in the pytest configuration would make this file unnecessary.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("workloads"), "__file__", "") is None:  # namespace already cached
    del sys.modules["workloads"]
