"""Wall time of an exhaustive RTL verification (a plain script: ``python benchmarks/bench_rtl.py``).

The measured job: all 65,536 operand pairs of the fp8 E4M3 (``fp8_e4m3fn``) minifloat
multiplier through cocotb on Verilator, checked against ``hwsim.numerics``, Verilator build
included. Target: under 30 s on a 2-core CI machine. Measured three ways, each in a fresh
build folder unless said otherwise:

- cold: nothing cached (Verilator's runtime library is compiled too), what a first run pays;
- warm runtime: another unit's build already left the runtime objects, as in a test session;
- cached build: the same configuration again (simulation and comparison only).

Beside it, the same vectors in PyRTL's simulator (the fast cross-check) and the int8 integer
multiplier (the baseline unit) cold, for comparison within the same run.
Without the minifloat multiplier in the registry the int8 multiplier is measured instead.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

TARGET_S = 30.0


def _timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def main() -> None:
    import rtl.units  # noqa: F401  (registers the generators)
    from rtl.pyrtl_sim import verify_pyrtl
    from rtl.toolchain import tool_missing
    from rtl.unit import GENERATORS, build_unit
    from rtl.verify import verify_unit

    missing = tool_missing("verilator")
    if missing:
        raise SystemExit(f"cannot benchmark: {missing}")
    if "minifloat-mul" in GENERATORS:
        name, params = "minifloat-mul", {"format": "fp8_e4m3fn"}
    else:
        name, params = "int-mul", {"format": "int8"}
    label = f"{name} {params['format']}"

    def unit():
        return build_unit(name, **params)

    with tempfile.TemporaryDirectory(prefix="bench-rtl-") as tmp:
        root = Path(tmp)
        cold, t_cold = _timed(lambda: verify_unit(unit(), build_dir=root / "cold"))
        # warm runtime: build another unit first, then ours in the same build root
        verify_unit(build_unit("int-mul", format="int4"), build_dir=root / "warm")
        warm, t_warm = _timed(lambda: verify_unit(unit(), build_dir=root / "warm"))
        cached, t_cached = _timed(lambda: verify_unit(unit(), build_dir=root / "warm"))
        base, t_base = _timed(lambda: verify_unit(build_unit("int-mul", format="int8"),
                                                  build_dir=root / "baseline"))
    py, t_py = _timed(lambda: verify_pyrtl(unit()))

    for r in (cold, warm, cached, base, py):
        if not r.ok or r.vectors != 65_536:
            raise SystemExit(f"verification failed: {r.summary()}")
    print(f"exhaustive verification of {label} (65,536 vectors, 0 mismatches); "
          f"target < {TARGET_S:.0f} s, build included")
    rows = [
        (f"{label}, cold (Verilator build + runtime)", t_cold, cold.build_s, cold.sim_s),
        (f"{label}, warm runtime objects", t_warm, warm.build_s, warm.sim_s),
        (f"{label}, cached build", t_cached, cached.build_s, cached.sim_s),
        ("int-mul int8 (baseline unit), cold", t_base, base.build_s, base.sim_s),
    ]
    for what, total, b, s in rows:
        print(f"  {what:50s} {total:6.1f} s  (build {b:5.1f} s, cocotb run {s:5.1f} s)")
    print(f"  {label + ', PyRTL CompiledSimulation':50s} {t_py:6.1f} s")
    verdict = "meets" if t_cold < TARGET_S else "MISSES"
    print(f"cold run {t_cold:.1f} s {verdict} the {TARGET_S:.0f} s target "
          f"({t_cold / TARGET_S:.0%} of it); cold / PyRTL = {t_cold / t_py:.0f}x")


if __name__ == "__main__":
    main()
