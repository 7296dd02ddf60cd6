"""Every built-in workload x every phase it has x every device preset: a sane result or, only
for training graphs on the inference-only devices, one clean error."""

import functools
import re

import pytest

from hwsim.devices import all_presets, get_device, get_kind, kind_of, run
from hwsim.devices.systolic.fpga import PE_KINDS, board_names
from hwsim.engine.lowering import lower_op
from hwsim.errors import HwsimError
from workloads import Attention, Backward, WeightUpdate, build_workload, format_bits, list_workloads

# small sequence and KV lengths keep the matrix fast; every phase still runs every op kind
LLM_SIZES = {"prefill": {"seq": 24}, "decode": {"kv_len": 40}}


def device_presets() -> list[str]:
    """Every preset of every registered device kind (a new kind joins the matrix by itself)."""
    return sorted(all_presets())


def workload_phases() -> list[tuple[str, str]]:
    return [(w.name, ph) for w in list_workloads() for ph in w.phases]


def operand_formats(g) -> set[str]:
    return {f for op in g.ops if op.fmt for f in (op.fmt.x, op.fmt.w, op.fmt.y) if f}


def weight_bits(g) -> set[float]:
    """Bits of the quantisable weights of a graph's GEMMs (what a LUT unit looks up)."""
    return {format_bits(op.fmt.w) for op in g.ops
            if op.MAC_BASED and op.fmt.w and getattr(op, "w_kind", None) == "weight"}


def family(name: str) -> str:
    return next(w.family for w in list_workloads() if w.name == name)


#: models too large for one device's memory (and slow to simulate whole): their first blocks
BIG_LLMS = {"gpt3-175b": 1, "llama2-70b": 1}


@functools.cache
def graph(name: str, phase: str):
    kw = LLM_SIZES.get(phase, {})
    if name in BIG_LLMS:
        kw = {**kw, "blocks": BIG_LLMS[name]}
    return build_workload(name, phase=phase, **kw)


def test_matrix_covers_every_preset_and_phase():
    gpus = get_kind("gpu").preset_names()
    pulps = get_kind("pulp").preset_names()
    assert len(device_presets()) == (1 + len(board_names()) * len(PE_KINDS) + len(gpus)
                                     + len(pulps) + len(get_kind("lut").preset_names())
                                     + len(get_kind("cortexm").preset_names()))
    assert {"a100", "h100"} <= set(gpus)
    phases = {ph for _, ph in workload_phases()}
    assert phases == {"prefill", "decode", "inference", "train"}


@pytest.mark.parametrize("device", device_presets())
def test_every_workload_and_phase_runs(device):
    spec = get_device(device)
    for name, phase in workload_phases():
        g = graph(name, phase)
        where = f"{name}/{phase} on {device}"
        if kind_of(spec).name == "lut" and phase != "train" and max(weight_bits(g), default=0) > 4:
            # the LUT array looks up 1-4-bit weights only (8 bits would be 8 bit-planes): one
            # clean error naming the constraint, and the same graph at w4a8 must run
            with pytest.raises(HwsimError, match="no LUT path.*1-4 bits") as err:
                run(spec, g)
            assert "\n" not in str(err.value), where
            g, where = g.with_precision("w4a8"), f"{where} at w4a8"
        if kind_of(spec).name == "pulp" and name == "gpt3-175b":
            # fc2's K = 49152 in fp16: one row and one column exceed a PULP cluster's L1 (a
            # clean error naming the op and the bytes)
            with pytest.raises(HwsimError, match=r"needs [\d,]+ bytes of L1") as err:
                run(spec, g)
            assert "\n" not in str(err.value), where
            continue
        if kind_of(spec).name == "pulp" and not operand_formats(g) <= {"fp32", "fp16"}:
            with pytest.raises(HwsimError, match="has no PULP path") as err:
                run(spec, g)
            assert "\n" not in str(err.value), where
            continue
        if (kind_of(spec).name == "cortexm" and phase != "train"
                and family(name) != "tinyml"):
            # a microcontroller's SRAM holds the tinyML graphs (they must run); a larger graph
            # either fits under the spec's schedules or gets one error naming the layer and
            # bytes it needs, which must then exceed the SRAM
            try:
                run(spec, g)
            except HwsimError as err:
                m = re.fullmatch(r".*layer '.+' needs ([\d,]+) B of SRAM.*", str(err))
                assert m and int(m[1].replace(",", "")) > spec.sram_kb * 1024, (where, err)
                continue
        if phase == "train" and kind_of(spec).name != "pulp":  # pulp runs training graphs
            with pytest.raises(HwsimError, match="runs inference only") as err:
                run(spec, g)
            assert "\n" not in str(err.value), where
            continue
        res = run(spec, g)
        assert res.total_cycles >= res.compute_cycles > 0, where
        assert res.stall_cycles >= 0, where
        assert all(v >= 0 for v in res.energy_pj.values()) and res.energy_total_pj > 0, where
        assert [o.name for o in res.ops] == [o.name for o in g.ops], where
        useful = sum(o.macs for o in g.ops if o.MAC_BASED)
        assert res.macs >= useful, where
        # the array runs full GEMMs: what it executes is the op's MACs plus masked work; a GPU
        # skips fully masked key blocks (FlashAttention), so it executes less masked work
        full = kind_of(spec).name == "systolic"
        masked = 0
        for op, r in zip(g.ops, res.ops, strict=True):
            training = isinstance(op, Backward | WeightUpdate)  # only a training kind runs them
            masked_here = 0 if training else lower_op(op, device=spec.name).masked_macs
            masked += masked_here
            if not op.MAC_BASED:
                assert r.macs == 0, (where, op.name)
            elif full:
                assert r.macs == op.macs + masked_here, (where, op.name)
            else:
                assert op.macs <= r.macs <= op.macs + masked_here, (where, op.name)
            assert r.total_cycles >= 0 and r.stall_cycles >= 0 and r.energy_pj >= 0, where
        assert useful <= res.macs <= useful + masked, where
        if full:
            assert res.macs == useful + masked, where
        if phase == "prefill" and full and any(isinstance(op, Attention) for op in g.ops):
            # causal attention (an attention-free model, matmulfree-2.7b, masks nothing)
            assert masked > 0 and any("discards" in n for n in res.notes), where
