"""What every ``hwsim`` command shares: parameter types, common options and ``--json`` output.

The types check a value when click parses it, before a command starts any work, and their
failures print as the CLI's one line ``error: ...`` (exit 2):

- :data:`SEED`, :data:`COUNT`, :data:`SIZE`: integers ``>= 0`` or ``>= 1``;
- :data:`JOBS`: worker processes, 1 to 4x the CPU cores (more only queue and each worker
  holds a Yosys/Verilator run in memory, so a larger request is refused, not clamped);
- :class:`FiniteFloat`: a finite number, positive by default (``inf``/``nan`` never reach a
  device or a JSON output);
- :class:`OutputPath`: a file or folder that can be written (:mod:`hwsim.io` decides).
"""

from __future__ import annotations

import math
import os
from typing import Any

import click

from hwsim.errors import HwsimError

SEED = click.IntRange(min=0)
COUNT = click.IntRange(min=0)
SIZE = click.IntRange(min=1)
MAX_JOBS = 4 * (os.cpu_count() or 1)
JOBS = click.IntRange(min=1, max=MAX_JOBS)


class FiniteFloat(click.ParamType):
    """A finite float, ``> 0`` unless ``positive=False``."""

    name = "number"

    def __init__(self, *, positive: bool = True) -> None:
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(x) or (self.positive and x <= 0):
            self.fail(f"{value!r} is not a finite {'positive ' if self.positive else ''}number",
                      param, ctx)
        return x


class OutputPath(click.Path):
    """A path to write: a file (``dir_okay=False``) or a folder (``file_okay=False``).

    Checks what :func:`hwsim.io.check_output_file` / :func:`~hwsim.io.check_output_dir`
    check, except existence: commands refuse an existing file or folder themselves, since
    that depends on ``--force``.
    """

    def __init__(self, *, folder: bool = False) -> None:
        super().__init__(file_okay=not folder, dir_okay=folder, path_type=None)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from pathlib import Path

        from hwsim.io import check_output_dir, check_output_file

        try:
            check = check_output_dir if self.folder else check_output_file
            return check(os.fspath(value))
        except HwsimError as exc:
            self.fail(str(exc), param, ctx)
        return Path(value)  # unreachable: fail() raises


def out_option(*, folder: bool = False, **kwargs: Any):
    """The ``-o/--out`` option of a command that writes a file (or a ``folder``)."""
    return click.option("-o", "--out", "out", type=OutputPath(folder=folder), **kwargs)


force_option = click.option("--force", is_flag=True,
                            help="Overwrite what the output path holds already.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def echo_json(obj: dict[str, Any]) -> None:
    """Print ``obj`` as the one JSON object of ``--json`` (strict: no NaN or Infinity)."""
    from hwsim.io import dumps_json

    click.echo(dumps_json(obj))
