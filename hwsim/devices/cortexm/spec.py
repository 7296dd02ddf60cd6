"""The Cortex-M spec: one core's clock, SRAM and flash, the MAC/cycle of its int8 CMSIS-NN
kernels, and how a network is scheduled through the SRAM (layer by layer, or MCUNetV2's
patch-based first stage); presets from the sourced table ``hwsim/data/cortexm_presets.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.devices.presets import TablePresets
from hwsim.errors import HwsimError

PRESETS_TABLE = "data/cortexm_presets.yaml"
SCHEDULES = ("layer", "patch")
#: ``patch_split`` value that searches the split point (the one with the least peak SRAM)
AUTO_SPLIT = "auto"
#: the spec fields a preset's table leaves at their defaults (a schedule, not hardware)
SCHEDULE_FIELDS = ("schedule", "patch_grid", "patch_split", "in_place")


@dataclass(frozen=True)
class CortexmSpec:
    """One Cortex-M core running int8 CMSIS-NN kernels, inference only.

    ``*_macs_per_cycle`` are whole-kernel rates (a convolution with im2col, a 1x1 convolution,
    a depthwise convolution, a fully connected layer); ``vector_ops_per_cycle`` prices the
    element-wise work (residual adds, pooling, softmax). ``schedule`` is ``"layer"`` (each
    layer's input and output whole in SRAM) or ``"patch"`` (MCUNetV2: the ops up to
    ``patch_split`` run ``patch_grid`` x ``patch_grid`` times, once per output patch, each on
    its input region grown by the receptive-field halo; then the rest layer by layer).
    ``patch_split`` names the last op of the patch stage, or ``"auto"``: the split with the
    least peak SRAM (MCUNetV2 searches the split jointly with the network; for MobileNetV2 it
    runs the first five blocks per patch, Fig. 1, which is the split ``auto`` finds there).
    ``in_place`` selects TinyEngine's in-place kernels (MCUNet, Lin et al. NeurIPS 2020): a
    depthwise convolution overwrites its input (plus one channel's temporary buffer) and a
    residual block's last convolution accumulates into the skip buffer; ``False``: every layer
    has separate input and output buffers."""

    name: str = "cortex-m7"
    part: str = "STM32F746"
    clock_mhz: float = 216.0
    sram_kb: float = 320.0
    flash_kb: float = 1024.0
    conv_macs_per_cycle: float = 0.575
    pointwise_macs_per_cycle: float = 0.575
    depthwise_macs_per_cycle: float = 0.192
    fc_macs_per_cycle: float = 0.575
    vector_ops_per_cycle: float = 1.0
    schedule: str = "layer"
    patch_grid: int = 4
    patch_split: str = AUTO_SPLIT
    in_place: bool = True

    def __post_init__(self) -> None:
        for f in ("clock_mhz", "sram_kb", "flash_kb", "conv_macs_per_cycle",
                  "pointwise_macs_per_cycle", "depthwise_macs_per_cycle", "fc_macs_per_cycle",
                  "vector_ops_per_cycle"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise HwsimError(f"cortexm {self.name}: {f} must be a positive number, got "
                                 f"{v!r}")
        if self.schedule not in SCHEDULES:
            raise HwsimError(f"cortexm {self.name}: schedule must be one of "
                             f"{', '.join(SCHEDULES)}, got {self.schedule!r}")
        g = self.patch_grid
        if isinstance(g, bool) or not isinstance(g, int) or not 1 <= g <= 64:
            raise HwsimError(f"cortexm {self.name}: patch_grid is the patches per side, an "
                             f"integer from 1 to 64, got {g!r}")
        if not isinstance(self.patch_split, str) or not self.patch_split:
            raise HwsimError(f"cortexm {self.name}: patch_split names the last op of the patch "
                             f"stage or is {AUTO_SPLIT!r}, got {self.patch_split!r}")
        if not isinstance(self.in_place, bool):
            raise HwsimError(f"cortexm {self.name}: in_place must be true/false, got "
                             f"{self.in_place!r}")

    @property
    def sram_bytes(self) -> int:
        return int(self.sram_kb * 1024)

    @property
    def flash_bytes(self) -> int:
        return int(self.flash_kb * 1024)

    def describe(self) -> str:
        grid = (f" ({self.patch_grid}x{self.patch_grid} patches, split "
                f"{self.patch_split})" if self.schedule == "patch" else "")
        return (f"cortexm {self.name} ({self.part}): one Cortex-M core at {self.clock_mhz:g} "
                f"MHz, SRAM {self.sram_kb:g} KiB, flash {self.flash_kb:g} KiB, int8 CMSIS-NN "
                f"kernels; schedule {self.schedule}{grid}")


#: the presets of the sourced table, one group per preset
PRESETS = TablePresets(PRESETS_TABLE, CortexmSpec, options=SCHEDULE_FIELDS)
preset = PRESETS.spec
preset_names = PRESETS.names


__all__ = ["AUTO_SPLIT", "SCHEDULES", "CortexmSpec", "PRESETS", "preset", "preset_names"]
