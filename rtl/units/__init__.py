"""The unit generators; importing this package registers them in :data:`rtl.unit.GENERATORS`."""

import importlib
import importlib.util

# one module per unit family; a family not written yet is skipped (an import error inside an
# existing module still surfaces)
for _name in ("minifloat_mul", "minifloat_add", "lmul", "convert", "mac", "block_dot",
              "int_mac"):
    if importlib.util.find_spec(f"rtl.units.{_name}") is not None:
        importlib.import_module(f"rtl.units.{_name}")
