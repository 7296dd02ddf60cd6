"""JSON (de)serialisation of graphs with a versioned schema and errors that name the field.

Document layout (version 1)::

    {"schema": "hwsim.workload", "version": 1, "name": "...", "attrs": {...},
     "ops": [{"op": "matmul", "name": "...", "fmt": {"x": "fp16", "w": "fp16",
              "y": "fp16", "acc": "fp32"}, "a_shape": [1, 4096], ...}, ...]}

Each op's fields are exactly its dataclass fields; the loader converts them by their type
hints, rejects unknown and missing fields, and leaves range checks (positive dimensions,
matching inner dimensions, known formats) to the ops' own validation, whose errors name the
op and field. Only ``json`` parses the file: nothing is evaluated or unpickled.
"""

from __future__ import annotations

import json
import math
import os
import types
import typing
from dataclasses import MISSING, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal

from hwsim.errors import HwsimError
from hwsim.io import atomic_write_text, check_output_file
from workloads.graph import Graph
from workloads.ops import OP_ALIASES, OP_TYPES, Op, OpFormats

SCHEMA = "hwsim.workload"
SCHEMA_VERSION = 1


# --- writing -------------------------------------------------------------------------------
def _to_json(value: Any) -> Any:
    if isinstance(value, Op):
        return op_to_dict(value)
    if isinstance(value, OpFormats):
        return {"x": value.x, "w": value.w, "y": value.y, "acc": value.acc}
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    return value


def op_to_dict(op: Op) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op.OP_TYPE}
    for f in fields(op):
        out[f.name] = _to_json(getattr(op, f.name))
    return out


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "name": graph.name,
        "attrs": graph.info,
        "ops": [op_to_dict(op) for op in graph.ops],
        **({"concurrent": [list(g) for g in graph.concurrent]} if graph.concurrent else {}),
    }


def dumps(graph: Graph, *, indent: int | None = 1) -> str:
    return json.dumps(graph_to_dict(graph), indent=indent)


def save_graph(graph: Graph, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``graph`` as JSON atomically (temp file + rename); never overwrite unless
    ``force``."""
    path = check_output_file(path, force=force, what="graph file")
    return atomic_write_text(path, dumps(graph) + "\n")


# --- reading -------------------------------------------------------------------------------
@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is int:
        return "an integer"
    if hint is bool:
        return "true or false"
    if hint is str:
        return "a string"
    if hint is OpFormats:
        return 'an object {"x", "w", "y", "acc"} of format names'
    if isinstance(hint, type) and issubclass(hint, Op):
        return "an op object"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return " or ".join(_describe(a) for a in inner) + " or null"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return "a list of integers"
        return f"a list of {len(args)} integers"
    return str(hint)


def _convert(value: Any, hint: Any, where: str, fname: str) -> Any:
    def bad() -> HwsimError:
        return HwsimError(f"{where}: field {fname!r} is {value!r}; expected {_describe(hint)}")

    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) != 1:
            raise bad()
        return _convert(value, inner[0], where, fname)
    if hint is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if hint is str or origin is Literal:
        if not isinstance(value, str):
            raise bad()
        return value
    if origin is tuple:
        if not isinstance(value, list) or any(
            isinstance(v, bool) or not isinstance(v, int) for v in value
        ):
            raise bad()
        if not (len(args) == 2 and args[1] is Ellipsis) and len(value) != len(args):
            # Conv2d accepts a 2-entry padding and expands it; its validation reports others
            if not (fname == "padding" and len(value) == 2):
                raise bad()
        return tuple(value)
    if hint is OpFormats:
        if not isinstance(value, dict):
            raise bad()
        extra = set(value) - {"x", "w", "y", "acc"}
        if extra:
            raise HwsimError(f"{where}: field 'fmt' has unknown keys {sorted(extra)}; "
                             "allowed: x, w, y, acc")
        for key in ("x", "y", "acc"):
            if key not in value:
                raise HwsimError(f"{where}: field 'fmt.{key}' is missing; expected a format name")
        return OpFormats(x=value["x"], y=value["y"], acc=value["acc"], w=value.get("w"))
    if isinstance(hint, type) and issubclass(hint, Op):
        return op_from_dict(value, where=f"{where}: field {fname!r}")
    raise bad()  # pragma: no cover - every field type is handled above


def op_from_dict(data: Any, *, where: str = "op") -> Op:
    """Build one op from its JSON object; errors name the op and the field."""
    if not isinstance(data, dict):
        raise HwsimError(f"{where}: expected an object with an 'op' field, got {data!r}")
    name = data.get("name")
    op_type = data.get("op")
    label = f"op {name!r}" if isinstance(name, str) else where
    if not isinstance(op_type, str):
        raise HwsimError(f"{label}: field 'op' is missing or not a string; allowed: "
                         f"{', '.join(OP_TYPES)}")
    cls = OP_TYPES.get(OP_ALIASES.get(op_type, op_type))
    if cls is None:
        raise HwsimError(f"{label}: unknown op type {op_type!r}; allowed: {', '.join(OP_TYPES)}")
    here = f"op {name!r} ({cls.OP_TYPE})" if isinstance(name, str) else f"{where} ({op_type})"
    hints = _hints(cls)
    known = {f.name: f for f in fields(cls)}
    extra = sorted(set(data) - set(known) - {"op"})
    if extra:
        raise HwsimError(f"{here}: unknown field(s) {extra}; allowed: {', '.join(known)}")
    kwargs: dict[str, Any] = {}
    for fname, f in known.items():
        if fname not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise HwsimError(f"{here}: field {fname!r} is missing; expected "
                                 f"{_describe(hints[fname])}")
            continue
        kwargs[fname] = _convert(data[fname], hints[fname], here, fname)
    try:
        return cls(**kwargs)
    except HwsimError:
        raise
    except (TypeError, ValueError) as exc:  # defensive: anything the checks above missed
        raise HwsimError(f"{here}: {exc}") from None


def graph_from_dict(data: Any, *, source: str = "workload") -> Graph:
    if not isinstance(data, dict):
        raise HwsimError(f"{source}: expected a JSON object at the top level")
    if data.get("schema") != SCHEMA:
        raise HwsimError(f"{source}: field 'schema' is {data.get('schema')!r}; expected {SCHEMA!r}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise HwsimError(f"{source}: field 'version' is {version!r}; expected an integer")
    if version > SCHEMA_VERSION or version < 1:
        raise HwsimError(f"{source}: schema version {version} is not supported; this hwsim "
                         f"reads versions 1..{SCHEMA_VERSION}")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise HwsimError(f"{source}: field 'name' must be a non-empty string")
    attrs = data.get("attrs", {})
    if not isinstance(attrs, dict) or any(
        not isinstance(v, str | int | float | bool | type(None)) for v in attrs.values()
    ):
        raise HwsimError(f"{source}: field 'attrs' must be an object of scalar values")
    ops_data = data.get("ops")
    if not isinstance(ops_data, list):
        raise HwsimError(f"{source}: field 'ops' must be a list of op objects")
    ops = tuple(op_from_dict(d, where=f"ops[{i}]") for i, d in enumerate(ops_data))
    concurrent = data.get("concurrent", [])
    if not isinstance(concurrent, list) or not all(
            isinstance(g, list) and all(isinstance(n, str) for n in g) for g in concurrent):
        raise HwsimError(f"{source}: field 'concurrent' must be a list of lists of op names")
    return Graph(name, ops, tuple(attrs.items()), tuple(tuple(g) for g in concurrent))


#: Longest integer literal accepted: every integer field is far smaller (dimensions are at
#: most ``workloads.ops.MAX_DIM``), and Python refuses to convert strings of over 4,300 digits.
MAX_INT_DIGITS = 20


class _Refused(Exception):
    """A literal the strict parser does not accept (raised from json's parse hooks)."""


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer with {len(text.lstrip('-'))} digits; integers may have at "
                       f"most {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} overflows a float; only finite numbers are "
                       "allowed")
    return value


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not JSON; only finite numbers are allowed")


def loads(text: str, *, source: str = "workload") -> Graph:
    """Parse a graph document strictly: no NaN/Infinity, no integer of more than
    :data:`MAX_INT_DIGITS` digits, no nesting deeper than Python's recursion limit."""
    try:
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except json.JSONDecodeError as exc:
        raise HwsimError(f"{source}: not valid JSON ({exc})") from None
    except _Refused as exc:
        raise HwsimError(f"{source}: not accepted: {exc}") from None
    except RecursionError:
        raise HwsimError(f"{source}: JSON nested too deeply; a workload document nests a few "
                         "levels (document, ops, op, fields)") from None
    return graph_from_dict(data, source=source)


def load_graph(path: str | os.PathLike[str]) -> Graph:
    """Read a graph written by :func:`save_graph` (or by hand)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HwsimError(f"workload file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HwsimError(f"cannot read workload file {path}: {exc}") from None
    return loads(text, source=str(path))
