"""``hwsim devices``: the device kinds, their presets, and one device's fields.

A thin layer over :func:`hwsim.api.list_devices` and :func:`hwsim.api.describe_device`.
"""

from __future__ import annotations

import click

from hwsim.commands.options import echo_json, json_option


@click.command("devices")
@click.argument("device", required=False, metavar="[NAME|FILE.yaml]")
@json_option
def devices(device: str | None, as_json: bool) -> None:
    """List device kinds and presets, or show the fields of DEVICE (a kind, a preset or a
    device file) as 'hwsim run --device' would build it."""
    from hwsim.api import describe_device, list_devices

    if device is not None:
        d = describe_device(device)
        if as_json:
            echo_json(d)
            return
        click.echo(f"{device}: kind {d['kind']}")
        for k, v in d["fields"].items():
            click.echo(f"  {k:18} {v}")
        return
    rows = list_devices()
    if as_json:
        echo_json({"kinds": rows})
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("kind", "presets", "what it models", title="device kinds (hwsim run --device)")
    for r in rows:
        t.add_row(r["kind"], "\n".join(r["presets"]), r["summary"])
    con = Console(width=max(110, Console().width))
    con.print(t)
    con.print("A device file (YAML/JSON) names a kind or preset under 'device:' and overrides "
              "fields; 'hwsim devices NAME' lists a device's fields.")
