"""The pulp device kind: PULP-TrainLib's kernels counted at the instruction level, checked
against GVSoC cycle counts and against the figures of Nadalini et al. (arXiv 2305.19167).

Tolerances are the issue's, fixed before measuring; a miss is a strict xfail whose reason
carries the measured figure (see sim_results/mcu_fp16_training/README.md for why)."""

import dataclasses
import json
import math

import numpy as np
import pytest

from hwsim.cli import main
from hwsim.devices import get_device, run
from hwsim.devices.pulp import kernels as K
from hwsim.devices.pulp import op_work
from hwsim.errors import HwsimError
from workloads import Backward, Conv2d, build_workload, training_graph
from workloads.formats import Precision
from workloads.models import vision


@pytest.fixture(scope="module")
def spec():
    return get_device("pulp")


@pytest.fixture(scope="module")
def train():
    """(workload, format) -> RunResult of one single-sample training step."""
    cache = {}

    def get(name, fmt):
        if (name, fmt) not in cache:
            cache[name, fmt] = run(get_device("pulp"),
                                   build_workload(name, phase="train", precision=fmt))
        return cache[name, fmt]
    return get


# --- instruction counts ---------------------------------------------------------------------


def single_core(spec):
    return dataclasses.replace(spec, worker_cores=1, fpus=1, fork_cycles=0)


def test_hand_counted_bodies(spec):
    """Loop bodies counted by hand from lib/sources/pulp_matmul_fp16.c / _fp32.c, one core."""
    one = single_core(spec)
    # mm_fp16_SIMD_4x8, B transposed: Av0 Av1 Bv0..Bv3 + 8 vfmac.h, 16 MACs, no stall
    b = K.Body(loads=6, fp=8, chain=1, macs=16)
    assert K.body_cycles(b, one) == 14
    # the naive mm: lw, lw, fmadd.s (uses the 2nd load at once: +1) -> 4 cycles per MAC
    assert K.body_cycles(K.Body(loads=2, fp=1, chain=1, macs=1), one) == 4
    # SIMD_2x4, B not transposed: both vfmac.h into temp: 3 ld + 2 shuffles + 2 vfmac = 7
    assert K.body_cycles(K.Body(loads=3, alu=2, fp=2, chain=2, macs=4), one) == 7
    # a chain longer than the body: 1 load + 4 FMAs into one register at latency 2 -> 8
    assert K.body_cycles(K.Body(loads=1, fp=4, chain=4), one) == 8
    # FP16 SIMD halves the instructions per MAC of the best FP32 body (2x4: 14 per 8 MACs)
    best32 = next(k for k in K.KERNELS if k.name == "mm_unroll_2x4").body_t
    best16 = next(k for k in K.KERNELS if k.name == "mm_fp16_SIMD_4x8").body_t
    assert best32.instructions / best32.macs == pytest.approx(
        2 * best16.instructions / best16.macs)


def test_hand_counted_im2row(spec):
    """pulp_im2row_fp32, one core, one 3x3 window: unpadded 9 x (lw, sw + load-use) = 27;
    padded (and input-grad) branch 9 x (lw, sw, 1 add, 4 compare-branches) = 63; each window
    adds 6 index instructions and 3 hardware-loop setups of 2."""
    one = single_core(spec)
    assert K.copy_cycles(9, 1, one, kernel=(3, 3)) == 27 + 12
    assert K.copy_cycles(9, 1, one, kernel=(3, 3), padded=True) == 63 + 12
    assert K.copy_cycles(8, 1, one) == 24  # a transpose: no windows


def test_shared_fpus_bound_the_fp_issue(spec):
    """Two cores per FPU: 8 FMAs per iteration take 16 cycles, not the 14 it issues."""
    shared = dataclasses.replace(spec, fpus=4, l1_banks=1024)
    b = K.Body(loads=6, fp=8, chain=1, macs=16)
    assert K.body_cycles(b, shared) == pytest.approx(16, rel=0.01)
    assert K.body_cycles(b, dataclasses.replace(shared, fpus=8)) == pytest.approx(14, rel=0.01)


def test_bank_conflict_rate_matches_monte_carlo():
    """The closed form against drawing banks at random (8 cores, 16 banks)."""
    rng = np.random.default_rng(0)
    for rate in (0.25, 0.5, 1.0):
        active = rng.random((200_000, 8)) < rate
        banks = rng.integers(0, 16, size=(200_000, 8))
        mine = active[:, 0]
        hit = ((banks[:, 1:] == banks[:, :1]) & active[:, 1:]).any(axis=1)
        measured = hit[mine].mean()
        assert K.bank_conflict_rate(rate, 16, 8) == pytest.approx(measured, abs=0.005)


@pytest.mark.parametrize(("kernel", "body", "epilogue", "measured"), [
    # PULP-TrainLib tutorial (dnadalini/PULP-TrainLib-Tutorial, "Optimizing On-Device Learning
    # primitives"): FP16 vector x matrix, M = K = 128, one core, cycles measured on GVSoC
    ("vm_naive", K.Body(loads=2, fp=1, chain=1), 3, 67386),
    ("vm_SIMD_naive", K.Body(loads=3, alu=1, fp=1, chain=1), 6, 43611),
    ("vm_T_SIMD", K.Body(loads=2, fp=1, chain=1), 6, 35268),
])
def test_counts_against_gvsoc_measurements(spec, kernel, body, epilogue, measured):
    """Within 10% of the tutorial's measured cycles (the counting rules, not fitted on these:
    the per-iteration counts are the tutorial's own, the stalls the spec's assumptions)."""
    k = 128 if kernel == "vm_naive" else 64  # SIMD loops step k by 2
    cycles = 128 * (k * K.body_cycles(body, single_core(spec)) + epilogue)
    assert cycles == pytest.approx(measured, rel=0.10), (kernel, cycles)


def test_matmul_split_and_fastest_kernel(spec):
    """Rows split in blocks of ceil(N/8): 9 rows take a core 2 rows, as 16 do (only the
    bank conflicts of 5 instead of 8 busy cores differ), twice 8 rows; the fastest FP16
    kernel on a large transposed matmul is the 4x8 SIMD one."""
    naive = next(k for k in K.KERNELS if k.name == "mm")
    c8, c9, c16 = (K.matmul_cycles(naive, n, 64, 64, True, spec) for n in (8, 9, 16))
    assert c9 < c16 < 1.1 * c9
    assert c16 - spec.fork_cycles == pytest.approx(2 * (c8 - spec.fork_cycles), rel=0.001)
    assert K.best_matmul("fp16", 64, 288, 64, True, spec)[0].endswith("SIMD_4x8")
    assert K.best_matmul("fp32", 64, 288, 64, True, spec)[0].endswith("unroll_2x4")


# --- the paper's figures ------------------------------------------------------------------

PAPER = {  # Nadalini et al., arXiv 2305.19167, abstract (FP16 end-to-end training step)
    ("resnet8", "mac_clk"): 3.11, ("ds-cnn", "mac_clk"): 0.81,
    ("resnet8", "ms"): 17.1, ("ds-cnn", "ms"): 6.4,
}


def figure(r, what):
    """MAC/clk or ms of one run."""
    return r.macs / r.total_cycles if what == "mac_clk" else r.seconds * 1e3


def miss(name, what, tol, reason):
    """A published figure we miss: a strict xfail whose reason carries the measured one."""
    return pytest.param(name, what, tol, marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize(("name", "what", "tol"), [
    miss("resnet8", "mac_clk", 0.15,
         "measured 4.37 MAC/clk vs 3.11 (+40%): the counted kernels run near their SIMD "
         "peak; the paper's end-to-end step also pays what is not modelled (per-layer L2 <-> "
         "L1 copies of the deployer, runtime, BN/activation layouts)"),
    miss("ds-cnn", "mac_clk", 0.15,
         "measured 3.55 MAC/clk vs 0.81 (4.4x): MLPerf Tiny's DS-CNN does ~3.7x the MACs "
         "the paper's figures imply, and no layer split of it comes near 0.81 either"),
    miss("resnet8", "ms", 0.20,
         "measured 21.2 ms vs 17.1 ms (+24%) at the assumed 400 MHz"),
    ("ds-cnn", "ms", 0.20),
])
def test_training_step_against_the_paper(train, name, what, tol):
    assert figure(train(name, "fp16"), what) == pytest.approx(PAPER[name, what], rel=tol)


#: The paper's networks and its trained layers were not retrievable (only its abstract is;
#: PULP-TrainLib holds no ResNet-8 or DS-CNN definition). These splits of the MLPerf Tiny
#: networks are the ones whose MACs per step come closest to what the paper's figures imply
#: (MAC/clk x ms x the preset's 400 MHz: 21.3 M and 2.07 M; chosen by MAC count alone, in
#: sim_results/mcu_fp16_training/splits.csv): the last two ResNet stages, the last DS block,
#: each from stored activations (latent replays, the frozen forward skipped).
NEAREST = {"resnet8": ("stack2.conv1", vision.build_resnet8),
           "ds-cnn": ("ds4.depthwise", vision.build_ds_cnn)}


@pytest.fixture(scope="module")
def nearest():
    cache = {}

    def get(name):
        if name not in cache:
            first, build = NEAREST[name]
            g = training_graph(build(), precision="fp16", train_from=first,
                               frozen_forward=False)
            cache[name] = run(get_device("pulp"), g)
        return cache[name]
    return get


def test_nearest_splits_do_the_implied_macs(nearest):
    """The chosen splits' MACs are within 20% of MAC/clk x ms x 400 MHz (what they were
    chosen for); the ms check below therefore repeats the MAC/clk one."""
    for name in NEAREST:
        implied = PAPER[name, "mac_clk"] * PAPER[name, "ms"] * 1e-3 * 400e6
        assert nearest(name).macs == pytest.approx(implied, rel=0.20), name


@pytest.mark.parametrize(("name", "what", "tol"), [
    miss("resnet8", "mac_clk", 0.15,
         "measured 4.81 MAC/clk vs 3.11 (+55%) with ResNet-8 trained from stack2 (20.8 M "
         "MACs, the implied count): the layer split does not explain the miss, every split "
         "runs at 4.4-5.8 MAC/clk"),
    miss("ds-cnn", "mac_clk", 0.15,
         "measured 3.69 MAC/clk vs 0.81 (4.6x) with DS-CNN trained from ds4 (1.68 M MACs, "
         "-19% of the implied count): every split that trains more than the classifier runs "
         "at 3.5-4.5 MAC/clk"),
    miss("resnet8", "ms", 0.20,
         "measured 10.8 ms vs 17.1 ms (-37%): the MAC/clk miss at the implied MAC count"),
    miss("ds-cnn", "ms", 0.20,
         "measured 1.14 ms vs 6.4 ms (-82%): the MAC/clk miss at the implied MAC count"),
])
def test_nearest_split_against_the_paper(nearest, name, what, tol):
    assert figure(nearest(name), what) == pytest.approx(PAPER[name, what], rel=tol)


def test_conv2d_step_fp16_speedup_up_to_1_72(spec):
    """Up to 1.72x (paper) within 15%: the largest FP32/FP16 ratio of one Conv2D training
    step (forward + input grad + weight grad) over ResNet-8's Conv2D layers (the paper's
    exact layer shape was not retrieved, so the maximum over the network stands in)."""
    def step_cycles(fmt):
        out = {}
        for op in build_workload("resnet8", phase="train", precision=fmt).ops:
            conv = op.forward if isinstance(op, Backward) else op
            if isinstance(conv, Conv2d):
                out[conv.name] = out.get(conv.name, 0) + op_work(op, spec).cycles
        return out
    f32, f16 = step_cycles("fp32"), step_cycles("fp16")
    best = max(f32[k] / f16[k] for k in f32)
    assert best == pytest.approx(1.72, rel=0.15), best
    assert all(f32[k] > f16[k] for k in f32)


def test_training_reports_steps_and_traffic(train):
    r = train("ds-cnn", "fp32")
    steps = [n for n in r.notes if n.startswith("step ")]
    assert [s.split(":")[0] for s in steps] == ["step forward", "step input grad",
                                                "step weight grad", "step loss", "step update"]
    assert r.bytes_moved["l2"] > 0 and r.energy_pj["sram"] > 0 and r.energy_pj["l2"] > 0
    l1 = next(n for n in r.notes if n.startswith("traffic: L1"))
    assert int(l1.split("stores) ")[1].split(" bytes")[0].replace(",", "")) > r.bytes_moved["l2"]
    assert r.total_cycles >= r.compute_cycles
    # the double buffer hides the DMA: the run is no longer than compute plus all transfers
    assert r.total_cycles <= r.compute_cycles + r.busy_cycles["l2"]
    fwd = train("ds-cnn", "fp16")
    assert fwd.total_cycles < r.total_cycles


# --- bad input ------------------------------------------------------------------------------


def test_layer_that_cannot_fit_l1(spec):
    conv = Conv2d(name="huge", x_shape=(1, 8192, 6, 6), out_channels=8, kernel=3, padding=1)
    with pytest.raises(HwsimError, match=r"'huge'.*589,8\d\d bytes of L1") as err:
        run(spec, [conv.with_precision("fp32")])
    assert "\n" not in str(err.value)
    assert main(["run", "--device", "pulp", "--conv", "8192,6,6,8,3,3,1,1", "--format",
                 "fp32"]) == 2


@pytest.mark.parametrize("fmt", ["int4", "fp8_e4m3fn", "int8"])
def test_formats_without_a_pulp_path(spec, fmt, capsys):
    every = Precision(name=f"all-{fmt}", weight=fmt, act=fmt, acc="fp32")
    with pytest.raises(HwsimError, match=f"format {fmt} has no PULP path.*fp32 and fp16"):
        run(spec, build_workload("resnet8", precision=every))
    assert main(["run", "--device", "pulp", "-w", "resnet8", "--format", fmt]) == 2
    assert "no PULP path" in capsys.readouterr().err


def test_inference_only_kinds_still_refuse_training():
    g = build_workload("ds-cnn", phase="train")
    with pytest.raises(HwsimError, match="runs inference only"):
        run(get_device("systolic"), g)


# --- CLI ------------------------------------------------------------------------------------


def test_cli_train_json_and_trace(tmp_path, capsys):
    out = tmp_path / "t.json"
    assert main(["run", "--device", "pulp", "--workload", "resnet8", "--phase", "train",
                 "--format", "fp16", "--json", "--trace", str(out)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["clock_mhz"] == 400 and res["total_cycles"] > 0
    assert math.isclose(res["seconds"], res["total_cycles"] / 400e6)
    assert any(n.startswith("step weight grad") for n in res["notes"])
    conv = next(o for o in res["ops"] if o["name"] == "stack1.conv1.grad_weight")
    assert conv["macs"] > 0 and "SIMD" in conv["detail"]
    assert conv["detail"].startswith("weight grad (") and "MAC/clk on the cores" in conv["detail"]
    assert {"l2"} <= set(res["bytes_moved"]) and res["energy_pj"]["total"] > 0
    events = json.loads(out.read_text())["traceEvents"]
    assert {e.get("args", {}).get("name") for e in events if e.get("ph") == "M"} >= {"cores",
                                                                                        "l2"}
