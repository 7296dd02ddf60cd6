"""RTL generators (PyRTL) for low-precision arithmetic units, with export, verification
(cocotb + Verilator, PyRTL simulation) and synthesis (Yosys).

Every generator is a pure function returning an :class:`rtl.registry.RtlUnit`; the golden model
of every unit is :mod:`hwsim.numerics`.
"""
