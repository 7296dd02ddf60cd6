"""Device models behind one protocol (:mod:`hwsim.devices.base`).

``hwsim devices`` lists the kinds and presets. Today:

- ``systolic``: a rows x cols systolic array (OS/WS/IS), cycle-exact with SCALE-Sim v3, and
  its ``fpga:<board>:<pe>`` presets (e.g. ``fpga:pynq-z2:int8-dsp``): the array a public
  FPGA board affords with a PE kind (:mod:`hwsim.devices.systolic.fpga`).

>>> from hwsim.devices import get_device, run
>>> res = run(get_device("systolic", rows=16, cols=16), graph)
"""

from __future__ import annotations

from hwsim.devices.base import (
    DeviceKind,
    all_presets,
    build_spec,
    get_device,
    get_kind,
    kind_of,
    kinds,
    register,
    run,
    unregister,
)

__all__ = ["DeviceKind", "all_presets", "build_spec", "get_device", "get_kind", "kind_of",
           "kinds", "register", "run", "unregister"]
