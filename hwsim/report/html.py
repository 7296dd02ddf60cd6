"""Rendering a report to one self-contained HTML file (Jinja2, figures inline as base64 PNG,
CSS and the table-sorting script inline: the page loads nothing), and writing it with its
PNGs in a folder beside it (``report.html`` -> ``report_figures/``), atomically."""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hwsim import __version__
from hwsim.errors import HwsimError


@dataclass(frozen=True)
class Cell:
    """A table cell: its shown ``text`` and, for numbers, the exact ``value`` (``repr``)
    that the page keeps in ``data-value``."""

    text: str
    value: str | None = None


def cell(value: Any) -> Cell:
    """Numbers shown with thousands separators (integers) or 6 significant digits; the exact
    value stays in the cell's ``data-value``."""
    if value is None:
        return Cell("")
    if isinstance(value, bool) or isinstance(value, str):
        return Cell(str(value))
    if isinstance(value, int):
        return Cell(f"{value:,}", repr(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            return Cell(str(value))
        if value.is_integer() and abs(value) < 2**53:
            return Cell(f"{int(value):,}", repr(value))
        return Cell(f"{value:.6g}", repr(value))
    return Cell(json.dumps(value, sort_keys=True))


@dataclass(frozen=True)
class Table:
    id: str
    columns: list[str]
    rows: list[list[Cell]]
    caption: str = ""
    row_class: list[str] = field(default_factory=list)  # one CSS class per row ("" for none)


@dataclass(frozen=True)
class Figure:
    name: str  # file stem of its PNG and the id of its element
    caption: str
    png: bytes

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    items: dict[str, Any] = field(default_factory=dict)  # a definition list, name -> value


def render(title: str, intro: list[str], sections: list[Section], figure_dir: str) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("hwsim.report", "templates"),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html.j2").render(
        title=title, intro=intro, sections=sections, figure_dir=figure_dir,
        version=__version__, cell=cell,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def figure_dir(html_path: Path) -> Path:
    """Where the PNGs of ``html_path`` go: ``<stem>_figures/`` beside it."""
    return html_path.with_name(f"{html_path.stem}_figures")


def check_outputs(html_path: str | Path, *, force: bool) -> Path:
    """Refuse, before any work, an HTML path or its figures folder that exists (unless
    ``force``) or cannot be written."""
    from hwsim.io import check_output_dir, check_output_file

    html_path = check_output_file(html_path, force=force, what="report file")
    check_output_dir(figure_dir(html_path), force=force, what="report figures folder")
    return html_path


def write(html_path: str | Path, html: str, figures: list[Figure]) -> list[Path]:
    """Write the PNGs (into a new folder swapped in whole for the old one) and then the HTML
    (atomically); a failure leaves the old outputs, or none, never half of the new ones.
    Returns the paths written."""
    from hwsim.io import atomic_write_bytes, atomic_write_text, make_dirs

    html_path = Path(html_path)
    target = figure_dir(html_path)
    make_dirs(html_path.parent)
    tmp = html_path.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    old = html_path.with_name(f".{target.name}.{secrets.token_hex(4)}.old")
    try:
        make_dirs(tmp)
        names = [atomic_write_bytes(tmp / f"{f.name}.png", f.png).name for f in figures]
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            if old.exists():
                os.replace(old, target)
            raise
    except OSError as exc:
        raise HwsimError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    try:
        atomic_write_text(html_path, html)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        if old.exists():
            os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return [html_path, *(target / n for n in names)]


__all__ = ["Cell", "Figure", "Section", "Table", "cell", "check_outputs", "figure_dir",
           "render", "write"]
