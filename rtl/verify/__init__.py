"""Verification of generated units against :mod:`hwsim.numerics` (cocotb + Verilator).

:func:`verify_unit` makes the vectors (every operand combination when the inputs total at most
16 bits, otherwise random codes plus corner cases), runs them through the Verilator build of the
unit with the cocotb bench in :mod:`rtl.verify.bench`, and compares the sampled outputs with
``unit.reference``. Float outputs that both decode to NaN match (NaN payloads and signs are not
part of any format's contract here). :mod:`rtl.pyrtl_sim` runs the same vectors through PyRTL's
simulator as a fast cross-check.
"""

from rtl.verify.runner import verify_unit
from rtl.verify.vectors import VerifyResult, compare, corner_codes, make_vectors

__all__ = ["VerifyResult", "compare", "corner_codes", "make_vectors", "verify_unit"]
