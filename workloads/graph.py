"""A workload graph: ops in execution order, plus the totals the simulators and users need.

Ops are kept in a topological (execution) order rather than as an explicit DAG: the device
models run them in that order and only need each op's shapes and formats. Data dependencies
beyond the order are not represented.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hwsim.errors import HwsimError
from workloads.formats import Precision, get_precision
from workloads.ops import MatMul, Op, WeightUpdate

AttrValue = str | int | float | bool | None


@dataclass(frozen=True)
class Totals:
    """Sums over a set of ops. Bytes are compulsory traffic at each operand's format size."""

    ops: int = 0
    macs: int = 0
    flops: int = 0
    params: int = 0
    bytes_read: float = 0.0
    bytes_written: float = 0.0

    @classmethod
    def of(cls, ops: Iterable[Op]) -> Totals:
        n = macs = flops = params = 0
        rd = wr = 0.0
        for op in ops:
            n += 1
            macs += op.macs
            flops += op.flops
            params += op.params
            for t in op.tensors():
                if t.write:
                    wr += t.bytes
                else:
                    rd += t.bytes
        return cls(n, macs, flops, params, rd, wr)

    @property
    def bytes_total(self) -> float:
        return self.bytes_read + self.bytes_written

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte moved (0 when nothing moves)."""
        return self.flops / self.bytes_total if self.bytes_total else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "ops": self.ops, "macs": self.macs, "flops": self.flops, "params": self.params,
            "bytes_read": self.bytes_read, "bytes_written": self.bytes_written,
        }


@dataclass(frozen=True)
class Graph:
    """A named sequence of ops with free-form attributes (model, phase, batch, ...)."""

    name: str
    ops: tuple[Op, ...]
    attrs: tuple[tuple[str, AttrValue], ...] = field(default=())
    #: groups of consecutive ops with no data dependency among them (e.g. the Q, K and V
    #: projections): a device that overlaps ops may start a group's ops together. The op
    #: order stays the run order; a device that runs one op at a time ignores the groups
    concurrent: tuple[tuple[str, ...], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise HwsimError("graph: field 'name' must be a non-empty string")
        object.__setattr__(self, "ops", tuple(self.ops))
        if not self.ops:
            raise HwsimError(f"graph {self.name!r} has no ops; a workload needs at least one")
        if isinstance(self.attrs, dict):
            object.__setattr__(self, "attrs", tuple(self.attrs.items()))
        seen: dict[str, Op] = {}
        for op in self.ops:
            if not isinstance(op, Op):
                raise HwsimError(f"graph {self.name!r}: {op!r} is not an op")
            if op.name in seen:
                raise HwsimError(f"graph {self.name!r}: op name {op.name!r} is used twice; "
                                 "op names must be unique")
            shared = getattr(op, "shares_weights_with", None)
            if shared is not None and shared not in seen:
                raise HwsimError(
                    f"op {op.name!r} ({op.OP_TYPE}): field 'shares_weights_with' names "
                    f"{shared!r}, which is not an earlier op in the graph"
                )
            seen[op.name] = op
        self._check_concurrent(list(seen))
        for op in self.ops:
            if isinstance(op, WeightUpdate) and op.target not in seen:
                raise HwsimError(
                    f"op {op.name!r} (weight_update): field 'target' names {op.target!r}, "
                    "which is not an op in the graph"
                )

    def _check_concurrent(self, names: list[str]) -> None:
        groups = self.concurrent
        if not isinstance(groups, tuple | list) or not all(
                isinstance(g, tuple | list) for g in groups):
            raise HwsimError(f"graph {self.name!r}: field 'concurrent' must be a list of "
                             "lists of op names")
        object.__setattr__(self, "concurrent", tuple(tuple(g) for g in groups))
        index = {n: i for i, n in enumerate(names)}
        used: set[str] = set()
        for g in self.concurrent:
            bad = [n for n in g if n not in index]
            if bad or len(g) < 2:
                raise HwsimError(
                    f"graph {self.name!r}: a concurrent group needs two or more names of ops "
                    f"in the graph, got {list(g)!r}" + (f" ({bad[0]!r} is not an op)"
                                                        if bad else ""))
            pos = [index[n] for n in g]
            if pos != list(range(pos[0], pos[0] + len(g))) or used & set(g):
                raise HwsimError(
                    f"graph {self.name!r}: concurrent group {list(g)!r} must name "
                    "consecutive ops in graph order, each in one group only")
            used |= set(g)

    def head(self, n: int) -> Graph:
        """The first ``n`` ops (``1 <= n <= len(self)``), concurrent groups cut to them."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= len(self.ops):
            raise HwsimError(f"the number of ops to keep must be an integer from 1 to "
                             f"{len(self.ops)} (the ops of {self.name}), got {n!r}")
        keep = {op.name for op in self.ops[:n]}
        groups = tuple(t for t in (tuple(x for x in g if x in keep) for g in self.concurrent)
                       if len(t) > 1)
        return Graph(self.name, self.ops[:n], self.attrs, groups)

    # --- access ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def info(self) -> dict[str, AttrValue]:
        return dict(self.attrs)

    def op(self, name: str) -> Op:
        for op in self.ops:
            if op.name == name:
                return op
        raise HwsimError(f"graph {self.name!r} has no op named {name!r}")

    # --- totals ----------------------------------------------------------------------
    @property
    def totals(self) -> Totals:
        return Totals.of(self.ops)

    @property
    def params(self) -> int:
        return sum(op.params for op in self.ops)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self.ops)

    @property
    def flops(self) -> int:
        return sum(op.flops for op in self.ops)

    def by_type(self) -> dict[str, Totals]:
        """Totals per op type (matmul, conv2d, ...), in order of first appearance."""
        groups: dict[str, list[Op]] = {}
        for op in self.ops:
            groups.setdefault(_type_label(op), []).append(op)
        return {k: Totals.of(v) for k, v in groups.items()}

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary: attributes, totals and per-type totals."""
        t = self.totals
        return {
            "name": self.name,
            "attrs": self.info,
            **t.as_dict(),
            "by_type": {k: v.as_dict() for k, v in self.by_type().items()},
        }

    # --- transformations ---------------------------------------------------------------
    def with_precision(self, precision: str | Precision) -> Graph:
        """The same graph with every op's formats taken from ``precision``."""
        p = get_precision(precision)
        attrs = {**self.info, "precision": p.name}
        return Graph(self.name, tuple(op.with_precision(p) for op in self.ops),
                     tuple(attrs.items()), self.concurrent)

    def table(self, *, per_op: bool = False, title: str | None = None):
        """A ``rich`` table of per-type (or per-op) totals; imported lazily."""
        from rich.table import Table

        tab = Table(title=title or f"{self.name}  {_attrs_line(self.info)}".strip())
        for col in ("op" if per_op else "type", "count", "MACs", "FLOPs", "params",
                    "read", "written"):
            tab.add_column(col, justify="left" if col in ("op", "type") else "right")
        rows: Iterable[tuple[str, Totals]]
        if per_op:
            rows = ((f"{op.name} ({_type_label(op)})", Totals.of([op])) for op in self.ops)
        else:
            rows = self.by_type().items()
        for label, t in rows:
            tab.add_row(label, str(t.ops), _si(t.macs), _si(t.flops), _si(t.params),
                        _si(t.bytes_read, "B"), _si(t.bytes_written, "B"))
        t = self.totals
        tab.add_section()
        tab.add_row("total", str(t.ops), _si(t.macs), _si(t.flops), _si(t.params),
                    _si(t.bytes_read, "B"), _si(t.bytes_written, "B"), style="bold")
        return tab


def _type_label(op: Op) -> str:
    kind = getattr(op, "kind", None)
    if isinstance(op, MatMul) and op.b_kind == "act":
        return "matmul (act x act)"
    if op.OP_TYPE == "backward":
        fwd = op.forward  # type: ignore[attr-defined]
        return f"backward {_type_label(fwd)} wrt {op.wrt}"  # type: ignore[attr-defined]
    if op.OP_TYPE == "conv2d" and op.is_depthwise:  # type: ignore[attr-defined]
        return "conv2d depthwise"
    if kind and op.OP_TYPE == "norm":
        return str(kind)
    if kind and op.OP_TYPE == "pool":
        return f"{kind}pool"
    return op.OP_TYPE


def _attrs_line(info: dict[str, AttrValue]) -> str:
    return " ".join(f"{k}={v}" for k, v in info.items() if k not in ("source", "model"))


def _si(value: float, unit: str = "") -> str:
    """Engineering notation with SI prefixes: 6.74 G, 1.20 MB."""
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip() if value else "0"
