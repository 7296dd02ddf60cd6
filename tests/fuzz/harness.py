"""The fuzz suite's one invariant (profiles and fixtures: ``conftest.py``).

Every case calls ``hwsim.cli.main(argv)`` in a fresh sandbox folder (the working directory,
so default output paths land there too) and checks the contract of the CLI:

- exit 0 with valid output (for ``--json``: stdout is one object a strict parser reads, no
  NaN or Infinity), or
- exit 2 with exactly one stderr line, starting ``error:``, and the sandbox unchanged (no new
  file, no partial file, no existing file touched);
- never an exception escaping ``main`` (a traceback), never a hang: each case runs under a
  wall-clock alarm and hypothesis' ``deadline``.

"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import click
import pytest
from hypothesis import settings

from hwsim.cli import cli, main
from tests.fuzz import corpus


def fuzz_settings() -> settings:
    """The settings every fuzz test runs under: the profile named by ``HWSIM_FUZZ_PROFILE``
    (default ``fuzz``; both are registered in ``tests/fuzz/conftest.py``)."""
    return settings.get_profile(os.environ.get("HWSIM_FUZZ_PROFILE", "fuzz"))


#: Seconds one case may take before it counts as a hang (the deadline reports slow cases
#: that finish; this stops one that would not).
HANG_S = 60
#: SCALE-Sim's .cfg and topology files, valid inputs of ``hwsim scalesim``
SCALESIM_DATA = Path(__file__).parents[1] / "data" / "scalesim"


class Hang(BaseException):
    """Raised by the alarm in a case that runs too long (a BaseException, so no ``except
    Exception`` or ``except OSError`` in the code under test can swallow it)."""


def _alarm(signum, frame):  # pragma: no cover - only runs when a case hangs
    raise Hang("no answer within the time limit")


def strict_json(text: str):
    """Parse ``text`` as exactly one JSON value, refusing NaN and +-Infinity."""

    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _snapshot(root: Path) -> dict[str, tuple[int, int] | None]:
    """Every path under ``root``: files with (size, mtime), folders as None (a temporary
    file made and removed again changes a folder's mtime, and leaves nothing behind)."""
    return {str(p.relative_to(root)): None if p.is_dir() else
            (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@dataclass(frozen=True)
class Outcome:
    argv: tuple[str, ...]
    rc: int
    out: str
    err: str
    sandbox_before: dict[str, tuple[int, int] | None]
    sandbox_after: dict[str, tuple[int, int] | None]

    def describe(self) -> str:
        return (f"hwsim {' '.join(map(repr, self.argv))}\n  exit {self.rc}\n"
                f"  stderr: {self.err[-600:]!r}\n  stdout: {self.out[-300:]!r}")


@cache
def _valid_inputs() -> dict[str, bytes]:
    return {"model.onnx": corpus.valid_onnx_bytes(),
            "graph.json": json.dumps(corpus.tiny_graph()).encode(),
            "sweep.yaml": corpus.SWEEP_OK.encode(), "swept/sweep.db": corpus.swept_db(),
            **{name: (SCALESIM_DATA / name).read_bytes()
               for name in ("calc_os.cfg", "gemm.csv", "conv.csv")}}


@contextlib.contextmanager
def sandbox() -> Iterator[Path]:
    """A fresh working folder holding a file, a non-empty and an empty folder (targets the
    strategies name as outputs: ``existing.txt``, ``full/``, ``empty/``) and two valid
    inputs: ``model.onnx``, ``graph.json`` (a two-op graph), ``sweep.yaml`` (a two-point sweep),
    ``swept/`` (that sweep, done) and SCALE-Sim's ``calc_os.cfg``, ``gemm.csv``, ``conv.csv``."""
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="hwsim-fuzz-") as tmp:
        root = Path(tmp)
        for name, data in _valid_inputs().items():
            (root / name).parent.mkdir(exist_ok=True)
            (root / name).write_bytes(data)
        (root / "existing.txt").write_text("a user's file\n")
        (root / "full").mkdir()
        (root / "full" / "keep.txt").write_text("keep\n")
        (root / "empty").mkdir()
        os.chdir(root)
        try:
            yield root
        finally:
            os.chdir(cwd)


def run_cli(argv: list[str], inputs: dict[str, bytes] | None = None, *,
            limit_s: float = HANG_S) -> Outcome:
    """Run ``main(argv)`` in a sandbox holding ``inputs`` (name -> bytes), stopped as a hang
    after ``limit_s`` seconds; exceptions propagate (a failure)."""
    argv = [str(a) for a in argv]
    with sandbox() as root:
        for name, data in (inputs or {}).items():
            (root / name).write_bytes(data)
        before = _snapshot(root)
        out, err = io.StringIO(), io.StringIO()
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit_s)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = main(argv)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        return Outcome(tuple(argv), rc, out.getvalue(), err.getvalue(), before,
                       _snapshot(root))


def check(outcome: Outcome, *, as_json: bool | None = None) -> Outcome:
    """Assert the CLI contract on one outcome (``as_json`` defaults to ``--json`` in argv)."""
    o = outcome
    if as_json is None:
        as_json = "--json" in o.argv
    if o.rc == 0:
        if as_json:
            try:
                strict_json(o.out)
            except ValueError as exc:
                pytest.fail(f"--json output is not one strict JSON value ({exc}):\n"
                            f"{o.describe()}")
        return o
    assert o.rc == 2, f"exit status must be 0 or 2:\n{o.describe()}"
    lines = o.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and o.err.endswith("\n"), (
        f"an error must be exactly one stderr line 'error: ...':\n{o.describe()}")
    assert o.sandbox_after == o.sandbox_before, (
        f"files changed although the command failed: "
        f"{sorted(set(o.sandbox_after.items()) ^ set(o.sandbox_before.items()))}\n"
        f"{o.describe()}")
    return o


def fuzz_cli(argv: list[str], *, inputs: dict[str, bytes] | None = None,
             as_json: bool | None = None, limit_s: float = HANG_S) -> Outcome:
    return check(run_cli(argv, inputs, limit_s=limit_s), as_json=as_json)


def leaf_commands() -> list[tuple[str, ...]]:
    """Every runnable command of ``hwsim`` as its path, e.g. ``("workload", "show")``."""
    out = []

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(click.Context(cmd)):
                walk(cmd.get_command(click.Context(cmd), name), (*path, name))
        else:
            out.append(path)

    walk(cli, ())
    return out


def command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.get_command(click.Context(cmd), name)
    return cmd
