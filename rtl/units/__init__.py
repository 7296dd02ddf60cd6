"""The unit generators; importing this package registers them in :data:`rtl.unit.GENERATORS`."""

import contextlib
import importlib

# one module per unit family; a family still being written is skipped, not fatal
for _name in ("minifloat_mul", "minifloat_add", "lmul", "convert", "mac", "block_dot",
              "int_mac"):
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module(f"rtl.units.{_name}")
