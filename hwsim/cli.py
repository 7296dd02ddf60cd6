"""The ``hwsim`` console script: a thin layer over the Python API.

Each subcommand group lives in ``hwsim/commands/<name>.py`` and is imported only when it is
used, so ``hwsim --version`` and ``hwsim demo`` start fast. Errors a user can cause
(:class:`hwsim.errors.HwsimError`) print one line ``error: ...`` and exit with status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from hwsim import __version__
from hwsim.errors import HwsimError

# name -> (module under hwsim.commands, attribute, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo", "Run the main job end to end on built-in defaults."),
    "formats": ("formats", "formats", "List number formats or describe one."),
    "quantize": ("formats", "quantize_cmd", "Quantize numbers into a format and show the codes."),
    "workload": ("workload", "workload", "Built-in and imported operator graphs."),
    "rtl": ("rtl", "rtl", "Arithmetic units in RTL: Verilog export, verification, synthesis."),
    "cost": ("cost", "cost", "Learned area/energy/latency models of arithmetic units."),
    "run": ("run", "run", "Simulate a workload or a single op on a device."),
    "devices": ("devices", "devices", "Device kinds and presets, or one device's fields."),
    "sweep": ("sweep", "sweep", "Declarative sweeps: run, resume, status, export."),
    "scalesim": ("scalesim", "scalesim", "SCALE-Sim config + topology in, its three reports out."),
    "reproduce": ("reproduce", "reproduce", "Regenerate the studies of sim_results/ (or all)."),
    "report": ("report", "report", "One self-contained HTML report of a sweep folder."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(n for n in SUBCOMMANDS if _available(n))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS or not _available(name):
            return None
        module, attr, _ = SUBCOMMANDS[name]
        return getattr(importlib.import_module(f"hwsim.commands.{module}"), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, SUBCOMMANDS[n][2]) for n in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _available(name: str) -> bool:
    return importlib.util.find_spec(f"hwsim.commands.{SUBCOMMANDS[name][0]}") is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="hwsim")
def cli() -> None:
    """Hardware simulation and cost models for low-precision deep-learning arithmetic."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning user errors into one line and exit status 2."""
    try:
        # click returns ctx.exit(n)'s status in this mode (hwsim reproduce all: 1 on a failure)
        rc = cli.main(args=argv, prog_name="hwsim", standalone_mode=False)
    except HwsimError as exc:
        click.echo(f"error: {_one_line(str(exc))}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        return 130
    except click.ClickException as exc:
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    return rc if isinstance(rc, int) and not isinstance(rc, bool) else 0


def _one_line(message: str) -> str:
    """``message`` as one printable line: each run of whitespace (line breaks and carriage
    returns included) becomes one space, any other unprintable character its escape."""
    text = " ".join(message.split())
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


if __name__ == "__main__":
    sys.exit(main())
