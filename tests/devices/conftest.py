"""SCALE-Sim gating: skip with a reason when it is missing, fail under CI (it is in [dev])."""

import pytest

from hwsim.devices.systolic import scalesim_compat
from tests.tooling import unavailable


@pytest.fixture(scope="session")
def scalesim_ok() -> None:
    if not scalesim_compat.available():
        unavailable("scalesim", "scalesim is not installed (pip install 'hwsim[dev]'; "
                                "3.0.0 needs numpy < 2.4)")
