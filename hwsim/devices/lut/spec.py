"""The standalone LUT array's spec: LUT mpGEMM tiles (M x N x K, count, clock), a MAC array
and a vector unit beside them, an on-chip buffer and DRAM; presets from the sourced table
``hwsim/data/lut_array_presets.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.devices.presets import TablePresets
from hwsim.errors import HwsimError

PRESETS_TABLE = "data/lut_array_presets.yaml"


@dataclass(frozen=True)
class LutArraySpec:
    """``tiles`` LUT tiles, each finishing ``tile_m x tile_n`` outputs' worth of one K-group of
    ``tile_k`` activations for one weight bit-plane per cycle (a lookup per output: the
    authors' RTL). GEMMs with no LUT path run on ``mac_macs_per_cycle`` fp16 MACs; non-GEMM
    work (and the fused table precompute) on the vector unit; everything streams from DRAM."""

    name: str = "lut-array"
    tile_m: int = 2
    tile_n: int = 64
    tile_k: int = 4
    tiles: int = 432
    clock_mhz: float = 1000.0
    mac_macs_per_cycle: int = 16384
    vector_flops_per_cycle: int = 1024
    sram_mb: float = 40.0
    dram_gb_s: float = 2039.0

    def __post_init__(self) -> None:
        for f in ("tile_m", "tile_n", "tiles", "mac_macs_per_cycle", "vector_flops_per_cycle"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"lut {self.name}: {f} must be a positive integer, got {v!r}")
        if isinstance(self.tile_k, bool) or self.tile_k not in range(1, 9):
            raise HwsimError(f"lut {self.name}: tile_k (activations per table) must be 1..8 "
                             f"(a table of 2^(K-1) entries), got {self.tile_k!r}")
        for f in ("clock_mhz", "sram_mb", "dram_gb_s"):
            if not getattr(self, f) > 0:
                raise HwsimError(f"lut {self.name}: {f} must be positive, got "
                                 f"{getattr(self, f)!r}")

    @property
    def plane_products_per_cycle(self) -> int:
        """Weight x activation products per cycle for one weight bit-plane, all tiles."""
        return self.tiles * self.tile_m * self.tile_n * self.tile_k

    def dram_bytes_per_cycle(self) -> float:
        return self.dram_gb_s * 1e9 / (self.clock_mhz * 1e6)

    def describe(self) -> str:
        return (f"lut {self.name}: {self.tiles} LUT tiles of {self.tile_m}x{self.tile_n}x"
                f"{self.tile_k} at {self.clock_mhz:g} MHz ({self.plane_products_per_cycle:,} "
                f"products/cycle per weight bit-plane), {self.mac_macs_per_cycle} MACs/cycle "
                f"beside, DRAM {self.dram_gb_s:g} GB/s")


#: the presets of the sourced table, one group per preset
PRESETS = TablePresets(PRESETS_TABLE, LutArraySpec)
preset = PRESETS.spec
preset_names = PRESETS.names


__all__ = ["LutArraySpec", "PRESETS", "preset", "preset_names"]
