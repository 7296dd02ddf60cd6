"""The systolic array's spec: array shape, dataflow, SRAMs, DRAM bandwidth, clock."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.devices.systolic.pe_kinds import get_pe_kind
from hwsim.devices.systolic.timing import check_dataflow
from hwsim.errors import HwsimError

#: how stalls under a bandwidth limit are computed: our tile schedule (default), or a replay of
#: SCALE-Sim 3.0.0's USER-mode read/write buffers (:mod:`hwsim.devices.systolic.scalesim_memory`)
MEMORY_MODELS: tuple[str, ...] = ("tiles", "scalesim")


@dataclass(frozen=True)
class SystolicSpec:
    """A systolic array and its memories. Defaults are SCALE-Sim's example config
    (configs/scale.cfg: 32x32, 64 KiB per SRAM, 10 words/cycle); the clock is an assumption
    (SCALE-Sim has none)."""

    rows: int = 32
    cols: int = 32
    dataflow: str = "os"
    sram_kb: tuple[int, int, int] = (64, 64, 64)  # ifmap, filter, ofmap (KiB)
    bandwidth_words: float | None = None  # DRAM words/cycle; None = SCALE-Sim CALC mode
    clock_mhz: float = 200.0
    name: str = "systolic"
    vector_lanes: int | None = None  # fallback unit width; None = cols
    pe: str = "mac"  # PE kind, one of hwsim.devices.systolic.pe_kinds.PE_KINDS
    memory_model: str = "tiles"  # stalls under a bandwidth limit; see MEMORY_MODELS
    pe_group: int = 128  # quantisation group (weights along K) of group-dequantising PEs

    def __post_init__(self) -> None:
        for f in ("rows", "cols"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise HwsimError(f"systolic array: {f} must be a positive integer, got {v!r} "
                                 "(e.g. --array 32x32)")
        object.__setattr__(self, "dataflow", check_dataflow(self.dataflow))
        sram = tuple(self.sram_kb)
        if len(sram) != 3 or any(not isinstance(s, int | float) or s <= 0 for s in sram):
            raise HwsimError("systolic array: sram_kb must be three positive sizes in KiB "
                             f"(ifmap, filter, ofmap), got {self.sram_kb!r}")
        object.__setattr__(self, "sram_kb", sram)
        if self.bandwidth_words is not None and not self.bandwidth_words > 0:
            raise HwsimError(f"systolic array: bandwidth must be positive words/cycle, got "
                             f"{self.bandwidth_words!r}")
        if not self.clock_mhz > 0:
            raise HwsimError(f"systolic array: clock must be positive MHz, got {self.clock_mhz}")
        if self.vector_lanes is not None and self.vector_lanes < 1:
            raise HwsimError("systolic array: vector_lanes must be positive")
        if self.memory_model not in MEMORY_MODELS:
            raise HwsimError(f"systolic array: unknown memory model {self.memory_model!r}; "
                             f"known: {', '.join(MEMORY_MODELS)}")
        get_pe_kind(self.pe)  # names the known kinds if it is not one
        g = self.pe_group
        if isinstance(g, bool) or not isinstance(g, int) or g < 1:
            raise HwsimError(f"systolic array: pe_group must be a positive integer (weights "
                             f"per quantisation group), got {g!r}")
        bw = self.bandwidth_words
        if self.memory_model == "scalesim" and bw is not None and int(bw) != bw:
            raise HwsimError("systolic array: memory_model='scalesim' needs a whole number "
                             f"of bandwidth words/cycle, got {bw!r}")

    @property
    def lanes(self) -> int:
        return self.vector_lanes or self.cols

    def sram_words(self, which: int, word_bits: int) -> int:
        """Words in SRAM ``which`` (0 ifmap, 1 filter, 2 ofmap)."""
        return int(self.sram_kb[which] * 1024 * 8 // word_bits)

    def half_words(self, which: int, word_bits: int) -> int:
        """Words in one half of SRAM ``which`` (0 ifmap, 1 filter, 2 ofmap)."""
        return self.sram_words(which, word_bits) // 2

    def describe(self) -> str:
        bw = "CALC" if self.bandwidth_words is None else f"{self.bandwidth_words:g} words/cycle"
        if self.bandwidth_words is not None and self.memory_model != "tiles":
            bw += f" ({self.memory_model} memory model)"
        pe = ""
        if get_pe_kind(self.pe).rows is not None:
            group = get_pe_kind(self.pe).dequant == "group"
            pe = f", PE {self.pe}" + (f" (groups of {self.pe_group})" if group else "")
        return (f"{self.name} {self.rows}x{self.cols} {self.dataflow}, SRAM "
                f"{'/'.join(f'{s:g}' for s in self.sram_kb)} KiB, DRAM {bw}, "
                f"{self.clock_mhz:g} MHz{pe}")


def parse_array(text: str) -> tuple[int, int]:
    """``"32x32"`` -> (32, 32), with the project's error for anything else."""
    parts = str(text).lower().replace("*", "x").split("x")
    try:
        r, c = (int(p) for p in parts)
    except ValueError:
        raise HwsimError(f"--array must look like ROWSxCOLS (e.g. 32x32), got {text!r}") from None
    if r < 1 or c < 1:
        raise HwsimError(f"--array needs at least 1 row and 1 column, got {text!r}")
    return r, c


__all__ = ["MEMORY_MODELS", "SystolicSpec", "parse_array"]
