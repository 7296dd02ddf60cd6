"""The one loader of sourced data tables (hwsim.sourced) and the tables the package ships."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from hwsim.errors import HwsimError
from hwsim.sourced import dump_table, load_table, parse_table, read_table

GOOD = {"value": 0.2, "unit": "pJ", "source": "M. Horowitz, ISSCC 2014, 45 nm energy table"}


def table(**entries):
    return {"version": 1, "description": "test table", "entries": entries}


def test_a_valid_table_loads_by_dotted_key():
    t = parse_table(table(ops={"int8_mul": GOOD, "bf16_mul": {
        **GOOD, "value": 0.58, "derived": "mul_sig2"}}, name={**GOOD, "value": "x"}), "t.yaml")
    assert t.value("ops.int8_mul") == 0.2
    assert t.entry("ops.bf16_mul").derived == "mul_sig2"
    assert t.children() == ["ops", "name"] and t.children("ops") == ["int8_mul", "bf16_mul"]
    assert set(t.group("ops")) == {"int8_mul", "bf16_mul"}
    with pytest.raises(HwsimError, match=r"t.yaml: no entry 'ops.fp8_mul'.*int8_mul, bf16_mul"):
        t.entry("ops.fp8_mul")


@pytest.mark.parametrize("field", ["value", "unit", "source"])
def test_an_entry_without_value_unit_or_source_is_refused(field):
    bad = {k: v for k, v in GOOD.items() if k != field}
    with pytest.raises(HwsimError, match=rf"tech.yaml: entry 'ops.int8_mul' lacks {field}"):
        parse_table(table(ops={"int8_mul": bad}), "tech.yaml")


@pytest.mark.parametrize("source", [
    "/work/shared/reference/published_figures.md section 1",
    "Horowitz (via ../shared/reference/published_figures.md)",
    "notes in ~/figures.txt",
    r"C:\data\horowitz.xlsx",
])
def test_a_source_that_is_a_path_is_refused(source):
    with pytest.raises(HwsimError, match="tech.yaml: entry 'dram'.*names a path"):
        parse_table(table(dram={**GOOD, "source": source}), "tech.yaml")


@pytest.mark.parametrize(("entries", "message"), [
    ({"int8_mul": 0.2}, "entry 'int8_mul' is a bare float"),
    ({"int8_mul": {**GOOD, "sorce": "typo"}}, "unknown field.*sorce.*allowed"),
    ({"int8_mul": {**GOOD, "source": "  "}}, "empty source"),
    ({"int8_mul": {**GOOD, "value": True}}, "value must be a number or a string"),
    ({"int8_mul": {**GOOD, "derived": ""}}, "derived must name its rule"),
    ({"a.b": GOOD}, "bad entry name 'a.b'"),
    ({}, "must be a non-empty mapping"),
])
def test_malformed_entries_are_refused(entries, message):
    with pytest.raises(HwsimError, match=message):
        parse_table(table(**entries), "t.yaml")


def test_the_table_itself_is_checked():
    with pytest.raises(HwsimError, match="unknown top-level key.*units.*allowed"):
        parse_table({**table(x=GOOD), "units": {}}, "t.yaml")
    with pytest.raises(HwsimError, match="version must be 1"):
        parse_table({**table(x=GOOD), "version": 2}, "t.yaml")
    with pytest.raises(HwsimError, match="needs a description"):
        parse_table({**table(x=GOOD), "description": ""}, "t.yaml")


def test_read_table_names_the_file(tmp_path):
    p = tmp_path / "boards.yaml"
    p.write_text(yaml.safe_dump(table(zcu104={"luts": {"value": 1, "unit": "LUT6"}})))
    with pytest.raises(HwsimError, match=r"boards.yaml: entry 'zcu104.luts' lacks source"):
        read_table(p)
    with pytest.raises(HwsimError, match="cannot read table"):
        read_table(tmp_path / "missing.yaml")
    with pytest.raises(HwsimError, match="missing from the installed package"):
        load_table("hwsim", "data/no_such_table.yaml")


def test_dump_table_writes_what_loads_and_refuses_what_does_not():
    text = dump_table("round trip", {"ops": {"int8_mul": GOOD}}, {"mul_sig2": "a rule"})
    t = parse_table(yaml.safe_load(text), "dumped")
    assert t.value("ops.int8_mul") == 0.2 and t.rules == {"mul_sig2": "a rule"}
    with pytest.raises(HwsimError, match="lacks source"):
        dump_table("bad", {"x": {"value": 1, "unit": "pJ"}})


def _shipped() -> list[tuple[str, str]]:
    out = []
    for package, folder in (("hwsim", "data"), ("costmodel", "data"), ("costmodel", "data/tech")):
        for f in resources.files(package).joinpath(folder).iterdir():
            if f.name.endswith(".yaml"):
                out.append((package, f"{folder}/{f.name}"))
    return out


@pytest.mark.parametrize(("package", "name"), _shipped())
def test_every_shipped_table_loads(package, name):
    t = load_table(package, name)
    assert t.entries and all(e.source for e in t.entries.values())


def test_the_shipped_tables_are_the_ones_the_code_reads():
    names = {n for _, n in _shipped()}
    assert {"data/fpga_boards.yaml", "data/fpga_pe_yosys.yaml", "data/fpga_pe_luts.yaml",
            "data/toggle_weights.yaml", "data/tech/horowitz_45nm.yaml"} <= names
