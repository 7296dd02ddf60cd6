"""The unit generators; importing this package registers them in :data:`rtl.registry.GENERATORS`
(one module per unit family)."""

from rtl.units import (  # noqa: F401  (imported for their @register side effect)
    block_dot,
    convert,
    dequant_mac,
    dyadic_requant,
    int_mac,
    lmul,
    lut_mpgemm,
    lut_precompute,
    mac,
    minifloat_add,
    minifloat_mul,
    mixpe,
    olive_decode,
    ternary_acc,
)
