"""Sweep files: schema errors, grid and random expansion, canonical point keys."""

from __future__ import annotations

import itertools

import pytest

from hwsim.api import describe_device
from hwsim.errors import HwsimError
from hwsim.sweep import make_point, parse_sweep
from hwsim.sweep import spec as sweep_spec

BASE = {"device": "systolic", "workload": {"name": "resnet8", "layers": 1}}


@pytest.mark.parametrize("edit, says", [
    ({"budget3": 3}, "unknown field 'budget3'; allowed: device, workload"),
    ({"device": None}, "device None must be a kind or preset name"),
    ({"device": {"rows": [8]}}, "'device' needs a 'name'"),
    ({"device": {"name": "systolic", "warp": 1}}, "field 'warp' is unknown; allowed: rows"),
    ({"device": {"name": "systolic", "rows": []}}, "device.rows is an empty list"),
    ({"device": {"name": "systolic", "rows": [8, "x"]}}, "rows='x'"),
    ({"device": {"name": "systolic", "dataflow": ["diagonal"]}}, "dataflow"),
    ({"device": "tpu-v9"}, "device tpu-v9: unknown device 'tpu-v9'"),
    ({"workload": {"name": "resnet8", "heads": 2}}, "workload axis 'heads' is unknown"),
    ({"workload": {"name": "resnet8", "batch": [1, 0]}}, "workload.batch must be an integer"),
    ({"workload": "resnet9000"}, "unknown workload 'resnet9000'"),
    ({"precision": ["int8", "w3a3"]}, "unknown precision 'w3a3'"),
    ({"format": "fp9"}, "unknown number format 'fp9'"),
    ({"format": "int8", "precision": "int8"}, "'precision' or 'format', not both"),
    ({"objectives": ["area"]}, "objective 'area' is unknown; allowed: total_cycles"),
    ({"objectives": [{"name": "seconds", "direction": "up"}]},
     "direction 'up' is unknown; allowed: min, max"),
    ({"objectives": [{"name": "seconds", "weight": 2}]}, "allowed keys: name, direction"),
    ({"objectives": ["seconds", "seconds"]}, "objective 'seconds' is given twice"),
    ({"constraints": [{"metric": "area", "max": 1}]},
     "constraint metric 'area' is unknown; allowed: total_cycles"),
    ({"constraints": [{"metric": "seconds"}]}, "'seconds' needs min or max"),
    ({"constraints": [{"metric": "seconds", "max": "soon"}]}, "max must be a finite number"),
    ({"constraints": {"metric": "seconds"}}, "constraints must be a list"),
    ({"search": "guided", "budget": 2}, "search 'guided' needs 'objectives'"),
    ({"search": "guided", "objectives": ["seconds"]}, "search 'guided' needs 'budget'"),
    ({"search": "guided", "objectives": ["seconds"], "budget": 0},
     "budget must be an integer >= 1, got 0"),
    ({"search": "guided", "objectives": ["seconds"], "budget": 2},
     "budget 2 exceeds the grid's 1 points; allowed: 1 to 1"),
    ({"search": "guided", "objectives": ["seconds"], "budget": 1, "sampler": "cmaes"},
     "sampler 'cmaes' is unknown; allowed: tpe, nsga2, random"),
    ({"search": "guided", "objectives": ["seconds"], "budget": 1,
      "sampler": {"name": "nsga2", "population": 4}},
     "sampler nsga2 knob 'population' is unknown; allowed: population_size"),
    ({"search": "guided", "objectives": ["seconds"], "budget": 1,
      "sampler": {"name": "nsga2", "population_size": 0}},
     "knob population_size must be a positive int"),
    ({"budget": 1}, "'budget' applies to search 'guided', not 'grid'"),
    ({"search": "annealing"}, "search 'annealing' is unknown; allowed: grid, random, guided"),
    ({"search": "random"}, "needs 'samples'"),
    ({"samples": 3}, "'samples' applies to search 'random', not 'grid'"),
    ({"search": "random", "samples": True}, "samples must be an integer >= 1"),
])
def test_schema_errors_name_the_field_and_what_is_allowed(edit, says):
    with pytest.raises(HwsimError, match="^sweep file") as info:
        parse_sweep({**BASE, **edit})
    assert says in str(info.value)


def test_missing_device_or_workload():
    for key in ("device", "workload"):
        with pytest.raises(HwsimError, match=f"'{key}' is missing"):
            parse_sweep({k: v for k, v in BASE.items() if k != key})


def test_grid_is_the_product_of_the_axes():
    rows, flows, fmts, layers = [4, 8, 16], ["os", "ws"], ["int8", "fp16"], [1, 2]
    sweep = parse_sweep({"device": {"name": "systolic", "rows": rows, "dataflow": flows},
                         "workload": {"name": "resnet8", "layers": layers}, "format": fmts})
    points = sweep.points()
    assert sweep.grid_size == len(points) == 3 * 2 * 2 * 2
    got = {(p.canonical["device"]["rows"], p.canonical["device"]["dataflow"],
            p.canonical["precision"]["weight"], p.canonical["workload"]["layers"])
           for p in points}
    assert got == set(itertools.product(rows, flows, fmts, layers))


def test_random_draws_distinct_points_of_the_grid_reproducibly():
    grid = {"device": {"name": "systolic", "rows": [4, 8, 16, 32], "cols": [4, 8, 16]},
            "workload": {"name": "resnet8", "layers": [1, 2]}}
    every = {p.key for p in parse_sweep(grid).points()}
    drawn = parse_sweep({**grid, "search": "random", "samples": 7, "seed": 3}).points()
    keys = [p.key for p in drawn]
    assert len(keys) == len(set(keys)) == 7 and set(keys) <= every
    again = parse_sweep({**grid, "search": "random", "samples": 7, "seed": 3}).points()
    assert [p.key for p in again] == keys
    other = parse_sweep({**grid, "search": "random", "samples": 7, "seed": 4}).points()
    assert {p.key for p in other} != set(keys)
    # more samples than points: the whole grid, once each
    big = parse_sweep({**grid, "search": "random", "samples": 1000}).points()
    assert {p.key for p in big} == every and len(big) == len(every)


def _key(**choice):
    return make_point({"device": "systolic", "workload": "resnet8", **choice}).key


def test_aliases_share_one_key():
    # a format's aliases (hwsim.numerics resolves float16/FP16 to fp16)
    assert _key(format="float16") == _key(format="fp16") == _key(format="FP16")
    assert _key(format="fp16") != _key(format="bf16")
    # the kind's name, its default preset in another case, and a field set to its default
    default_rows = describe_device("systolic")["fields"]["rows"]
    assert _key(device="SYSTOLIC") == _key() == _key(**{"device.rows": default_rows})
    assert _key(**{"device.rows": default_rows * 2}) != _key()
    # the workload's default phase spelled out, and a precision preset vs its formats
    assert _key(**{"workload.phase": "inference"}) == _key()
    assert _key(precision="int8") != _key(precision="w8a8")  # presets differ in name


def test_key_includes_the_suite_version(monkeypatch):
    before = _key()
    monkeypatch.setattr(sweep_spec, "__version__", "999.0")
    assert _key() != before


def test_objectives_directions_constraints_and_tuple_values():
    sweep = parse_sweep({
        "device": {"name": "systolic", "sram_kb": [[16, 16, 16], [64, 128, 64]]},
        "workload": {"name": "resnet8", "layers": 1},
        "objectives": ["seconds", "utilisation", {"name": "area_transistors",
                                                   "direction": "max"}],
        "constraints": [{"metric": "area_transistors", "max": "5.0e6"},
                        {"metric": "utilisation", "min": 0.25}],
        "search": "guided", "budget": 2, "sampler": {"name": "tpe", "n_startup_trials": 3}})
    assert sweep.objectives == ("seconds", "utilisation", "area_transistors")
    # utilisation is higher-is-better by default; a direction given is kept
    assert sweep.directions == ("min", "max", "max")
    assert sweep.sampler == ("tpe", (("n_startup_trials", 3),))
    # PyYAML reads 5.0e6 as a string (YAML 1.1); it is a number here
    area, util = sweep.constraints
    assert (area.max, util.min) == (5.0e6, 0.25)
    assert area.violation(6e6) == "area_transistors 6e+06 > max 5e+06"
    assert util.violation(0.1) == "utilisation 0.1 < min 0.25"
    assert area.violation(5e6) is None and util.violation(0.25) is None
    assert area.excess(6e6) == pytest.approx(0.2) and util.excess(0.5) == pytest.approx(-1.0)
    # a list value of a tuple field is one value of the axis
    assert [p.canonical["device"]["sram_kb"] for p in sweep.points()] == [[16, 16, 16],
                                                                          [64, 128, 64]]
