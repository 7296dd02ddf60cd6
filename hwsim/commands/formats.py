"""``hwsim formats`` and ``hwsim quantize``: look at number formats from the shell."""

from __future__ import annotations

import math

import click

from hwsim.commands.options import SEED, echo_json, json_option
from hwsim.errors import HwsimError


def describe(name: str) -> dict:
    """A JSON-ready description of an element or block format."""
    from hwsim.numerics import BlockFormat, FloatFormat, OliveFormat, resolve

    f = resolve(name)
    if isinstance(f, OliveFormat):
        return {"name": f.name, "kind": "ovp", "total_bits": f.bits, "bits_per_element": f.bits,
                "normal_max": f.normal_max, "outlier_max": f.max_normal,
                "identifier_code": f.identifier}
    if isinstance(f, BlockFormat):
        b = f
        return {
            "name": b.name, "kind": b.kind, "block_size": b.block_size,
            "element": b.element.name, "scale": b.scale.name if b.scale else
            f"shared exponent ({b.shared_exp_bits} bits)",
            "bits_per_element": b.bits_per_element, "tensor_scale": b.tensor_scale,
        }
    if isinstance(f, FloatFormat):
        return {
            "name": f.name, "kind": "float", "total_bits": f.total_bits,
            "exp_bits": f.exp_bits, "man_bits": f.man_bits, "bias": f.bias,
            "signed": f.signed, "has_inf": f.has_inf, "nan": f.nan,
            "subnormals": f.subnormals, "max_normal": f.max_normal,
            "min_normal": f.min_normal, "min_subnormal": f.min_subnormal,
        }
    return {"name": f.name, "kind": "int", "total_bits": f.bits, "signed": f.signed,
            "min": f.min_value, "max": f.max_value}


@click.command()
@click.argument("names", nargs=-1)
@json_option
def formats(names: tuple[str, ...], as_json: bool) -> None:
    """List the named number formats, or describe the formats NAMES."""
    from rich.console import Console
    from rich.table import Table

    from hwsim.numerics import NAMED_FORMATS, OLIVE_FORMATS
    from hwsim.numerics.blocks import _MX_ELEMENTS

    chosen = names or (*NAMED_FORMATS, "int8", "int4", *_MX_ELEMENTS, "nvfp4", "bfp_b16_m7",
                        *OLIVE_FORMATS)
    rows = [describe(n) for n in chosen]
    if as_json:
        echo_json({"formats": rows})
        return
    table = Table(title="number formats")
    cols = ("name", "kind", "bits", "E", "M", "bias", "inf", "nan", "max", "min normal",
            "min subnormal")
    for c in cols:
        left = c in ("name", "kind", "nan")
        table.add_column(c, justify="left" if left else "right", no_wrap=c in ("name", "kind"))
    for r in rows:
        if r["kind"] == "float":
            table.add_row(r["name"], "float", str(r["total_bits"]), str(r["exp_bits"]),
                          str(r["man_bits"]), str(r["bias"]), "yes" if r["has_inf"] else "no",
                          r["nan"], f"{r['max_normal']:.4g}", f"{r['min_normal']:.4g}",
                          f"{r['min_subnormal']:.4g}")
        elif r["kind"] == "int":
            table.add_row(r["name"], "int", str(r["total_bits"]), "", "", "", "", "",
                          str(r["max"]), "", "")
        elif r["kind"] == "ovp":
            table.add_row(r["name"], "outlier-victim pairs", str(r["total_bits"]), "", "", "",
                          "", "", f"{r['outlier_max']:g}", "", "")
        else:
            table.add_row(r["name"], f"block {r['kind']} x{r['block_size']}",
                          f"{r['bits_per_element']:g}", "", "", "", "", "",
                          f"{r['element']} + {r['scale']}", "", "")
    Console(width=160).print(table)


class _NumbersCommand(click.Command):
    """Reads a negative number (``-inf``, ``-1e-3``) as a value, never as short options.

    click would split ``-inf`` into ``-i -n -f`` and hand ``-f`` the rest; a leading space
    keeps such a token positional, and ``float``/``int`` ignore it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        def negative_number(a: str) -> bool:
            try:
                float(a)
            except ValueError:
                return False
            return a.startswith("-")

        return super().parse_args(ctx, [f" {a}" if negative_number(a) else a for a in args])


@click.command("quantize", cls=_NumbersCommand, context_settings={"ignore_unknown_options": True})
@click.argument("values", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--format", "-f", "fmt", required=True,
              help="Element format, e.g. fp8_e4m3fn, or an OliVe pair format (olive4, olive8: "
                   "VALUES pair up, so give an even number).")
@click.option("--rounding", default="rne", show_default=True,
              type=click.Choice(["rne", "rtz", "rna", "stochastic"]))
@click.option("--saturate", is_flag=True, help="Clamp overflow and Inf to +-max.")
@click.option("--seed", type=SEED, default=None, help="Seed for stochastic rounding.")
@json_option
def quantize_cmd(values, fmt, rounding, saturate, seed, as_json) -> None:
    """Quantize VALUES into a format; show the result and its bit pattern."""
    import numpy as np

    from hwsim.numerics import encode, get_format, quantize
    from hwsim.numerics.olive import get_olive_format, is_olive

    try:
        x = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError as exc:
        raise HwsimError(f"values must be numbers (e.g. 1.5, -3e-4, inf, nan): {exc}") from None
    f = get_olive_format(fmt) if is_olive(fmt) else get_format(fmt)
    q = quantize(x, f, rounding=rounding, saturate=saturate, seed=seed)
    codes = encode(q, f)
    digits = (f.total_bits + 3) // 4
    rows = [
        {"value": float(v), "quantized": float(r), "code": f"0x{int(c):0{digits}x}",
         "bits": format(int(c), f"0{f.total_bits}b")}
        for v, r, c in zip(x, q, codes, strict=True)
    ]
    if as_json:  # JSON has no Inf/NaN: those values are the strings "inf", "-inf", "nan"
        echo_json({"format": f.name, "rounding": rounding, "results": [
            {k: (str(v) if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in r.items()} for r in rows]})
        return
    for r in rows:
        click.echo(f"{r['value']:>14.7g} -> {r['quantized']:<14.7g} {r['code']}  {r['bits']}")
