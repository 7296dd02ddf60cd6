"""Sourced data tables: the one format and the one loader for every hardware figure.

A table is a YAML file::

    version: 1
    description: what the table holds
    entries:
      int8_mul: {value: 0.2, unit: pJ, source: "Horowitz, ISSCC 2014, 45 nm energy table"}
      memory:                         # a group: a mapping of entries or further groups
        rf: {value: 0.44, unit: pJ/byte, source: "...", derived: "rule that made it"}

Every entry has ``value`` (a number or a string), ``unit`` and ``source`` (the publication:
authors, venue, year, table or figure; or, for a measurement made here, the tool and the
design, "this repository"); a figure computed from others also says ``derived: <rule>``. A
source never names a file outside the repository. :func:`load_table` checks all of that and
raises :class:`HwsimError` naming the file and the entry; tables are addressed by dotted
keys (``table.value("memory.rf")``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hwsim.errors import HwsimError

ENTRY_KEYS = frozenset({"value", "unit", "source", "derived", "note"})
REQUIRED_KEYS = ("value", "unit", "source")
TOP_KEYS = frozenset({"version", "description", "entries", "rules"})
VERSION = 1
# an absolute or home path (/work/shared/..., C:\..., ~/...) or a step out of the repository
_PATH_LIKE = re.compile(r"(^|[\s(\"'])(/[\w.-]+/|~/|[A-Za-z]:\\)|\.\./")


@dataclass(frozen=True)
class Entry:
    """One sourced figure."""

    value: float | int | str
    unit: str
    source: str
    derived: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Table:
    """A loaded table: its description, optional named rules, and entries by dotted key."""

    where: str
    description: str
    entries: Mapping[str, Entry]
    rules: Mapping[str, str]

    def entry(self, key: str) -> Entry:
        try:
            return self.entries[key]
        except KeyError:
            raise HwsimError(f"{self.where}: no entry {key!r}; known under "
                             f"{_parent(key) or 'the top'}: "
                             f"{', '.join(self.children(_parent(key))) or 'none'}") from None

    def value(self, key: str) -> Any:
        return self.entry(key).value

    def children(self, prefix: str = "") -> list[str]:
        """Names directly under a group (``""``: the top level), in file order."""
        head = f"{prefix}." if prefix else ""
        out: dict[str, None] = {}
        for k in self.entries:
            if k.startswith(head):
                out[k[len(head):].split(".", 1)[0]] = None
        return list(out)

    def group(self, prefix: str) -> dict[str, Entry]:
        """Entries under ``prefix``, keyed by the rest of their dotted key."""
        head = f"{prefix}."
        got = {k[len(head):]: e for k, e in self.entries.items() if k.startswith(head)}
        if not got:
            raise HwsimError(f"{self.where}: no group {prefix!r}; known: "
                             f"{', '.join(self.children(_parent(prefix)))}")
        return got


def _parent(key: str) -> str:
    return key.rsplit(".", 1)[0] if "." in key else ""


def _entry(node: Any, where: str, key: str) -> Entry:
    missing = [k for k in REQUIRED_KEYS if k not in node]
    if missing:
        raise HwsimError(f"{where}: entry {key!r} lacks {', '.join(missing)}; every entry "
                         f"needs {', '.join(REQUIRED_KEYS)} (and derived: <rule> if computed)")
    extra = set(node) - ENTRY_KEYS
    if extra:
        raise HwsimError(f"{where}: entry {key!r} has unknown field(s) "
                         f"{', '.join(sorted(map(str, extra)))}; allowed: "
                         f"{', '.join(sorted(ENTRY_KEYS))}")
    value = node["value"]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise HwsimError(f"{where}: entry {key!r}: value must be a number or a string, "
                         f"got {value!r}")
    for k in ("unit", "source", "derived", "note"):
        if k in node and not isinstance(node[k], str):
            raise HwsimError(f"{where}: entry {key!r}: {k} must be a string, got {node[k]!r}")
    source = node["source"].strip()
    if not source:
        raise HwsimError(f"{where}: entry {key!r} has an empty source")
    if _PATH_LIKE.search(source):
        raise HwsimError(f"{where}: entry {key!r}: the source {source!r} names a path; name "
                         "the publication (or the tool and design, 'this repository')")
    if "derived" in node and not node["derived"].strip():
        raise HwsimError(f"{where}: entry {key!r}: derived must name its rule")
    return Entry(value, node["unit"], source, node.get("derived"), node.get("note"))


def _walk(node: Any, where: str, prefix: str, out: dict[str, Entry]) -> None:
    if not isinstance(node, Mapping) or not node:
        raise HwsimError(f"{where}: {prefix or 'entries'!r} must be a non-empty mapping of "
                         f"entries ({', '.join(REQUIRED_KEYS)}) or groups, got {node!r}")
    if ENTRY_KEYS & set(node):
        out[prefix] = _entry(node, where, prefix)
        return
    for name, child in node.items():
        if not isinstance(name, str) or not name or "." in name:
            raise HwsimError(f"{where}: bad entry name {name!r} under {prefix or 'entries'!r} "
                             "(a non-empty string without dots)")
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(child, Mapping):
            raise HwsimError(f"{where}: entry {key!r} is a bare {type(child).__name__}; every "
                             f"entry needs {', '.join(REQUIRED_KEYS)}")
        _walk(child, where, key, out)


def parse_table(data: Any, where: str) -> Table:
    """Validate parsed YAML against the table schema (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise HwsimError(f"{where}: a table must be a mapping with {', '.join(sorted(TOP_KEYS))}")
    extra = set(data) - TOP_KEYS
    if extra:
        raise HwsimError(f"{where}: unknown top-level key(s) {', '.join(sorted(map(str, extra)))};"
                         f" allowed: {', '.join(sorted(TOP_KEYS))}")
    if data.get("version") != VERSION:
        raise HwsimError(f"{where}: version must be {VERSION}, got {data.get('version')!r}")
    if not isinstance(data.get("description"), str) or not data["description"].strip():
        raise HwsimError(f"{where}: a table needs a description (what it holds, where from)")
    rules = data.get("rules", {})
    if not isinstance(rules, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in rules.items()):
        raise HwsimError(f"{where}: rules must map rule names to descriptions (strings)")
    entries: dict[str, Entry] = {}
    _walk(data.get("entries"), where, "", entries)
    return Table(where, data["description"], entries, dict(rules))


def read_table(path: str | Path, where: str | None = None) -> Table:
    """Load and validate a table file."""
    p = Path(path)
    where = where or p.name
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise HwsimError(f"cannot read table {where}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise HwsimError(f"{where}: not valid YAML: {exc}") from exc
    return parse_table(data, where)


@cache
def load_table(package: str, name: str) -> Table:
    """A table shipped in a package, e.g. ``load_table("costmodel", "data/tech/x.yaml")``."""
    res = resources.files(package).joinpath(name)
    where = f"{package}/{name}"
    if not res.is_file():
        raise HwsimError(f"data table {where} is missing from the installed package")
    try:
        data = yaml.safe_load(res.read_text())
    except yaml.YAMLError as exc:
        raise HwsimError(f"{where}: not valid YAML: {exc}") from exc
    return parse_table(data, where)


def dump_table(description: str, entries: Mapping[str, Any], rules: Mapping[str, str] | None
               = None) -> str:
    """YAML text of a table (validated first, so a writer cannot store what cannot load)."""
    data: dict[str, Any] = {"version": VERSION, "description": description}
    if rules:
        data["rules"] = dict(rules)
    data["entries"] = entries
    parse_table(data, "table being written")
    return yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True,
                          default_flow_style=None)
